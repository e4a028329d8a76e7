// Package activities holds the case workflow's side effects: 100ms rooms and
// recordings, recording verification in our bucket, and saving the case's
// events and projection. Every activity is idempotent, so Temporal may retry
// any of them freely, and classifies its errors so that the retry policies
// of options.go retry what can succeed and stop on what cannot.
package activities

import (
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// Activities are registered on the worker with worker.RegisterActivity(a);
// their Temporal names are the method names.
type Activities struct {
	HMS        *hms.Client
	Store      *store.Store
	Blob       *blob.Store
	TemplateID string
	Logger     *slog.Logger
	// Temporal reads workflow histories (who cancelled a case) and the
	// state of case workflows (the reconciler).
	Temporal client.Client
	// Payloads decodes payloads read from histories; it must be the data
	// converter of Temporal (with the payload codec). Nil: the default.
	Payloads converter.DataConverter
}

func (a *Activities) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
