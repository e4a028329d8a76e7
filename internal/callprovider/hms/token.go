package hms

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

const (
	tokenVersion = 2
	// iat and nbf are backdated like the official SDK does, so that a 100ms
	// server whose clock runs slightly behind ours still accepts the token.
	clockSkew = 10 * time.Second

	tokenTypeManagement = "management"
	tokenTypeApp        = "app"
)

// AuthTokenParams describes a peer auth token: who joins which room as what.
type AuthTokenParams struct {
	RoomID string
	Role   string
	UserID string        // our id for the person, echoed as user_id in webhooks
	TTL    time.Duration // default 24h; the engine's API shortens it
}

// ManagementToken returns the cached management token, signing a new one when
// there is none or the cached one expires within 30 seconds.
func (c *Client) ManagementToken(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mgmt != "" && c.now().Before(c.mgmtExp.Add(-tokenRefreshMargin)) {
		return c.mgmt, nil
	}
	return c.signManagementLocked()
}

// resignManagementToken replaces the token that 100ms just rejected. Requests
// that failed concurrently with the same token share one new token instead of
// each signing their own.
func (c *Client) resignManagementToken(rejected string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mgmt != "" && c.mgmt != rejected && c.now().Before(c.mgmtExp.Add(-tokenRefreshMargin)) {
		return c.mgmt, nil
	}
	return c.signManagementLocked()
}

func (c *Client) signManagementLocked() (string, error) {
	now := c.now()
	exp := now.Add(c.tokenTTL)
	tok, err := c.sign(jwt.MapClaims{
		"access_key": c.accessKey,
		"type":       tokenTypeManagement,
	}, now, exp)
	if err != nil {
		return "", fmt.Errorf("hms: sign management token: %w", err)
	}
	c.mgmt, c.mgmtExp = tok, time.Unix(exp.Unix(), 0)
	return tok, nil
}

// AuthToken signs a peer auth token (type "app") for a client SDK to join a room.
func (c *Client) AuthToken(p AuthTokenParams) (token string, expiresAt time.Time, err error) {
	for name, v := range map[string]string{"room id": p.RoomID, "role": p.Role, "user id": p.UserID} {
		if strings.TrimSpace(v) == "" {
			return "", time.Time{}, fmt.Errorf("%w: auth token: %s is empty", ErrInvalidArgument, name)
		}
	}
	ttl := p.TTL
	if ttl == 0 {
		ttl = defaultTokenTTL
	}
	if ttl < 0 {
		return "", time.Time{}, fmt.Errorf("%w: auth token: negative TTL %s", ErrInvalidArgument, ttl)
	}
	now := c.now()
	exp := now.Add(ttl)
	tok, err := c.sign(jwt.MapClaims{
		"access_key": c.accessKey,
		"type":       tokenTypeApp,
		"room_id":    p.RoomID,
		"role":       p.Role,
		"user_id":    p.UserID,
	}, now, exp)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("hms: sign auth token: %w", err)
	}
	return tok, time.Unix(exp.Unix(), 0).UTC(), nil
}

func (c *Client) sign(claims jwt.MapClaims, now, exp time.Time) (string, error) {
	issued := now.Add(-clockSkew).Unix()
	claims["version"] = tokenVersion
	claims["iat"] = issued
	claims["nbf"] = issued
	claims["exp"] = exp.Unix()
	claims["jti"] = uuid.NewString()
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(c.secret)
}
