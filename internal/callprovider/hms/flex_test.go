package hms

import (
	"encoding/json"
	"testing"
)

// plainString must read exactly what json.Unmarshal reads, or step aside.
func TestPlainStringAgreesWithUnmarshal(t *testing.T) {
	for _, raw := range []string{
		`""`, `"peer.join.success"`, `"kyc-1f0c-a1"`, `"Āśā Rāo"`, `"a\"b"`, `"tab\tin"`, `"\u00e9"`,
		"\"bad \xff utf8\"", "\"ctl \x01\"", `"unterminated`, `"`, `"a"b"`, `x`, `"<html>&"`,
	} {
		got, ok := plainString([]byte(raw))
		var want string
		err := json.Unmarshal([]byte(raw), &want)
		if ok && (err != nil || got != want) {
			t.Errorf("plainString(%q) = %q; json.Unmarshal gives %q, %v", raw, got, want, err)
		}
		if flexString(json.RawMessage(raw)) != map[bool]string{true: want, false: ""}[err == nil] {
			t.Errorf("flexString(%q) = %q, want %q (err %v)", raw, flexString(json.RawMessage(raw)), want, err)
		}
	}
}

func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\nb"`, "\"\xff\"", `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil || got != want {
			t.Fatalf("plainString(%q) = %q; json.Unmarshal gives %q, %v", raw, got, want, err)
		}
	})
}
