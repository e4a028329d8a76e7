package kyc

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of free text and ids that reach storage; the API refuses longer
// ones and the workflow cuts text nobody can correct to them.
const (
	MaxReasonBytes = 2000 // a reason given for a decision, audit or cancel
	MaxIDBytes     = 200  // an actor id: a token subject, a Temporal identity
)

// CleanText makes text that nobody can be asked to correct (a Temporal
// identity, a reason an operator typed in the Web UI, a field of a webhook
// already accepted) safe to store: invalid UTF-8 and control characters
// other than tab and line breaks (NUL among them, which PostgreSQL refuses)
// become U+FFFD, and the result is cut to at most max bytes on a character
// boundary. Requests with such text are refused instead (TextProblem).
func CleanText(s string, max int) string {
	if TextProblem(s) == "" && len(s) <= max {
		return s
	}
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return utf8.RuneError
		}
		return r
	}, s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// TextProblem says what makes s unfit for storage, or "" when it is fine:
// PostgreSQL refuses NUL and invalid UTF-8 in text and JSON, and other
// control characters (but tab and line breaks) have no place in reasons, names
// or references.
func TextProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			if r == 0 {
				return "contains a NUL character"
			}
			return "contains a control character"
		}
	}
	return ""
}
