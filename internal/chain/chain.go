// Package chain is the case event log's hash chain: the canonical encoding of
// an event and the link hash. The store appends and verifies with it, and the
// case workflow computes the same chain from its own events, which makes its
// history an independent witness of the log's head.
package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Genesis is the prev_hash of the first event of every case: 64 zeros.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Event is what the chain covers of one case event.
type Event struct {
	CaseID    string
	Seq       int64
	Type      string
	ActorID   string
	ActorRole string
	At        time.Time
	Data      json.RawMessage
}

// Head is the last link of a chain: the sequence number and hash of the
// newest event (zero and Genesis for an empty log).
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Time is a time at the precision the chain covers: UTC, microseconds.
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Canonical is the byte encoding that an event's hash covers. It is
// canonical JSON, so any language can recompute it:
//
//	{"actor_id":S,"actor_role":S,"at":S,"case_id":S,"data":D,"seq":N,"type":S}
//
// The rules:
//   - keys in exactly that order (byte order of the key names), no whitespace;
//   - at is the time in UTC, truncated to microseconds, formatted as RFC 3339
//     with the fraction's trailing zeros dropped (no fraction if zero) and a
//     "Z" suffix: 2024-05-01T10:00:00.25Z;
//   - seq is a decimal integer;
//   - D is the event data as canonical JSON: objects with keys sorted by
//     their UTF-8 bytes (a duplicated key keeps its last value), arrays in
//     order, numbers copied exactly as written (1.0 stays 1.0), true, false,
//     null, no whitespace; empty data is null. The data column stores D, so
//     a verifier in another language can take it verbatim;
//   - S, and every string inside D, is a JSON string of the UTF-8 text with
//     only these escapes: \" and \\, \b \f \n \r \t, and \u00xx (lowercase
//     hex) for the other bytes below 0x20. Everything else, including
//     non-ASCII, '<', '>', '&', U+2028 and U+2029, is written as is.
//
// The event hash is lowercase hex of SHA-256 over the 64 ASCII hex characters
// of prev_hash followed by the canonical event; prev_hash of seq 1 is
// Genesis.
//
// Data that is not valid JSON (AppendEvents refuses it, so only a tampered row
// can hold it) is encoded as a JSON string of its bytes, so that the function
// stays total and such a row simply fails verification.
func Canonical(e Event) []byte {
	data, err := CanonicalData(e.Data)
	if err != nil {
		var b bytes.Buffer
		writeJSONString(&b, string(e.Data))
		data = b.Bytes()
	}
	return WithData(e, data)
}

// WithData is Canonical for data already in canonical form (CanonicalData).
func WithData(e Event, canonicalData []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"actor_id":`)
	writeJSONString(&b, e.ActorID)
	b.WriteString(`,"actor_role":`)
	writeJSONString(&b, e.ActorRole)
	b.WriteString(`,"at":`)
	writeJSONString(&b, Time(e.At).Format(time.RFC3339Nano))
	b.WriteString(`,"case_id":`)
	writeJSONString(&b, e.CaseID)
	b.WriteString(`,"data":`)
	b.Write(canonicalData)
	b.WriteString(`,"seq":`)
	b.WriteString(strconv.FormatInt(e.Seq, 10))
	b.WriteString(`,"type":`)
	writeJSONString(&b, e.Type)
	b.WriteByte('}')
	return b.Bytes()
}

// Link is hex(sha256(prevHash || canonical)): the hash of the event whose
// canonical encoding is canonical, following prevHash.
func Link(prevHash string, canonical []byte) string {
	h := sha256.New()
	h.Write([]byte(prevHash))
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil))
}

// Next is the hash of e following prevHash.
func Next(prevHash string, e Event) string { return Link(prevHash, Canonical(e)) }

// CanonicalData re-encodes raw event data by the rules documented on
// Canonical.
func CanonicalData(raw []byte) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("event data is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("event data has content after the JSON value")
	}
	var b bytes.Buffer
	writeCanonical(&b, v)
	return b.Bytes(), nil
}

func writeCanonical(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(x.String())
	case string:
		writeJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, item)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // Go compares strings by their bytes
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeCanonical(b, x[k])
		}
		b.WriteByte('}')
	default:
		// json.Decoder with UseNumber yields only the types above.
		panic(fmt.Sprintf("chain: unexpected JSON value %T", v))
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}
