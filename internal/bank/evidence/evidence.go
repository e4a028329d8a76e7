// Package evidence writes and verifies a closed case's evidence pack: one
// ZIP with the case, its hash-chained event log, every capture, the call
// recording (or a presigned link to it when it is too large to carry), a
// one-page PDF summary for people, and manifest.json listing every file
// with its size and SHA-256, signed with Ed25519 in manifest.sig. Verify
// checks a pack offline: the signature against a trusted public key and
// every file against the manifest.
//
// The pack streams: captures (bounded by CAPTURE_MAX_BYTES) are read once
// into memory because the PDF shows them, the recording is copied from the
// bucket into the ZIP through a fixed buffer while it is hashed, and the
// manifest, which holds the hashes of what was actually written, comes last.
package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// Format names this layout of pack in manifest.json.
const Format = "vkyc-evidence/1"

// Names of the pack's fixed files.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
	SummaryName   = "summary.pdf"
)

// Version is the engine's version, set at build time with
// -ldflags "-X github.com/vkyc-engine/vkyc/internal/bank/evidence.Version=..."; empty, the
// module's build information is used.
var Version string

// EngineVersion is what manifests record as the engine's version.
func EngineVersion() string {
	if Version != "" {
		return Version
	}
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v += " " + s.Value
			}
		}
		v += " " + bi.GoVersion
	}
	return v
}

// Objects reads the bucket: captures and the recording.
type Objects interface {
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Input is everything a pack is made of.
type Input struct {
	Case   kyc.CaseView // with the customer's reference only
	Events []store.Event
	Chain  store.ChainReport
	// Witness and Verified are the events endpoint's checks of the log
	// against the workflow's chain and of the case record against the log.
	Witness  json.RawMessage
	Verified bool
	// LogProblems are the log's failed checks (chain broken, witness or
	// case record disagreeing); LogNotes what could not be checked (the
	// workflow's history gone past Temporal's retention).
	LogProblems, LogNotes []string
	// RecordingKey is the recording's object key in the bucket ("" if none).
	RecordingKey string
	// InlineMax is the largest recording carried in the pack; a larger one
	// is linked for LinkTTL.
	InlineMax   int64
	LinkTTL     time.Duration
	GeneratedBy string // who asked for the pack: "<role>:<id>"
	Now         time.Time
	Key         ed25519.PrivateKey
}

// Manifest is manifest.json.
type Manifest struct {
	Format        string       `json:"format"`
	EngineVersion string       `json:"engine_version"`
	GeneratedAt   time.Time    `json:"generated_at"`
	GeneratedBy   string       `json:"generated_by"`
	Case          kyc.CaseView `json:"case"`
	Log           LogSection   `json:"log"`
	Files         []File       `json:"files"`
	Recording     *Recording   `json:"recording,omitempty"`
	// Problems are what the engine found wrong while packing: an object
	// whose content differs from what the log recorded, a log that does not
	// verify. A pack with problems is still signed: it is what was found.
	Problems []string `json:"problems,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// LogSection is the case event log and its verdicts.
type LogSection struct {
	Events     []store.Event    `json:"events"`
	Count      int              `json:"count"`
	Head       ChainHead        `json:"chain_head"`
	ChainValid bool             `json:"chain_valid"`
	BrokenAt   int64            `json:"broken_at,omitempty"`
	Reason     string           `json:"reason,omitempty"`
	Witness    *json.RawMessage `json:"witness,omitempty"`
	Verified   bool             `json:"verified"`
}

// ChainHead is the last event of the log and its hash.
type ChainHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// File is one file of the pack.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// What the file is: "capture", "recording" or "summary".
	Kind      string `json:"kind"`
	CaptureID string `json:"capture_id,omitempty"`
	ObjectKey string `json:"object_key,omitempty"`
	// RecordedSHA256 is the digest the event log holds for the object;
	// MatchesLog says whether the content packed has it.
	RecordedSHA256 string `json:"recorded_sha256,omitempty"`
	MatchesLog     *bool  `json:"matches_log,omitempty"`
}

// Recording says where the recording is: in the pack (File) or behind a
// presigned link valid until URLExpiresAt.
type Recording struct {
	ObjectKey      string     `json:"object_key"`
	Size           int64      `json:"size"`
	RecordedSHA256 string     `json:"recorded_sha256"`
	Included       bool       `json:"included"`
	File           string     `json:"file,omitempty"`
	URL            string     `json:"url,omitempty"`
	URLExpiresAt   *time.Time `json:"url_expires_at,omitempty"`
}

// Signature is manifest.sig: an Ed25519 signature of manifest.json's exact
// bytes, with the public key that makes it (to be compared with the one
// the verifier trusts) and its id.
type Signature struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
	Signature string `json:"signature"`
}

// KeyID names a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// capture is a capture read into memory.
type capture struct {
	c    kyc.Capture
	name string
	data []byte
}

// Prepare reads what must be read before the first byte of the pack is
// written: the captures (the PDF shows them) and, for a recording carried
// in the pack, its size; a failure here is an error the caller can still
// answer properly. Write then streams the pack.
func Prepare(ctx context.Context, objs Objects, in Input) (*Pack, error) {
	p := &Pack{in: in, objs: objs}
	for _, c := range in.Case.Captures {
		rc, size, err := objs.Open(ctx, c.ObjectKey)
		if err != nil {
			return nil, fmt.Errorf("evidence: capture %s: %w", c.ID, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, size+1))
		_ = rc.Close()
		if err != nil {
			return nil, fmt.Errorf("evidence: capture %s: %w", c.ID, err)
		}
		p.captures = append(p.captures, capture{c: c, name: captureName(c), data: data})
	}
	if in.RecordingKey != "" {
		rc, size, err := objs.Open(ctx, in.RecordingKey)
		if err != nil {
			return nil, fmt.Errorf("evidence: recording: %w", err)
		}
		p.recording, p.recordingSize = rc, size
		if size > in.InlineMax {
			_ = rc.Close()
			p.recording = nil
			u, err := objs.PresignGet(ctx, in.RecordingKey, in.LinkTTL)
			if err != nil {
				return nil, fmt.Errorf("evidence: recording link: %w", err)
			}
			p.recordingURL = u
		}
	}
	return p, nil
}

// Pack is a prepared pack. Write it once, or Close it.
type Pack struct {
	in            Input
	objs          Objects
	captures      []capture
	recording     io.ReadCloser // nil when linked or absent
	recordingSize int64
	recordingURL  string
}

// Close releases the recording if Write was never called.
func (p *Pack) Close() {
	if p.recording != nil {
		_ = p.recording.Close()
		p.recording = nil
	}
}

func captureName(c kyc.Capture) string {
	ext := ".bin"
	switch c.ContentType {
	case "image/jpeg":
		ext = ".jpg"
	case "image/png":
		ext = ".png"
	case "image/webp":
		ext = ".webp"
	}
	return fmt.Sprintf("captures/attempt-%d/%s-%s%s", c.Attempt, c.Kind, c.ID, ext)
}

// Write streams the pack to w and returns its manifest. An error after the
// first byte leaves w holding a ZIP without its central directory, which no
// reader accepts: callers must not present it as a pack.
func (p *Pack) Write(w io.Writer) (*Manifest, error) {
	defer p.Close()
	in := p.in
	zw := zip.NewWriter(w)
	m := &Manifest{
		Format: Format, EngineVersion: EngineVersion(), GeneratedAt: in.Now.UTC(), GeneratedBy: in.GeneratedBy,
		Case: in.Case,
		Log: LogSection{Events: in.Events, Count: len(in.Events), ChainValid: in.Chain.Valid, BrokenAt: in.Chain.BrokenAt,
			Reason: in.Chain.Reason, Verified: in.Verified},
	}
	if m.Log.Events == nil {
		m.Log.Events = []store.Event{}
	}
	if len(in.Witness) > 0 {
		w := in.Witness
		m.Log.Witness = &w
	}
	if n := len(in.Events); n > 0 {
		m.Log.Head = ChainHead{Seq: in.Events[n-1].Seq, Hash: in.Events[n-1].Hash}
	}
	m.Problems = append(m.Problems, in.LogProblems...)
	m.Notes = append(m.Notes, in.LogNotes...)

	for _, c := range p.captures {
		f, err := writeFile(zw, c.name, zip.Store, bytes.NewReader(c.data))
		if err != nil {
			return nil, err
		}
		f.Kind, f.CaptureID, f.ObjectKey, f.RecordedSHA256 = "capture", c.c.ID, c.c.ObjectKey, c.c.SHA256
		f.MatchesLog = boolPtr(f.SHA256 == c.c.SHA256 && f.Size == c.c.Size)
		if !*f.MatchesLog {
			m.Problems = append(m.Problems, fmt.Sprintf("capture %s: the stored object (%d bytes, sha256 %s) is not what the log recorded (%d bytes, sha256 %s)",
				c.c.ID, f.Size, f.SHA256, c.c.Size, c.c.SHA256))
		}
		m.Files = append(m.Files, f)
	}

	rec := in.Case.Recording
	if in.RecordingKey != "" {
		m.Recording = &Recording{ObjectKey: in.RecordingKey, Size: p.recordingSize, RecordedSHA256: rec.SHA256}
		if p.recording == nil {
			exp := in.Now.Add(in.LinkTTL).UTC()
			m.Recording.URL, m.Recording.URLExpiresAt = p.recordingURL, &exp
		} else {
			m.Recording.Included, m.Recording.File = true, "recording/"+path.Base(in.RecordingKey)
		}
	}

	// The summary before the recording: everything it shows is known.
	pdf, err := summary(in, p.captures, m)
	if err != nil {
		return nil, err
	}
	f, err := writeFile(zw, SummaryName, zip.Store, bytes.NewReader(pdf))
	if err != nil {
		return nil, err
	}
	f.Kind = "summary"
	m.Files = append(m.Files, f)

	if p.recording != nil {
		f, err := writeFile(zw, m.Recording.File, zip.Store, p.recording)
		_ = p.recording.Close()
		p.recording = nil
		if err != nil {
			return nil, err
		}
		f.Kind, f.ObjectKey, f.RecordedSHA256 = "recording", in.RecordingKey, rec.SHA256
		f.MatchesLog = boolPtr(rec.SHA256 == "" || f.SHA256 == rec.SHA256)
		if !*f.MatchesLog {
			m.Problems = append(m.Problems, fmt.Sprintf("recording: the stored object (sha256 %s) is not what the log recorded (sha256 %s)", f.SHA256, rec.SHA256))
		}
		m.Files = append(m.Files, f)
	}

	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("evidence: manifest: %w", err)
	}
	if _, err := writeFile(zw, ManifestName, zip.Deflate, bytes.NewReader(body)); err != nil {
		return nil, err
	}
	pub := in.Key.Public().(ed25519.PublicKey)
	sig, err := json.MarshalIndent(Signature{
		Algorithm: "Ed25519", KeyID: KeyID(pub), PublicKey: base64.StdEncoding.EncodeToString(pub),
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(in.Key, body)),
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("evidence: signature: %w", err)
	}
	if _, err := writeFile(zw, SignatureName, zip.Deflate, bytes.NewReader(sig)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("evidence: finish the zip: %w", err)
	}
	return m, nil
}

// writeFile copies r into a new entry, hashing what it writes.
func writeFile(zw *zip.Writer, name string, method uint16, r io.Reader) (File, error) {
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: time.Now().UTC()})
	if err != nil {
		return File{}, fmt.Errorf("evidence: %s: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err != nil {
		return File{}, fmt.Errorf("evidence: %s: %w", name, err)
	}
	return File{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func boolPtr(b bool) *bool { return &b }

// ErrNotSigned means a pack lacks its manifest or signature.
var ErrNotSigned = errors.New("evidence: not a signed pack")

// reasonText keeps text on one line for the summary.
func reasonText(s string) string { return strings.Join(strings.Fields(s), " ") }
