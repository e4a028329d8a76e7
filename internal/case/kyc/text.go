package kyc

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the texts that reach storage (the case row, the event log, the
// projection's jsonb, search attributes). Each limit lives here only: the API
// checks a request against it at the edge, and the workflow's validators
// check it again, so that nothing PostgreSQL would refuse ever enters a
// case's history, where a save that can never succeed would wedge the case.
// Lengths are in bytes unless a name says runes.
const (
	// MaxReasonLen bounds the reason of a decision, an audit or a cancel.
	MaxReasonLen = 2000
	// MaxReferenceLen bounds the bank's customer reference.
	MaxReferenceLen = 128
	// MaxNameRunes allows the longest names seen in national ID schemes.
	MaxNameRunes = 200
	// MaxEmailLen is RFC 5321's limit.
	MaxEmailLen = 254
	// MaxPhoneLen is E.164 (15 digits) with room for separators.
	MaxPhoneLen = 32
	// MaxSubjectLen bounds an actor id (a token's sub, the agent id):
	// it becomes the KycAgentId search attribute, part of update ids and
	// of every event of the log.
	MaxSubjectLen = 128
	// MaxIdempotencyKeyLen bounds an Idempotency-Key header.
	MaxIdempotencyKeyLen = 200
)

// ErrText marks a text that the engine refuses to store (errors.Is). The
// error's message says why, as in "contains a NUL character"; the caller
// names the field.
var ErrText = errors.New("text refused")

type textErr struct{ reason string }

func (e *textErr) Error() string        { return e.reason }
func (e *textErr) Is(target error) bool { return target == ErrText }

func textError(format string, args ...any) error {
	return &textErr{reason: fmt.Sprintf(format, args...)}
}

// CheckStorable refuses what PostgreSQL cannot store in text or jsonb
// whatever the limits: bytes that are not UTF-8, and NUL.
func CheckStorable(v string) error {
	if !utf8.ValidString(v) {
		return textError("is not valid UTF-8")
	}
	if strings.IndexByte(v, 0) >= 0 {
		return textError("contains a NUL character")
	}
	return nil
}

// CheckReason checks the free text of a decision, audit or cancel: storable,
// at most MaxReasonLen bytes, and no control characters but line breaks and
// tabs (a reason may have several lines). Whether one is required is the
// caller's rule.
func CheckReason(v string) error {
	if err := CheckStorable(v); err != nil {
		return err
	}
	if len(v) > MaxReasonLen {
		return textError("longer than %d bytes", MaxReasonLen)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) {
		return textError("contains a control character")
	}
	return nil
}

// CheckName checks a person's name shown to agents: storable, at most
// MaxNameRunes characters, no control characters.
func CheckName(v string) error {
	if err := CheckStorable(v); err != nil {
		return err
	}
	if utf8.RuneCountInString(v) > MaxNameRunes {
		return textError("longer than %d characters", MaxNameRunes)
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return textError("contains a control character")
	}
	return nil
}

// CheckReference checks the bank's customer reference: 1 to MaxReferenceLen
// of a-z A-Z 0-9 . _ : - (it is a search attribute and appears in logs).
func CheckReference(v string) error {
	if v == "" {
		return textError("is required")
	}
	if len(v) > MaxReferenceLen {
		return textError("longer than %d characters", MaxReferenceLen)
	}
	for i := 0; i < len(v); i++ {
		if ch := v[i]; !isAlnum(ch) && ch != '.' && ch != '_' && ch != ':' && ch != '-' {
			return textError("may contain only letters, digits, '.', '_', ':' and '-'")
		}
	}
	return nil
}

// CheckSubject checks an actor id (a token's sub): 1 to MaxSubjectLen bytes
// of visible characters, no spaces or control characters.
func CheckSubject(v string) error {
	if v == "" {
		return textError("is empty")
	}
	if err := CheckStorable(v); err != nil {
		return err
	}
	if len(v) > MaxSubjectLen {
		return textError("longer than %d bytes", MaxSubjectLen)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) }) {
		return textError("may contain only visible characters, without spaces")
	}
	return nil
}

// CheckIdempotencyKey checks an Idempotency-Key: 1 to MaxIdempotencyKeyLen
// visible ASCII characters (keys are logged and become part of update ids).
func CheckIdempotencyKey(v string) error {
	if v == "" || len(v) > MaxIdempotencyKeyLen {
		return textError("must be 1 to %d characters", MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return textError("may contain only visible ASCII characters")
		}
	}
	return nil
}

// CheckJSONText refuses a JSON document that would carry text PostgreSQL
// cannot store: bytes that are not UTF-8, or a string holding NUL (the
// escape \u0000, which JSON decoders turn into a NUL byte). It reads the
// bytes only; whether the document is valid JSON is the decoder's business.
func CheckJSONText(b []byte) error {
	if !utf8.Valid(b) {
		return textError("is not valid UTF-8")
	}
	inString := false
	for i := 0; i < len(b); i++ {
		switch ch := b[i]; {
		case !inString:
			inString = ch == '"'
		case ch == '"':
			inString = false
		case ch == '\\' && i+1 < len(b):
			if b[i+1] == 'u' && i+5 < len(b) && string(b[i+2:i+6]) == "0000" {
				return textError("contains a NUL character (\\u0000)")
			}
			i++ // the escaped character
		}
	}
	return nil
}

func isAlnum(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
}

// CleanText makes text that nobody can be asked to correct (a Temporal
// identity, a reason an operator typed in the Web UI, a field of a webhook
// already accepted) safe to store: invalid UTF-8 and control characters
// other than tab and line breaks (NUL among them, which PostgreSQL refuses)
// become U+FFFD, and the result is cut to at most max bytes on a character
// boundary. Requests with such text are refused instead (CheckReason and
// the other checks above).
func CleanText(s string, max int) string {
	bad := func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }
	if utf8.ValidString(s) && !strings.ContainsFunc(s, bad) && len(s) <= max {
		return s
	}
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	s = strings.Map(func(r rune) rune {
		if bad(r) {
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
