package blob

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// refusePublicPolicy stops the start when the bucket policy lets anyone in.
// Captures are identity documents: we fail closed rather than delete the
// operator's policy, because a policy may hold statements we must not lose,
// and a condition on a public statement (source IP, referer) is not a
// guarantee we can check from here.
func (s *Store) refusePublicPolicy(ctx context.Context) error {
	doc, err := s.core.Client.GetBucketPolicy(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: read policy of bucket %q: %w", s.bucket, err)
	}
	public, err := policyIsPublic(doc)
	if err != nil {
		return fmt.Errorf("blob: policy of bucket %q: %w", s.bucket, err)
	}
	if public {
		return fmt.Errorf("blob: bucket %q: %w; remove the anonymous statements (e.g. `mc anonymous set none`)", s.bucket, ErrPublicBucket)
	}
	return nil
}

type policyDocument struct {
	Statement statements `json:"Statement"`
}

type policyStatement struct {
	Effect       string          `json:"Effect"`
	Principal    json.RawMessage `json:"Principal"`
	NotPrincipal json.RawMessage `json:"NotPrincipal"`
}

// statements accepts both a single statement object and a list, as the
// policy grammar does.
type statements []policyStatement

func (st *statements) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var one policyStatement
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*st = statements{one}
		return nil
	}
	var many []policyStatement
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*st = many
	return nil
}

// policyIsPublic reports whether an Allow statement applies to everyone:
// Principal "*" (bare or under any key), or any NotPrincipal (everyone but).
func policyIsPublic(doc string) (bool, error) {
	if strings.TrimSpace(doc) == "" {
		return false, nil
	}
	var p policyDocument
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return false, fmt.Errorf("unreadable policy: %w", err)
	}
	for _, st := range p.Statement {
		if !strings.EqualFold(st.Effect, "Allow") {
			continue
		}
		if len(st.NotPrincipal) > 0 && string(st.NotPrincipal) != "null" {
			return true, nil
		}
		if principalIsEveryone(st.Principal) {
			return true, nil
		}
	}
	return false, nil
}

func principalIsEveryone(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	var bare string
	if json.Unmarshal(raw, &bare) == nil {
		return bare == "*"
	}
	var byKind map[string]json.RawMessage
	if json.Unmarshal(raw, &byKind) != nil {
		return false
	}
	for _, v := range byKind {
		var one string
		if json.Unmarshal(v, &one) == nil && one == "*" {
			return true
		}
		var list []string
		if json.Unmarshal(v, &list) == nil {
			for _, p := range list {
				if p == "*" {
					return true
				}
			}
		}
	}
	return false
}
