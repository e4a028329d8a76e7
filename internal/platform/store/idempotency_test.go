package store

import (
	"errors"
	"testing"
	"time"
)

func TestIdempotentResponses(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		if _, _, _, found, err := s.IdempotentResponse(ctx, "decision", "k-1"); err != nil || found {
			t.Fatalf("before save: found=%v err=%v", found, err)
		}
		body := []byte(`{"status":"approved"}`)
		if err := s.SaveIdempotentResponse(ctx, "decision", "k-1", "h-1", 202, body); err != nil {
			t.Fatalf("save: %v", err)
		}
		// A second save for the same request keeps the first response.
		if err := s.SaveIdempotentResponse(ctx, "decision", "k-1", "h-1", 500, []byte("other")); err != nil {
			t.Fatalf("save again: %v", err)
		}
		if err := s.SaveIdempotentResponse(ctx, "decision", "k-1", "h-2", 202, body); !errors.Is(err, ErrIdempotencyConflict) {
			t.Fatalf("save with another request hash: %v", err)
		}
		// Scopes are separate key spaces.
		if err := s.SaveIdempotentResponse(ctx, "audit", "k-1", "h-9", 409, nil); err != nil {
			t.Fatalf("save in another scope: %v", err)
		}

		tests := []struct {
			scope, key string
			hash       string
			status     int
			body       string
			found      bool
		}{
			{"decision", "k-1", "h-1", 202, string(body), true},
			{"audit", "k-1", "h-9", 409, "", true},
			{"cancel", "k-1", "", 0, "", false},
			{"decision", "k-2", "", 0, "", false},
		}
		for _, tt := range tests {
			hash, status, got, found, err := s.IdempotentResponse(ctx, tt.scope, tt.key)
			if err != nil || found != tt.found || hash != tt.hash || status != tt.status || string(got) != tt.body {
				t.Errorf("%s/%s = %q %d %q found=%v err=%v", tt.scope, tt.key, hash, status, got, found, err)
			}
		}

		if err := s.SaveIdempotentResponse(ctx, "", "k", "h", 200, nil); !errors.Is(err, ErrInvalid) {
			t.Fatalf("empty scope: %v", err)
		}

		mustExec(t, s, "UPDATE idempotency_keys SET created_at = ? WHERE scope = ?", t0, "audit")
		n, err := s.PurgeIdempotentResponses(ctx, time.Now().Add(-time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("purge = %d, %v; want the one old response", n, err)
		}
		if _, _, _, found, _ := s.IdempotentResponse(ctx, "audit", "k-1"); found {
			t.Fatal("purged response still found")
		}
		if _, _, _, found, _ := s.IdempotentResponse(ctx, "decision", "k-1"); !found {
			t.Fatal("recent response purged")
		}
	})
}
