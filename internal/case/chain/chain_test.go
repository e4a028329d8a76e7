package chain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"
)

// TestCanonicalEventEncoding pins the documented encoding (RFC 8785 over the
// event object): changing it would break every stored chain, so any change
// here must be deliberate.
func TestCanonicalEventEncoding(t *testing.T) {
	e := Event{
		CaseID:    "7f1c",
		Seq:       12,
		Type:      "decision.recorded",
		ActorID:   "agent \"7\"",
		ActorRole: "agent",
		At:        time.Date(2025, 3, 1, 15, 0, 0, 250_000_900, time.FixedZone("IST", 5*3600+1800)),
		Data:      json.RawMessage("{ \"z\": [1.50, -0, 1e3, true, null],\n \"a\": {\"y\": \"x\\u0001\\n\u00e9<&>\u2028\", \"b\": {}} , \"A\": \"\\/\" }"),
	}
	want := `{"actor_id":"agent \"7\"","actor_role":"agent","at":"2025-03-01T09:30:00.25Z","case_id":"7f1c",` +
		`"data":{"A":"/","a":{"b":{},"y":"x\u0001\n` + "\u00e9<&>\u2028" + `"},"z":[1.5,0,1000,true,null]},` +
		`"seq":12,"type":"decision.recorded"}`
	got := string(Canonical(e))
	if got != want {
		t.Fatalf("CanonicalEvent:\n got %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Fatal("the canonical event is not JSON")
	}

	sum := sha256.Sum256([]byte(Genesis + want))
	if h := Link(Genesis, []byte(want)); h != hex.EncodeToString(sum[:]) {
		t.Fatalf("chainHash = %s, want hex(sha256(prev || canonical))", h)
	}
}

func TestCanonicalJSON(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "", want: "null"},
		{in: "  ", want: "null"},
		{in: `{"b":1,"a":2}`, want: `{"a":2,"b":1}`},
		{in: `[ {"b" : [ ] , "a" : "\t" } ]`, want: `[{"a":"\t","b":[]}]`},
		{in: `"\u001f\u007f"`, want: "\"\\u001f\u007f\""},
		// RFC 8785, 3.2.2: numbers as ECMAScript writes them, strings with
		// the fewest escapes, literals unchanged.
		{in: `{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
		  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`,
			want: `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],` +
				`"string":"€$\u000f\nA'B\"\\\\\"/"}`},
		// RFC 8785, 3.2.3: keys sorted by UTF-16 code units, so the emoji
		// (a surrogate pair) sorts before U+FB33.
		{in: `{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",
		  "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}`,
			want: `{"\r":"Carriage Return","1":"One","` + "\u0080" + `":"Control","ö":"Latin Small Letter O With Diaeresis",` +
				`"€":"Euro Sign","😀":"Emoji: Grinning Face","` + "\ufb33" + `":"Hebrew Letter Dalet With Dagesh"}`},
		{in: `12345678901234567890123`, want: `1.2345678901234568e+22`},
		{in: `{"a":1,"a":2}`, wantErr: true}, // duplicated keys are not canonical JSON
		{in: `1e400`, wantErr: true},         // beyond an IEEE 754 double
		{in: `{"a":`, wantErr: true},
		{in: `{} []`, wantErr: true},
		{in: `nul`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := CanonicalData([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("CanonicalData(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && string(got) != tt.want {
			t.Errorf("CanonicalData(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if !tt.wantErr {
			again, _ := CanonicalData(got)
			if string(again) != string(got) {
				t.Errorf("canonicalJSON is not idempotent on %s: %s", got, again)
			}
		}
	}
}

func TestCanonicalEventOfInvalidData(t *testing.T) {
	a := Canonical(Event{CaseID: "c", Seq: 1, Data: json.RawMessage(`{"a":`)})
	b := Canonical(Event{CaseID: "c", Seq: 1, Data: json.RawMessage(`{"a":1}`)})
	if string(a) == string(b) || !json.Valid(a) {
		t.Fatalf("invalid data must encode deterministically and differently: %s", a)
	}
}
