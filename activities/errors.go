package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
)

// hmsError turns a 100ms client error into an application error the retry
// policy understands: permanent ones stop at once, transient ones are retried
// no sooner than 100ms's Retry-After. The client's errors carry method, path
// and status, never tokens.
func hmsError(op string, err error) error {
	msg := fmt.Sprintf("%s: %v", op, err)
	if errors.Is(err, context.Canceled) || !hms.IsRetryable(err) {
		return temporal.NewNonRetryableApplicationError(msg, ErrHMSPermanent, err)
	}
	return temporal.NewApplicationErrorWithOptions(msg, ErrHMSTransient, temporal.ApplicationErrorOptions{
		Cause:          err,
		NextRetryDelay: hms.RetryAfterOf(err),
	})
}
