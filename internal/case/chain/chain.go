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
	"fmt"
	"time"

	"github.com/gowebpki/jcs"
)

// Genesis is the prev_hash of the first event of every case: 64 zeros.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Event is what the chain covers of one case event. The store's events
// embed it; the JSON names are the log's, as the API shows it.
type Event struct {
	CaseID    string          `json:"case_id"`
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	ActorID   string          `json:"actor_id"`
	ActorRole string          `json:"actor_role"`
	At        time.Time       `json:"at"`
	Data      json.RawMessage `json:"data"`
}

// Head is the last link of a chain: the sequence number and hash of the
// newest event (zero and Genesis for an empty log).
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Time is a time at the precision the chain covers: UTC, microseconds.
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Canonical is the byte encoding that an event's hash covers: the JSON
// object
//
//	{"actor_id":S,"actor_role":S,"at":S,"case_id":S,"data":D,"seq":N,"type":S}
//
// in the JSON Canonicalization Scheme of RFC 8785 (through
// github.com/gowebpki/jcs), so any language with a JCS library can recompute
// it:
//   - at is the time in UTC, truncated to microseconds, formatted as RFC 3339
//     with the fraction's trailing zeros dropped (no fraction if zero) and a
//     "Z" suffix: 2024-05-01T10:00:00.25Z;
//   - seq is the event's number, D the event data (null when empty);
//   - JCS sorts object keys by their UTF-16 code units, writes no whitespace,
//     numbers as ECMAScript does (1.50 becomes 1.5, 1e3 becomes 1000, -0
//     becomes 0), and strings with only the escapes \" \\ \b \f \n \r \t and
//     \u00xx (lowercase hex) for the other characters below 0x20; everything
//     else, including non-ASCII, '<', '>', '&', U+2028 and U+2029, is written
//     as is. A duplicated key, or a number beyond an IEEE 754 double, is not
//     canonical JSON: AppendEvents refuses such data.
//
// The data column stores D in that form (CanonicalData), so a verifier can
// take it verbatim.
//
// The event hash is lowercase hex of SHA-256 over the 64 ASCII hex characters
// of prev_hash followed by the canonical event; prev_hash of seq 1 is
// Genesis.
//
// Data that is not canonical JSON (only a tampered row can hold it) is
// encoded as a JSON string of its bytes, so that the function stays total and
// such a row simply fails verification.
func Canonical(e Event) []byte {
	data := []byte(e.Data)
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("null")
	}
	if out, err := envelope(e, data); err == nil {
		return out
	}
	asString, _ := json.Marshal(string(e.Data)) // a string always marshals
	out, err := envelope(e, asString)
	if err != nil {
		// A JSON string of valid UTF-8 and the fixed fields are always
		// canonicalizable.
		panic(fmt.Sprintf("chain: canonical form of event %d: %v", e.Seq, err))
	}
	return out
}

// WithData is Canonical for data already in canonical form (CanonicalData).
func WithData(e Event, canonicalData []byte) []byte {
	e.Data = canonicalData
	return Canonical(e)
}

// envelopeJSON is the event as the chain covers it; JCS orders its keys.
type envelopeJSON struct {
	ActorID   string          `json:"actor_id"`
	ActorRole string          `json:"actor_role"`
	At        string          `json:"at"`
	CaseID    string          `json:"case_id"`
	Data      json.RawMessage `json:"data"`
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
}

func envelope(e Event, data []byte) ([]byte, error) {
	raw, err := json.Marshal(envelopeJSON{
		ActorID: e.ActorID, ActorRole: e.ActorRole, At: Time(e.At).Format(time.RFC3339Nano),
		CaseID: e.CaseID, Data: data, Seq: e.Seq, Type: e.Type,
	})
	if err != nil {
		return nil, err
	}
	return jcs.Transform(raw)
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

// CanonicalData re-encodes raw event data by RFC 8785 (see Canonical).
func CanonicalData(raw []byte) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null"), nil
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("event data is not canonical JSON (RFC 8785): %w", err)
	}
	return out, nil
}
