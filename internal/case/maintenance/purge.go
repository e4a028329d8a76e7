package maintenance

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Retention is how long data kept only for a while is kept.
type Retention struct {
	// Idempotency is how long a saved answer to an Idempotency-Key is
	// replayed; after it a retry with the key is a new request.
	Idempotency time.Duration
	// WebhookBodies is how long the raw body of a settled 100ms webhook is
	// kept; the inbox row with its outcome stays.
	WebhookBodies time.Duration
}

// PurgeReport says how much one round removed.
type PurgeReport struct {
	IdempotencyKeys int64 `json:"idempotency_keys"`
	WebhookBodies   int64 `json:"webhook_bodies"`
}

// Purge is the workflow the purge schedule starts: one round.
func Purge(ctx workflow.Context) (PurgeReport, error) {
	return oneRound[PurgeReport](ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 5},
	}, (*Activities).PurgeExpired)
}

// PurgeExpired deletes idempotency records and empties webhook bodies past
// their retention. Both are idempotent: a retried round finds less to do.
func (a *Activities) PurgeExpired(ctx context.Context) (PurgeReport, error) {
	var r PurgeReport
	now := time.Now()
	n, err := a.Store.PurgeIdempotentResponses(ctx, now.Add(-a.Retention.Idempotency))
	if err != nil {
		return r, err
	}
	r.IdempotencyKeys = n
	if r.WebhookBodies, err = a.Store.PurgeWebhookBodies(ctx, now.Add(-a.Retention.WebhookBodies)); err != nil {
		return r, err
	}
	if r.IdempotencyKeys+r.WebhookBodies > 0 {
		a.log().InfoContext(ctx, "purged", "idempotency_keys", r.IdempotencyKeys, "webhook_bodies", r.WebhookBodies)
	}
	return r, nil
}
