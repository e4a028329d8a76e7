package kyc

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextProblemAndCleanText(t *testing.T) {
	tests := []struct {
		in, problem, clean string
		max                int
	}{
		{"face matches", "", "face matches", 100},
		{"line one\nline two\ttab", "", "line one\nline two\ttab", 100},
		{"dup\x00x", "contains a NUL character", "dup\uFFFDx", 100},
		{"bell\x07", "contains a control character", "bell\uFFFD", 100},
		{"bad \xff utf8", "is not valid UTF-8", "bad \uFFFD utf8", 100},
		{"ééé", "", "é", 3}, // cut on a character boundary, never inside é
		{strings.Repeat("a", 10), "", "aaaa", 4},
	}
	for _, tt := range tests {
		if got := TextProblem(tt.in); got != tt.problem {
			t.Errorf("TextProblem(%q) = %q, want %q", tt.in, got, tt.problem)
		}
		got := CleanText(tt.in, tt.max)
		if got != tt.clean {
			t.Errorf("CleanText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.clean)
		}
		if TextProblem(got) != "" || !utf8.ValidString(got) || len(got) > tt.max {
			t.Errorf("CleanText(%q) = %q is not clean", tt.in, got)
		}
	}
}
