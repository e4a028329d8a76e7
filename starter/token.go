package main

import (
	"fmt"
	"time"

	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

// defaultTokenTTL is one working shift: long enough for an agent's day,
// short enough that a token copied into a ticket soon stops working.
const defaultTokenTTL = 12 * time.Hour

func (c *cli) token(args []string) error {
	fs := c.newFlags("token", "--role ROLE --sub SUBJECT [--ttl 12h]")
	role := fs.String("role", "", "role of the holder: service, agent, auditor or admin (required)")
	sub := fs.String("sub", "", "who holds the token, e.g. agent-7 (required)")
	ttl := fs.Duration("ttl", defaultTokenTTL, fmt.Sprintf("lifetime of the token (at most %s)", auth.MaxTTL))
	if err := parseNone(fs, args); err != nil {
		return err
	}
	switch {
	case *role == "":
		return usagef("token: --role is required")
	case !auth.ValidRole(kyc.Role(*role)):
		return usagef("token: --role %q is not one of service, agent, auditor, admin", *role)
	case *sub == "":
		return usagef("token: --sub is required")
	case *ttl <= 0 || *ttl > auth.MaxTTL:
		return usagef("token: --ttl %s is outside (0, %s]", *ttl, auth.MaxTTL)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	now := time.Now()
	tok, err := auth.Mint([]byte(cfg.AuthSecret), *sub, kyc.Role(*role), *ttl, now)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	fmt.Fprintln(c.out, tok)
	fmt.Fprintf(c.errOut, "token for %s (%s), valid until %s\n", *sub, *role, now.Add(*ttl).UTC().Format(time.RFC3339))
	return nil
}
