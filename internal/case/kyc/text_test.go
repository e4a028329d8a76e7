package kyc

import (
	"errors"
	"strings"
	"testing"
)

func TestTextChecks(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"reason plain", CheckReason, "face matches the ID", true},
		{"reason with lines", CheckReason, "line one\nline two\ttab", true},
		{"reason empty", CheckReason, "", true},
		{"reason NUL", CheckReason, "dup\x00x", false},
		{"reason invalid UTF-8", CheckReason, "bad \xff", false},
		{"reason escape char", CheckReason, "bell \x07", false},
		{"reason at limit", CheckReason, strings.Repeat("r", MaxReasonLen), true},
		{"reason past limit", CheckReason, strings.Repeat("r", MaxReasonLen+1), false},
		{"name", CheckName, "Asha Verma", true},
		{"name unicode", CheckName, "आशा वर्मा", true},
		{"name NUL", CheckName, "Asha\x00", false},
		{"name newline", CheckName, "Asha\nVerma", false},
		{"name long", CheckName, strings.Repeat("é", MaxNameRunes+1), false},
		{"reference", CheckReference, "CUST-42:a_b.c", true},
		{"reference empty", CheckReference, "", false},
		{"reference space", CheckReference, "CUST 42", false},
		{"reference long", CheckReference, strings.Repeat("a", MaxReferenceLen+1), false},
		{"subject", CheckSubject, "agent-7", true},
		{"subject email", CheckSubject, "asha@bank.example", true},
		{"subject empty", CheckSubject, "", false},
		{"subject NUL", CheckSubject, "agent\x00", false},
		{"subject space", CheckSubject, "agent 7", false},
		{"subject invalid UTF-8", CheckSubject, "agent\xff", false},
		{"subject long", CheckSubject, strings.Repeat("a", MaxSubjectLen+1), false},
		{"subject at limit", CheckSubject, strings.Repeat("a", MaxSubjectLen), true},
		{"key", CheckIdempotencyKey, "onboarding-42", true},
		{"key space", CheckIdempotencyKey, "has space", false},
		{"key non-ASCII", CheckIdempotencyKey, "ключ", false},
		{"key long", CheckIdempotencyKey, strings.Repeat("k", MaxIdempotencyKeyLen+1), false},
		{"storable", CheckStorable, "any text, even \x07", true},
		{"storable NUL", CheckStorable, "\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("%q: err %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrText) {
				t.Fatalf("%v does not wrap ErrText", err)
			}
		})
	}
}

func TestCheckJSONText(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"reason":"fine"}`, true},
		{`{"reason":"dup\u0000x"}`, false},
		{`{"data":{"user_id":"\u0000"}}`, false},
		{`{"reason":"a literal backslash-u: \\u0000"}`, true},
		{`{"reason":"\"\u0000"}`, false},
		{`{"u0000":"\u00001"}`, false},
		{`{"reason":"\u0001"}`, true},
		{"{\"reason\":\"\xff\"}", false},
		{`{"n":0000}`, true},
	}
	for _, tt := range tests {
		if err := CheckJSONText([]byte(tt.in)); (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		in, clean string
		max       int
	}{
		{"face matches", "face matches", 100},
		{"line one\nline two\ttab", "line one\nline two\ttab", 100},
		{"dup\x00x", "dup\uFFFDx", 100},
		{"bell\x07", "bell\uFFFD", 100},
		{"bad \xff utf8", "bad \uFFFD utf8", 100},
		{"ééé", "é", 3}, // cut on a character boundary, never inside é
		{strings.Repeat("a", 10), "aaaa", 4},
	}
	for _, tt := range tests {
		got := CleanText(tt.in, tt.max)
		if got != tt.clean {
			t.Errorf("CleanText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.clean)
		}
		if CheckReason(got) != nil || len(got) > tt.max {
			t.Errorf("CleanText(%q) = %q is not clean", tt.in, got)
		}
	}
}
