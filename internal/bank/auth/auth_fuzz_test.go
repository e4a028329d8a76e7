package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// FuzzParse feeds arbitrary strings to the token parser. Parse never panics,
// refuses with ErrInvalidToken only, and whatever it accepts is a token our
// secret signed (the seeds include real ones) with a subject, a known role
// and an expiry that has not passed.
func FuzzParse(f *testing.F) {
	for _, role := range Roles {
		tok, err := Mint(secret, "who-"+string(role), role, time.Hour, now)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
		// The same token with a flipped character in each part.
		for _, i := range []int{3, strings.Index(tok, ".") + 3, len(tok) - 2} {
			b := []byte(tok)
			b[i] ^= 1
			f.Add(string(b))
		}
	}
	for _, s := range []string{
		"", ".", "..", "...", "a.b.c", "not-a-jwt", "Bearer x",
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIiwiZXhwIjo5OTk5OTk5OTk5fQ.",
		"eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
		"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOiIxIn0.x",
		"eyJhbGciOiJIUzI1NiJ9.bnVsbA.x",
		"e30.e30.e30.e30",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := Parse(secret, token, now)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Parse error %v does not wrap ErrInvalidToken", err)
			}
			if c != (Claims{}) {
				t.Fatalf("refused token returned claims %+v", c)
			}
			return
		}
		checkAccepted(t, token, c)
	})
}

// FuzzParseSigned signs arbitrary header and payload JSON with the right
// secret, so that the fuzzer explores the claim checks behind the signature
// check: an accepted token always says HS256, names a subject and a known
// role, and has not expired.
func FuzzParseSigned(f *testing.F) {
	exp := now.Add(time.Hour).Unix()
	hs256 := `{"alg":"HS256","typ":"JWT"}`
	for _, s := range []struct{ header, payload string }{
		{hs256, `{"sub":"agent-7","role":"agent","exp":` + itoa(exp) + `}`},
		{hs256, `{"sub":"a","role":"admin","exp":` + itoa(exp) + `,"nbf":` + itoa(now.Add(time.Minute).Unix()) + `}`},
		{hs256, `{"sub":"a","role":"auditor","exp":` + itoa(now.Add(-time.Minute).Unix()) + `}`},
		{hs256, `{"sub":"a","role":"customer","exp":` + itoa(exp) + `}`},
		{hs256, `{"sub":"","role":"service","exp":` + itoa(exp) + `}`},
		{hs256, `{"sub":"a","role":"service","exp":"tomorrow"}`},
		{hs256, `{"sub":7,"role":"service","exp":` + itoa(exp) + `}`},
		{hs256, `{"sub":"a","role":"service","exp":1e400}`},
		{hs256, `{"sub":"a","role":["admin"],"exp":` + itoa(exp) + `}`},
		{hs256, `{"sub":"a","role":"admin","exp":` + itoa(exp) + `,"aud":["x"],"iat":-1}`},
		{`{"alg":"none"}`, `{"sub":"a","role":"admin","exp":` + itoa(exp) + `}`},
		{`{"alg":"HS512"}`, `{"sub":"a","role":"admin","exp":` + itoa(exp) + `}`},
		{`{"alg":"RS256","kid":"../../etc/passwd"}`, `{"sub":"a","role":"admin","exp":` + itoa(exp) + `}`},
		{`{}`, `{}`},
		{`null`, `null`},
	} {
		f.Add(s.header, s.payload)
	}
	f.Fuzz(func(t *testing.T, header, payload string) {
		token := signHS256(header, payload)
		c, err := Parse(secret, token, now)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Parse error %v does not wrap ErrInvalidToken", err)
			}
			return
		}
		var h struct {
			Alg string `json:"alg"`
		}
		if json.Unmarshal([]byte(header), &h) != nil || h.Alg != "HS256" {
			t.Fatalf("accepted a token whose header is %q", header)
		}
		checkAccepted(t, token, c)
	})
}

// FuzzMintParse: whatever Mint agrees to sign, Parse gives back unchanged.
func FuzzMintParse(f *testing.F) {
	f.Add("agent-7", uint8(1), int64(3600))
	f.Add("ü\u2028\x00", uint8(3), int64(1))
	f.Add("", uint8(0), int64(60))
	f.Add(strings.Repeat("x", 300), uint8(2), int64(MaxTTL/time.Second))
	f.Fuzz(func(t *testing.T, sub string, roleIdx uint8, ttlSeconds int64) {
		role := kyc.Role("unknown")
		if int(roleIdx) < len(Roles) {
			role = Roles[roleIdx]
		}
		ttl := time.Duration(ttlSeconds) * time.Second
		tok, err := Mint(secret, sub, role, ttl, now)
		if err != nil {
			return
		}
		c, err := Parse(secret, tok, now)
		if err != nil {
			t.Fatalf("Parse of a minted token (sub %q, role %s, ttl %s): %v", sub, role, ttl, err)
		}
		if c.Subject != sub || c.Role != role || !c.ExpiresAt.Equal(now.Add(ttl).Truncate(time.Second)) {
			t.Fatalf("claims %+v, minted sub %q role %s ttl %s", c, sub, role, ttl)
		}
		if _, err := Parse([]byte("another-secret-of-16+-bytes"), tok, now); err == nil {
			t.Fatal("a token verified with another secret")
		}
	})
}

func checkAccepted(t *testing.T, token string, c Claims) {
	t.Helper()
	if c.Subject == "" || !ValidRole(c.Role) {
		t.Fatalf("accepted claims %+v", c)
	}
	if c.ExpiresAt.Before(now.Add(-5 * time.Second)) {
		t.Fatalf("accepted a token that expired at %s", c.ExpiresAt)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("accepted %q, which is not three parts", token)
	}
	if signHS256Raw(parts[0]+"."+parts[1]) != parts[2] {
		// The library accepts padded or re-encoded signatures only if
		// they decode to ours; compare the bytes.
		got, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
		want, _ := base64.RawURLEncoding.DecodeString(signHS256Raw(parts[0] + "." + parts[1]))
		if err != nil || !hmac.Equal(got, want) {
			t.Fatalf("accepted %q without our signature", token)
		}
	}
}

func signHS256(header, payload string) string {
	signing := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return signing + "." + signHS256Raw(signing)
}

func signHS256Raw(signing string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signing))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
