package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/workflows"
)

// The baseline of the case scenarios: a bare workflow that walks a script of
// activities, local activities, signals and updates, each doing no work.
// Scenario 1 gives it the KYC procedure's minimal shape (minimalShape),
// written from the domain rather than read from the engine's history.

const (
	bareWorkflowName = "BenchBareCase"
	bareActivityName = "BenchNoop"
	bareSignal       = "bench-signal"
	bareUpdate       = "bench-update"
)

// Script steps.
const (
	stepActivity = 'A'
	stepLocal    = 'L'
	stepSignal   = 'S'
	stepUpdate   = 'U'
)

type scriptCounts struct {
	Activities      int `json:"activities"`
	LocalActivities int `json:"local_activities"`
	Signals         int `json:"signals"`
	Updates         int `json:"updates"`
}

func countScript(script string) scriptCounts {
	return scriptCounts{
		Activities: strings.Count(script, string(stepActivity)), LocalActivities: strings.Count(script, string(stepLocal)),
		Signals: strings.Count(script, string(stepSignal)), Updates: strings.Count(script, string(stepUpdate)),
	}
}

// bareCase walks the script: activity steps run one after the other;
// message steps wait until that many signals or updates have arrived, which
// the handlers count as they come.
func bareCase(ctx workflow.Context, script string) error {
	signals, updates := 0, 0
	if err := workflow.SetUpdateHandler(ctx, bareUpdate, func(ctx workflow.Context) (int, error) {
		updates++
		return updates, nil
	}); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, bareSignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			ch.Receive(ctx, nil)
			signals++
		}
	})
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 15 * time.Second})
	wantS, wantU := 0, 0
	for _, step := range script {
		var err error
		switch step {
		case stepActivity:
			err = workflow.ExecuteActivity(actx, bareActivityName).Get(ctx, nil)
		case stepLocal:
			err = workflow.ExecuteLocalActivity(lctx, bareNoop).Get(ctx, nil)
		case stepSignal:
			wantS++
			err = workflow.Await(ctx, func() bool { return signals >= wantS })
		case stepUpdate:
			wantU++
			err = workflow.Await(ctx, func() bool { return updates >= wantU })
		}
		if err != nil {
			return err
		}
	}
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

func bareNoop(context.Context) error { return nil }

// The probe is the baseline of scenario 3: a bare workflow that counts
// signals (visible through a query) and answers updates at once.
const (
	probeWorkflowName = "BenchProbe"
	probeQuery        = "signals"
	probeMaxSignals   = 5000
)

func probeWorkflow(ctx workflow.Context) error {
	signals := 0
	if err := workflow.SetQueryHandler(ctx, probeQuery, func() (int, error) { return signals, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, bareUpdate, func(workflow.Context) (int, error) { return signals, nil }); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, bareSignal)
	for signals < probeMaxSignals {
		ch.Receive(ctx, nil)
		signals++
	}
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// engineConnection is the engine's default gRPC setting (no compression,
// TEMPORAL_GRPC_COMPRESSION=none), so that the baselines' Temporal calls
// cost what the engine's do.
func engineConnection() client.ConnectionOptions {
	return client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}}
}

// runBareWorker is the `-role bare-worker` child process: a worker of the
// bare workflow with the engine's worker options, in a process of its own so
// that its memory is measured like the engine worker's.
func runBareWorker(address, namespace, taskQueue string) error {
	tc, err := client.Dial(client.Options{HostPort: address, Namespace: namespace, ConnectionOptions: engineConnection()})
	if err != nil {
		return fmt.Errorf("connect to Temporal: %w", err)
	}
	defer tc.Close()
	w := worker.New(tc, taskQueue, workflows.WorkerOptions())
	w.RegisterWorkflowWithOptions(bareCase, workflow.RegisterOptions{Name: bareWorkflowName})
	w.RegisterWorkflowWithOptions(probeWorkflow, workflow.RegisterOptions{Name: probeWorkflowName})
	w.RegisterActivityWithOptions(bareNoop, activity.RegisterOptions{Name: bareActivityName})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	interrupt := make(chan any)
	go func() {
		<-ctx.Done()
		close(interrupt)
	}()
	return w.Run(interrupt)
}

// historyOf counts a finished workflow's history events by type: what the
// Temporal server stores and replays per case.
func historyOf(ctx context.Context, tc client.Client, workflowID string) (map[string]int, error) {
	out := map[string]int{}
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		out[strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")]++
		out["TOTAL"]++
	}
	// The size Temporal accounts for the history, as `temporal workflow
	// describe` shows it.
	if d, err := tc.DescribeWorkflow(ctx, workflowID, ""); err == nil {
		out["SIZE_BYTES"] = int(d.RawResponse.GetWorkflowExecutionInfo().GetHistorySizeBytes())
	}
	return out, nil
}

// writeTimeline writes a workflow's history as "offset ms  event type  id"
// lines, to see where a slow case waited.
func writeTimeline(ctx context.Context, tc client.Client, workflowID, path string) error {
	var b strings.Builder
	var first time.Time
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return err
		}
		t := ev.GetEventTime().AsTime()
		if first.IsZero() {
			first = t
		}
		fmt.Fprintf(&b, "%9.1f  %-45s %d\n", ms(t.Sub(first)), strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_"), ev.GetEventId())
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func bareStartOptions(id, taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: id, TaskQueue: taskQueue,
		// Open baselines must not outlive the benchmark on a shared server.
		WorkflowExecutionTimeout: 2 * time.Hour,
	}
}

// runBare drives one bare case: start, then each message of the script in
// order (updates wait for their result, as the API does), and ends at the
// last message's answer, as a driven case ends at the audit's answer.
func runBare(ctx context.Context, tc client.Client, taskQueue, id, script string) error {
	if _, err := tc.ExecuteWorkflow(ctx, bareStartOptions(id, taskQueue), bareWorkflowName, script); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	n := 0
	for _, step := range script {
		switch step {
		case stepSignal:
			if err := tc.SignalWorkflow(ctx, id, "", bareSignal, nil); err != nil {
				return fmt.Errorf("signal: %w", err)
			}
		case stepUpdate:
			n++
			h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
				WorkflowID: id, UpdateName: bareUpdate, UpdateID: fmt.Sprintf("u%d", n),
				WaitForStage: client.WorkflowUpdateStageCompleted,
			})
			if err == nil {
				err = h.Get(ctx, nil)
			}
			if err != nil {
				return fmt.Errorf("update %d: %w", n, err)
			}
		}
	}
	return nil
}

// bareWorkerMain is main for `-role bare-worker`; the parent passes where
// to connect in the environment.
func bareWorkerMain() {
	addr, ns, tq := os.Getenv("BENCH_TEMPORAL_ADDRESS"), os.Getenv("BENCH_TEMPORAL_NAMESPACE"), os.Getenv("BENCH_TASK_QUEUE")
	if err := runBareWorker(addr, ns, tq); err != nil {
		fmt.Fprintln(os.Stderr, "bare worker:", err)
		os.Exit(1)
	}
}
