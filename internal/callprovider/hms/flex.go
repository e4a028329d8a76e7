package hms

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The flex* readers turn one raw JSON value into a Go value the way 100ms's
// payloads need: documented numbers sometimes arrive as strings (and floats),
// strings sometimes as objects. They never fail; a value that cannot mean
// anything becomes the zero value, so that one odd field never costs an event.

func flexString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		if s, ok := plainString(raw); ok {
			return s
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return ""
		}
		return s
	case 'n':
		return ""
	case '{', '[':
		// user_data, for one, is documented as a string holding JSON but is
		// an object in some payloads: keep it as JSON text, in a canonical
		// form (sorted keys, no HTML escaping, numbers as sent) so that the
		// same value reads the same however it was escaped or ordered.
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return ""
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return ""
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	if !json.Valid(raw) {
		return ""
	}
	return string(raw)
}

// plainString reads a JSON string token without escapes, the common case,
// without a trip through encoding/json (webhook intake decodes every
// event). Anything else is left to json.Unmarshal.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(inner) {
		return "", false // Unmarshal replaces invalid bytes
	}
	return string(inner), true
}

func flexInt(raw json.RawMessage) int64 {
	s := flexNumberText(raw)
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0
	}
	return int64(f)
}

func flexFloat(raw json.RawMessage) (float64, bool) {
	s := flexNumberText(raw)
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// flexNumberText returns the text of a JSON number, or of a JSON string
// holding one; "" for anything else.
func flexNumberText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		return strings.TrimSpace(flexString(raw))
	}
	if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		return string(raw)
	}
	return ""
}

func flexBool(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return false
	}
	switch raw[0] {
	case 't':
		return string(raw) == "true"
	case '"':
		b, err := strconv.ParseBool(strings.TrimSpace(flexString(raw)))
		return err == nil && b
	}
	f, ok := flexFloat(raw)
	return ok && f != 0
}

// Layouts 100ms has been seen to use, best first. Go's RFC3339 parsing
// accepts any number of fractional digits, including none.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999", // no zone: 100ms times are UTC
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// Unix seconds of 0001-01-01 and 9999-12-31T23:59:59Z: the years a JSON
// time can be re-encoded with.
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

// flexTime reads an RFC3339 timestamp (any fractional precision, Go's zero
// time included) or unix seconds, in UTC. Anything else is the zero time.
func flexTime(raw json.RawMessage) time.Time {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return time.Time{}
	}
	if raw[0] != '"' {
		f, ok := flexFloat(raw)
		if !ok || f < minUnix || f > maxUnix {
			return time.Time{}
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	s := strings.TrimSpace(flexString(raw))
	if s == "" {
		return time.Time{}
	}
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		t = t.UTC()
		if t.Unix() < minUnix || t.Unix() > maxUnix {
			return time.Time{}
		}
		return t
	}
	return time.Time{}
}
