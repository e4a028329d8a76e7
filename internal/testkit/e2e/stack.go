// Package e2e runs the engine as its users do: the API, the worker and the
// 100ms simulator as separate processes built from this repository
// (internal/testkit/stack), against the real PostgreSQL, MinIO and Temporal
// dev server of internal/testkit/testenv. Tests drive cases over HTTP only.
package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/testkit/stack"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// Secrets the stack runs with. They are test values, and the log checks
// search the processes' output for them.
//
// #nosec G101 -- throwaway values of the test stack, never used elsewhere.
const (
	AuthSecret    = "e2e-api-jwt-secret-0123456789abcdef"
	HMSAccessKey  = "e2e-access-key"
	HMSAppSecret  = "e2e-app-secret-0123456789abcdef"
	WebhookHeader = "X-Vkyc-Webhook-Secret"
	WebhookSecret = "e2e-webhook-secret-0123456789"
	// OIDCPassword is the password of the identity provider's users.
	OIDCPassword = "e2e-idp-password"
)

// Options adjust a stack.
type Options struct {
	// Env is added to every program's environment (e.g. case timeouts).
	Env map[string]string
	// OIDC starts the development OpenID Connect provider and points the
	// API's single sign-on at it (OIDCBase).
	OIDC bool
}

// Stack is one running engine with its own database, bucket and task queue.
type Stack struct {
	*stack.Engine
	Bucket, TaskQueue, TemporalAddress string
	S3                                 testenv.S3
	// DatabaseURL is the stack's own PostgreSQL database, for tests that
	// check or arrange rows directly.
	DatabaseURL string
}

// Start builds the programs if needed and starts worker, API and simulator.
func Start(t testing.TB, o Options) *Stack {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	svc := testenv.ForTest(t)
	s := &Stack{Bucket: testenv.RandomName("e2e-"), TaskQueue: testenv.RandomName("e2e-q-"),
		TemporalAddress: svc.Temporal, S3: svc.S3, DatabaseURL: testenv.Postgres(t)}
	ctx := Context(t, 5*time.Minute)
	s.Engine, err = stack.NewEngine(ctx, stack.Config{
		Root: root, Dir: t.TempDir(), Services: svc, DatabaseURL: s.DatabaseURL, Bucket: s.Bucket, TaskQueue: s.TaskQueue,
		Secrets: stack.Secrets{Auth: AuthSecret, HMSAccessKey: HMSAccessKey, HMSAppSecret: HMSAppSecret,
			WebhookHeader: WebhookHeader, WebhookSecret: WebhookSecret},
		Env: o.Env, OIDC: o.OIDC, OIDCPassword: OIDCPassword,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			t.Log(s.Tails(6000))
		}
	})
	if err := s.StartAll(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// HasAny reports which of needles occur in haystack.
func HasAny(haystack string, needles ...string) []string {
	var found []string
	for _, n := range needles {
		if n != "" && strings.Contains(haystack, n) {
			found = append(found, n)
		}
	}
	return found
}
