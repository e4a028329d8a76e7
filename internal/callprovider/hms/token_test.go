package hms

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

func newTokenClient(t *testing.T, clock *testClock) *Client {
	t.Helper()
	c, err := New(Config{AccessKey: testAccessKey, AppSecret: testSecret, Now: clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// parseToken verifies the signature with the app secret, as 100ms does, and
// returns the header and claims.
func parseToken(t *testing.T, token string, now time.Time) (map[string]any, jwt.MapClaims) {
	t.Helper()
	tok, claims, err := verifyToken(token, now)
	if err != nil {
		t.Fatalf("token does not verify with the app secret: %v", err)
	}
	return tok.Header, claims
}

func claimInt(t *testing.T, c jwt.MapClaims, name string) int64 {
	t.Helper()
	f, ok := c[name].(float64)
	if !ok {
		t.Fatalf("claim %s = %#v, want a number", name, c[name])
	}
	return int64(f)
}

func checkJTI(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, _ := c["jti"].(string)
	id, err := uuid.Parse(s)
	if err != nil || id.Version() != 4 {
		t.Fatalf("jti %q is not a UUID v4 (%v)", s, err)
	}
	return s
}

func TestManagementTokenClaims(t *testing.T) {
	clock := newTestClock()
	c := newTokenClient(t, clock)
	tok, err := c.ManagementToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	header, claims := parseToken(t, tok, now)
	if header["alg"] != "HS256" || header["typ"] != "JWT" {
		t.Errorf("header = %v, want HS256 JWT", header)
	}
	if claims["access_key"] != testAccessKey || claims["type"] != "management" {
		t.Errorf("claims = %v", claims)
	}
	if v, ok := claims["version"].(float64); !ok || v != 2 {
		t.Errorf("version = %#v, want the number 2", claims["version"])
	}
	for _, name := range []string{"room_id", "role", "user_id"} {
		if _, ok := claims[name]; ok {
			t.Errorf("management token carries peer claim %s", name)
		}
	}
	backdated := now.Add(-10 * time.Second).Unix()
	if got := claimInt(t, claims, "iat"); got != backdated {
		t.Errorf("iat = %d, want %d (10 s before now)", got, backdated)
	}
	if got := claimInt(t, claims, "nbf"); got != backdated {
		t.Errorf("nbf = %d, want %d", got, backdated)
	}
	if got, want := claimInt(t, claims, "exp"), now.Add(24*time.Hour).Unix(); got != want {
		t.Errorf("exp = %d, want %d (24 h)", got, want)
	}
	checkJTI(t, claims)

	if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte("another secret"), nil }); err == nil {
		t.Error("token verifies with a different secret")
	}
}

func TestAuthTokenClaims(t *testing.T) {
	clock := newTestClock()
	c := newTokenClient(t, clock)
	now := clock.Now()
	for _, tc := range []struct {
		name    string
		params  AuthTokenParams
		wantTTL time.Duration
	}{
		{"agent default ttl", AuthTokenParams{RoomID: "64f0c5e2a1b2c3d4e5f60718", Role: "agent", UserID: "agent-42"}, 24 * time.Hour},
		{"customer short ttl", AuthTokenParams{RoomID: "64f0c5e2a1b2c3d4e5f60718", Role: "customer", UserID: "case-9f1c", TTL: 15 * time.Minute}, 15 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, exp, err := c.AuthToken(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			_, claims := parseToken(t, tok, now)
			want := map[string]any{
				"access_key": testAccessKey, "type": "app", "version": float64(2),
				"room_id": tc.params.RoomID, "role": tc.params.Role, "user_id": tc.params.UserID,
			}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("claim %s = %#v, want %#v", k, claims[k], v)
				}
			}
			if got := claimInt(t, claims, "iat"); got != now.Add(-10*time.Second).Unix() {
				t.Errorf("iat = %d", got)
			}
			if got := claimInt(t, claims, "nbf"); got != now.Add(-10*time.Second).Unix() {
				t.Errorf("nbf = %d", got)
			}
			wantExp := now.Add(tc.wantTTL).Unix()
			if got := claimInt(t, claims, "exp"); got != wantExp {
				t.Errorf("exp = %d, want %d", got, wantExp)
			}
			if exp.Unix() != wantExp {
				t.Errorf("expiresAt = %v, want unix %d", exp, wantExp)
			}
			checkJTI(t, claims)
		})
	}
}

func TestAuthTokenRefusesIncompleteParams(t *testing.T) {
	c := newTokenClient(t, newTestClock())
	for name, p := range map[string]AuthTokenParams{
		"no room":      {Role: "agent", UserID: "u"},
		"no role":      {RoomID: "r", UserID: "u"},
		"no user":      {RoomID: "r", Role: "agent"},
		"blank user":   {RoomID: "r", Role: "agent", UserID: "  "},
		"negative ttl": {RoomID: "r", Role: "agent", UserID: "u", TTL: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := c.AuthToken(p)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func TestManagementTokenCacheAndEarlyResign(t *testing.T) {
	clock := newTestClock()
	c := newTokenClient(t, clock)
	ctx := context.Background()
	t0 := clock.Now()
	first, err := c.ManagementToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, claims := parseToken(t, first, t0)
	exp := time.Unix(claimInt(t, claims, "exp"), 0)
	firstJTI := claims["jti"]

	for _, step := range []struct {
		at      time.Time
		resigns bool
	}{
		{t0.Add(time.Hour), false},
		{exp.Add(-31 * time.Second), false},
		{exp.Add(-30 * time.Second), true}, // exactly at the margin: no longer used
	} {
		clock.Set(step.at)
		tok, err := c.ManagementToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if (tok != first) != step.resigns {
			t.Fatalf("at exp%+v: re-signed = %v, want %v", step.at.Sub(exp), tok != first, step.resigns)
		}
		if step.resigns {
			_, nc := parseToken(t, tok, step.at)
			if nc["jti"] == firstJTI {
				t.Error("re-signed token reuses the jti")
			}
			if got, want := claimInt(t, nc, "exp"), step.at.Add(24*time.Hour).Unix(); got != want {
				t.Errorf("new exp = %d, want %d", got, want)
			}
			again, _ := c.ManagementToken(ctx)
			if again != tok {
				t.Error("the re-signed token is not cached")
			}
		}
	}
}

func TestManagementTokenConcurrentCallersShareOneToken(t *testing.T) {
	c := newTokenClient(t, newTestClock())
	const n = 32
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tok, err := c.ManagementToken(context.Background())
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		})
	}
	wg.Wait()
	for i := range tokens {
		if tokens[i] != tokens[0] {
			t.Fatalf("caller %d got a different token", i)
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no access key":    {AppSecret: "s"},
		"no secret":        {AccessKey: "k"},
		"relative base":    {AccessKey: "k", AppSecret: "s", BaseURL: "/v2"},
		"ftp base":         {AccessKey: "k", AppSecret: "s", BaseURL: "ftp://example.com/v2"},
		"base with query":  {AccessKey: "k", AppSecret: "s", BaseURL: "https://example.com/v2?x=1"},
		"base with userpw": {AccessKey: "k", AppSecret: "s", BaseURL: "https://u:p@example.com/v2"},
		"tiny token ttl":   {AccessKey: "k", AppSecret: "s", TokenTTL: 30 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(cfg); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
		})
	}
	c, err := New(Config{AccessKey: "k", AppSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != DefaultBaseURL {
		t.Errorf("default base = %q", c.BaseURL())
	}
	c, err = New(Config{AccessKey: "k", AppSecret: "s", BaseURL: "http://127.0.0.1:8090/v2/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "http://127.0.0.1:8090/v2" {
		t.Errorf("base = %q, want the trailing slash trimmed", c.BaseURL())
	}
}
