package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	temporallog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWorkerMetricsAndHealth: a worker with the SDK's metrics handler,
// against the real Temporal dev server, serves the SDK's metrics on
// /metrics, and /healthz and /readyz with the failing check named.
func TestWorkerMetricsAndHealth(t *testing.T) {
	addr := testenv.Temporal(t)
	log := slog.New(slog.DiscardHandler)
	m, err := NewMetrics(log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = m.Close(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tc, err := client.DialContext(ctx, client.Options{HostPort: addr, MetricsHandler: m.Handler, Logger: temporallog.NewStructuredLogger(log)})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	queue := testenv.RandomName("worker-")
	w := worker.New(tc, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) { return "done", nil }, workflow.RegisterOptions{Name: "WorkerAppProbe"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, "WorkerAppProbe")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}

	failing := errors.New("the bucket is gone")
	base, _, err := Serve(ctx, "127.0.0.1:0", m, map[string]Check{
		"temporal": func(ctx context.Context) error {
			_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
		"object_storage": func(context.Context) error { return failing },
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	base = "http://" + base
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz %d", code)
	}
	code, body := get(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"object_storage":"down"`) || !strings.Contains(body, `"temporal":"ok"`) ||
		strings.Contains(body, failing.Error()) {
		t.Fatalf("/readyz %d %s", code, body)
	}
	// The SDK counts a completed workflow after the server has accepted the
	// completion, so run.Get can return before the counter moves: read
	// /metrics until every series is there or the deadline passes.
	wants := []string{"temporal_workflow_completed", "temporal_workflow_task_execution_latency", "temporal_request", `task_queue="` + queue + `"`, "go_goroutines"}
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, body = get(t, base+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics %d", code)
		}
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(body, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range missing {
		t.Errorf("/metrics lacks %s", want)
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
