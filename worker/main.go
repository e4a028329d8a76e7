// Command worker runs the Temporal worker of the case engine: the KYC case
// workflow and its activities (100ms, the database, object storage) on the
// configured task queue. Configuration is environment variables only (see
// internal/platform/config). SIGTERM or SIGINT stops polling and lets running
// activities finish for up to workflows.StopTimeout.
package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	temporallog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/case/maintenance"
	"github.com/vkyc-engine/vkyc/internal/platform/backends"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
	"github.com/vkyc-engine/vkyc/workflows"
)

// startupTimeout bounds connecting to the database, the bucket and Temporal:
// a dependency that does not answer by then is reported instead of waited on
// forever, and the supervisor (compose, Kubernetes, make dev) restarts us.
const startupTimeout = time.Minute

func main() { backends.Main("worker", startupTimeout, run) }

func run(ctx, startCtx context.Context, p *backends.Program) error {
	cfg, log, st, bs, hc := p.Config, p.Log, p.Store, p.Blob, p.HMS

	opts, err := cfg.TemporalClientOptions()
	if err != nil {
		return err
	}
	opts.Logger = temporallog.NewStructuredLogger(log.With("component", "temporal"))
	metrics, err := NewMetrics(log)
	if err != nil {
		return err
	}
	defer func() { _ = metrics.Close(context.Background()) }()
	opts.MetricsHandler = metrics.Handler
	tc, err := client.DialContext(startCtx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s (namespace %s): %w", cfg.Temporal.Address, cfg.Temporal.Namespace, err)
	}
	defer tc.Close()

	w := worker.New(tc, cfg.Temporal.TaskQueue, workflows.WorkerOptions())
	workflows.RegisterWorker(w, &activities.Activities{
		HMS: hc, Store: st, Blob: bs, TemplateID: cfg.HMS.TemplateID, Logger: log, Temporal: tc, Payloads: opts.DataConverter,
	})
	maintenance.Register(w, &maintenance.Activities{
		Store: st, HMS: hc, Temporal: tc, TaskQueue: cfg.Temporal.TaskQueue, Cases: cfg.CaseDefaults(),
		Retention: maintenance.Retention{
			Idempotency: cfg.Maintenance.IdempotencyRetention, WebhookBodies: cfg.Maintenance.WebhookBodyRetention,
		},
		Logger: log,
	})
	if err := maintenance.EnsureSchedules(startCtx, tc, cfg.Temporal.TaskQueue, maintenance.Intervals{
		Reconcile: cfg.Maintenance.ReconcileInterval, Purge: cfg.Maintenance.PurgeInterval,
	}); err != nil {
		return fmt.Errorf("maintenance schedules: %w", err)
	}

	if cfg.WorkerHTTPAddr != config.WorkerHTTPOff {
		addr, _, err := Serve(ctx, cfg.WorkerHTTPAddr, metrics, map[string]Check{
			"temporal": func(ctx context.Context) error {
				_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
				return err
			},
			"postgres":       st.Ping,
			"object_storage": bs.Ping,
		}, log)
		if err != nil {
			return fmt.Errorf("worker http (%s): %w", config.EnvWorkerHTTPAddr, err)
		}
		log.Info("worker http listening", "addr", addr, "paths", "/metrics /healthz /readyz")
	}

	log.Info("worker starting",
		"temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace, "task_queue", cfg.Temporal.TaskQueue,
		"database", st.Dialect(), "bucket", bs.Bucket(), "sse", bs.SSEEnabled(),
		"hms", hc.BaseURL(), "hms_simulated", cfg.HMS.Simulated, "template_id", cfg.HMS.TemplateID)

	// Run returns when interrupt closes (after Stop has drained the running
	// tasks) or when the worker fails for good, e.g. an unknown namespace.
	interrupt := make(chan any)
	go func() {
		<-ctx.Done()
		log.Info("stop signal received; draining running activities", "timeout", workflows.StopTimeout)
		close(interrupt)
	}()
	if err := w.Run(interrupt); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	log.Info("worker stopped")
	return nil
}
