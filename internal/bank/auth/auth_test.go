package auth

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

var (
	secret = []byte("0123456789abcdef-test-secret")
	now    = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
)

func TestMintParseRoundTrip(t *testing.T) {
	for _, role := range Roles {
		tok, err := Mint(secret, "who-"+string(role), role, time.Hour, now)
		if err != nil {
			t.Fatalf("mint %s: %v", role, err)
		}
		c, err := Parse(secret, tok, now.Add(30*time.Minute))
		if err != nil {
			t.Fatalf("parse %s: %v", role, err)
		}
		if c.Subject != "who-"+string(role) || c.Role != role || !c.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Errorf("claims = %+v", c)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	good, _ := Mint(secret, "agent-7", kyc.RoleAgent, time.Hour, now)
	sign := func(m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := now.Add(time.Hour).Unix()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","role":"admin","exp":` + strconv.FormatInt(exp, 10) + `}`))
	cases := []struct {
		name  string
		token string
		at    time.Time
	}{
		{"expired", good, now.Add(2 * time.Hour)},
		{"wrong secret", sign(jwt.SigningMethodHS256, []byte("another-secret-0123456789"), jwt.MapClaims{"sub": "x", "role": "admin", "exp": exp}), now},
		{"alg none", header + "." + payload + ".", now},
		{"hs512", sign(jwt.SigningMethodHS512, secret, jwt.MapClaims{"sub": "x", "role": "admin", "exp": exp}), now},
		{"no exp", sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "x", "role": "admin"}), now},
		{"no sub", sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"role": "admin", "exp": exp}), now},
		{"unknown role", sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "x", "role": "root", "exp": exp}), now},
		{"customer role", sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "x", "role": "customer", "exp": exp}), now},
		{"sub with NUL", sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "agent\x00-1", "role": "agent", "exp": exp}), now},
		{"sub of 10 KB", sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": strings.Repeat("a", 10<<10), "role": "agent", "exp": exp}), now},
		{"sub with a space", sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "agent 1", "role": "agent", "exp": exp}), now},
		{"sub with a newline", sign(jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "agent\n1", "role": "agent", "exp": exp}), now},
		{"tampered payload", strings.Replace(good, ".", ".x", 1), now},
		{"garbage", "not-a-jwt", now},
		{"empty", "", now},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Parse(secret, c.token, c.at); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Parse = %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestMintRefuses(t *testing.T) {
	cases := []struct {
		name   string
		secret []byte
		sub    string
		role   kyc.Role
		ttl    time.Duration
	}{
		{"short secret", []byte("short"), "a", kyc.RoleAdmin, time.Hour},
		{"empty subject", secret, "", kyc.RoleAdmin, time.Hour},
		{"subject with NUL", secret, "a\x00b", kyc.RoleAdmin, time.Hour},
		{"subject too long", secret, strings.Repeat("a", kyc.MaxSubjectLen+1), kyc.RoleAdmin, time.Hour},
		{"bad role", secret, "a", kyc.Role("root"), time.Hour},
		{"zero ttl", secret, "a", kyc.RoleAdmin, 0},
		{"ttl too long", secret, "a", kyc.RoleAdmin, MaxTTL + time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Mint(c.secret, c.sub, c.role, c.ttl, now); err == nil {
				t.Fatal("Mint succeeded")
			}
		})
	}
}
