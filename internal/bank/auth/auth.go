// Package auth mints and checks the bearer tokens of the engine's API: HS256
// JWTs with the claims sub (who), role and exp. Only HS256 is accepted, so a
// token with "alg": "none" or an asymmetric algorithm never verifies.
package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Roles that may hold an API token.
var Roles = []kyc.Role{kyc.RoleService, kyc.RoleAgent, kyc.RoleAuditor, kyc.RoleAdmin}

// MaxTTL bounds the lifetime of a token minted by Mint: long-lived bearer
// tokens are the usual way such credentials leak into logs and scripts.
const MaxTTL = 30 * 24 * time.Hour

var (
	// ErrInvalidToken covers every reason a token is refused; the wrapped
	// error says which.
	ErrInvalidToken = errors.New("invalid token")
	// ErrMinSecret is returned for secrets too short to resist brute force.
	ErrMinSecret = errors.New("auth secret must be at least 16 bytes")
)

// Claims are what the API learns from a token.
type Claims struct {
	Subject   string
	Role      kyc.Role
	ExpiresAt time.Time
}

type jwtClaims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// ValidRole reports whether r may hold an API token.
func ValidRole(r kyc.Role) bool {
	for _, v := range Roles {
		if v == r {
			return true
		}
	}
	return false
}

// Mint signs a token for sub with role, valid for ttl from now.
func Mint(secret []byte, sub string, role kyc.Role, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < 16 {
		return "", ErrMinSecret
	}
	// Invalid UTF-8 would travel as U+FFFD, so two different subjects
	// could come back as the same person; Parse refuses the rest.
	if err := kyc.CheckSubject(sub); err != nil {
		return "", fmt.Errorf("mint token: subject %w", err)
	}
	if !ValidRole(role) {
		return "", fmt.Errorf("mint token: unknown role %q", role)
	}
	if ttl <= 0 || ttl > MaxTTL {
		return "", fmt.Errorf("mint token: ttl %s outside (0, %s]", ttl, MaxTTL)
	}
	c := jwtClaims{
		Role: string(role),
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   sub,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-10 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        uuid.NewString(),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}

// Parse verifies token with secret at time now and returns its claims.
func Parse(secret []byte, token string, now time.Time) (Claims, error) {
	var c jwtClaims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(5*time.Second),
	)
	_, err := p.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return secret, nil })
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	role := kyc.Role(c.Role)
	// The subject becomes the actor of events, the agent's search
	// attribute and part of update ids: one PostgreSQL or Temporal cannot
	// store must never get past the edge (kyc.CheckSubject).
	if err := kyc.CheckSubject(c.Subject); err != nil {
		return Claims{}, fmt.Errorf("%w: subject %w", ErrInvalidToken, err)
	}
	if !ValidRole(role) {
		return Claims{}, fmt.Errorf("%w: unknown role %q", ErrInvalidToken, c.Role)
	}
	return Claims{Subject: c.Subject, Role: role, ExpiresAt: c.ExpiresAt.Time}, nil
}
