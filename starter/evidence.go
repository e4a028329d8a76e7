package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"

	"github.com/vkyc-engine/vkyc/internal/bank/evidence"
	"github.com/vkyc-engine/vkyc/internal/bank/outbound/message"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

// errNotIntact makes verify exit 1 after it has said what fails.
var errNotIntact = errors.New("evidence verify: the pack is NOT intact")

func (c *cli) evidence(args []string) error {
	if len(args) == 0 {
		return usagef("evidence needs a subcommand: verify, keygen or public-key")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "verify":
		return c.evidenceVerify(rest)
	case "keygen":
		return c.evidenceKeygen(rest)
	case "public-key":
		return c.evidencePublicKey(rest)
	default:
		return usagef("unknown evidence subcommand %q (want verify, keygen or public-key)", sub)
	}
}

// evidenceVerify checks a pack offline: the manifest's signature with the
// trusted key (--public-key, else the one of EVIDENCE_SIGNING_KEY) and
// every file against the manifest. It prints what it checked and what
// fails, and exits 1 unless the pack is intact.
func (c *cli) evidenceVerify(args []string) error {
	fs := c.newFlags("evidence verify", "PACK.zip [--public-key BASE64]")
	pubFlag := fs.String("public-key", "", "the trusted Ed25519 public key, base64 (default: the key of EVIDENCE_SIGNING_KEY)")
	positional, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usagef("evidence verify: want exactly one pack file, got %d arguments", len(positional))
	}
	var pub ed25519.PublicKey
	if *pubFlag != "" {
		b, err := base64.StdEncoding.DecodeString(*pubFlag)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return usagef("evidence verify: --public-key must be the base64 of a %d-byte Ed25519 public key", ed25519.PublicKeySize)
		}
		pub = b
	} else {
		cfg, err := config.Load()
		if err != nil {
			return err
		}
		pub = cfg.Evidence.SigningKey.Public().(ed25519.PublicKey)
	}
	f, err := os.Open(positional[0]) // #nosec G703 -- the operator names the file to check on their own machine
	if err != nil {
		return fmt.Errorf("evidence verify: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("evidence verify: %w", err)
	}
	rep, err := evidence.Verify(f, st.Size(), pub)
	if err != nil {
		return fmt.Errorf("evidence verify: %w", err)
	}
	if m := rep.Manifest; m != nil {
		fmt.Fprintf(c.out, "case %s (%s), customer %s; packed %s by %s with vkyc %s\n", m.Case.ID, m.Case.Status,
			m.Case.Customer.Reference, m.GeneratedAt.Format("2006-01-02 15:04:05 UTC"), m.GeneratedBy, m.EngineVersion)
		fmt.Fprintf(c.out, "event log: %d events, head %d %s, chain valid %v, verified %v\n", m.Log.Count, m.Log.Head.Seq, m.Log.Head.Hash, m.Log.ChainValid, m.Log.Verified)
	}
	fmt.Fprintf(c.out, "signed by key %s; trusted key %s\n", rep.KeyID, evidence.KeyID(pub))
	for _, name := range rep.Checked {
		fmt.Fprintf(c.out, "ok      %s\n", name)
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(c.out, "FAILED  %s\n", f)
	}
	for _, p := range rep.Recorded {
		fmt.Fprintf(c.out, "problem recorded when packed: %s\n", p)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(c.out, "note: %s\n", n)
	}
	if !rep.Intact {
		return errNotIntact
	}
	fmt.Fprintf(c.out, "the pack is intact: the signature is valid and all %d files match the manifest\n", len(rep.Checked))
	return nil
}

// evidenceKeygen prints a new signing key for EVIDENCE_SIGNING_KEY and its
// public key (give that to whoever verifies packs).
func (c *cli) evidenceKeygen(args []string) error {
	fs := c.newFlags("evidence keygen", "")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed) // crypto/rand.Read never fails (Go 1.24+)
	key := ed25519.NewKeyFromSeed(seed)
	fmt.Fprintf(c.out, "EVIDENCE_SIGNING_KEY=%s\n", base64.StdEncoding.EncodeToString(seed))
	pub := key.Public().(ed25519.PublicKey)
	fmt.Fprintf(c.errOut, "public key (for starter evidence verify --public-key): %s (key id %s)\n", base64.StdEncoding.EncodeToString(pub), evidence.KeyID(pub))
	return nil
}

// evidencePublicKey prints the public key of the configured signing key.
func (c *cli) evidencePublicKey(args []string) error {
	fs := c.newFlags("evidence public-key", "")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	pub := cfg.Evidence.SigningKey.Public().(ed25519.PublicKey)
	fmt.Fprintln(c.out, base64.StdEncoding.EncodeToString(pub))
	fmt.Fprintf(c.errOut, "key id %s\n", evidence.KeyID(pub))
	return nil
}

// webhookSecret prints a new Standard Webhooks signing secret for
// BANK_WEBHOOK_SECRETS.
func (c *cli) webhookSecret(args []string) error {
	fs := c.newFlags("webhook-secret", "")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(c.out, message.NewSecret())
	return nil
}
