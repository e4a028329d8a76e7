package evidence

import (
	"archive/zip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Report is what Verify found. Intact means the signature is valid, made
// with the trusted key, and every file is exactly as the manifest lists it,
// with no file missing or added.
type Report struct {
	Intact   bool
	KeyID    string   // the key that signed the manifest
	Checked  []string // files whose size and SHA-256 match
	Failures []string // why the pack is not intact
	// Recorded are the problems the engine wrote into the manifest when it
	// made the pack (an object unlike the log's record, a log that does not
	// verify): the pack is authentic, its content says something is wrong.
	Recorded []string
	Notes    []string
	Manifest *Manifest
}

// maxManifest bounds what Verify reads of manifest.json and manifest.sig.
const maxManifest = 64 << 20

// Verify checks a pack offline against the trusted public key.
func Verify(r io.ReaderAt, size int64, trusted ed25519.PublicKey) (*Report, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("evidence: not a zip file: %w", err)
	}
	rep := &Report{}
	fail := func(format string, args ...any) { rep.Failures = append(rep.Failures, fmt.Sprintf(format, args...)) }
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := entries[f.Name]; dup {
			fail("%s is in the zip twice", f.Name)
		}
		entries[f.Name] = f
	}
	body, err := readEntry(entries[ManifestName], maxManifest)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotSigned, ManifestName, err)
	}
	sigBody, err := readEntry(entries[SignatureName], maxManifest)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotSigned, SignatureName, err)
	}
	var sig Signature
	if err := json.Unmarshal(sigBody, &sig); err != nil {
		return nil, fmt.Errorf("%w: %s is not JSON: %w", ErrNotSigned, SignatureName, err)
	}
	pub, perr := base64.StdEncoding.DecodeString(sig.PublicKey)
	raw, serr := base64.StdEncoding.DecodeString(sig.Signature)
	rep.KeyID = sig.KeyID
	switch {
	case sig.Algorithm != "Ed25519" || perr != nil || serr != nil || len(pub) != ed25519.PublicKeySize:
		fail("%s: not an Ed25519 signature", SignatureName)
	case !ed25519.PublicKey(pub).Equal(trusted):
		fail("%s: signed by key %s, not by the trusted key %s", SignatureName, KeyID(pub), KeyID(trusted))
	case !ed25519.Verify(trusted, body, raw):
		fail("%s: the signature does not match %s: the manifest was changed after it was signed", SignatureName, ManifestName)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		fail("%s is not a manifest: %v", ManifestName, err)
		return rep, nil
	}
	rep.Manifest = &m
	if m.Format != Format {
		fail("%s: format %q, this verifier knows %q", ManifestName, m.Format, Format)
	}
	listed := map[string]bool{ManifestName: true, SignatureName: true}
	for _, f := range m.Files {
		listed[f.Name] = true
		e := entries[f.Name]
		if e == nil {
			fail("%s is listed in the manifest but not in the pack", f.Name)
			continue
		}
		sum, n, err := hashEntry(e)
		switch {
		case err != nil:
			fail("%s: %v", f.Name, err)
		case n != f.Size || sum != f.SHA256:
			fail("%s: %d bytes with sha256 %s, the manifest lists %d bytes with sha256 %s", f.Name, n, sum, f.Size, f.SHA256)
		default:
			rep.Checked = append(rep.Checked, f.Name)
		}
	}
	for name := range entries {
		if !listed[name] {
			fail("%s is in the pack but not in the manifest", name)
		}
	}
	slices.Sort(rep.Failures)
	rep.Recorded = m.Problems
	if m.Recording != nil && !m.Recording.Included {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the recording (%d bytes, sha256 %s) is linked, not in the pack: download it and compare its SHA-256",
			m.Recording.Size, m.Recording.RecordedSHA256))
	}
	rep.Intact = len(rep.Failures) == 0
	return rep, nil
}

func readEntry(f *zip.File, limit int64) ([]byte, error) {
	if f == nil {
		return nil, fmt.Errorf("missing")
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

func hashEntry(f *zip.File) (string, int64, error) {
	rc, err := f.Open()
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	// The zip reader checks each entry's CRC-32 at its end as well.
	n, err := io.Copy(h, rc) // #nosec G110 -- hashed, not stored: a large entry costs time, not memory
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
