package workflows_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/codec"
	"github.com/vkyc-engine/vkyc/workflows"
)

// TestReplayRecordedHistories replays every history in testdata/, recorded
// from real runs on the Temporal dev server by the end-to-end tests, against
// the current workflow code. Cases run for days, so a worker with new code
// replays histories written by the old one; a change that makes the workflow
// issue other commands (activities, timers, local activities, search
// attribute upserts, in another order) fails here instead of blocking running
// cases in production. Such a change needs workflow.GetVersion. Every *.json
// here is replayed, so when the recordings are refreshed (see TestEndToEnd)
// while cases of the old code may still be open, keep the old files under
// another name: they are what guards those cases.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{historyApproved, historyDroppedCall} {
		if !slices.Contains(files, filepath.Join("testdata", name)) {
			t.Errorf("testdata/%s is missing: record it with VKYC_RECORD_HISTORY=1 (see TestEndToEnd)", name)
		}
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			replayHistory(t, file, false)
		})
		// The same history with every payload sealed by the codec, as the
		// worker and the API write them (search attributes stay clear):
		// replay must open them through the codec data converter.
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json")+"-sealed", func(t *testing.T) {
			replayHistory(t, file, true)
		})
	}
}

// replayDataConverter is the data converter replay runs with: the one the
// worker uses (internal/platform/codec), with the development key that sealed the
// recordings (TestEndToEnd records through it). Plain payloads of older
// recordings pass through it unchanged.
func replayDataConverter() converter.DataConverter {
	return codec.DataConverter(codec.DevKeyring())
}

// seal encrypts every payload of a history but its search attributes.
func seal(t *testing.T, hist *historypb.History) {
	t.Helper()
	c := codec.DevKeyring().Codec()
	sealed := 0
	err := proxy.VisitPayloads(context.Background(), hist, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			sealed += len(ps)
			return c.Encode(ps)
		},
	})
	if err != nil || sealed == 0 {
		t.Fatalf("seal the history: %d payloads, %v", sealed, err)
	}
}

func replayHistory(t *testing.T, file string, sealed bool) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if sealed {
		seal(t, hist)
		// Without the codec the sealed history cannot replay at all: the
		// sealed variant really goes through it.
		plain, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		workflows.Register(plain)
		quiet := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
		if err := plain.ReplayWorkflowHistory(quiet, hist); err == nil {
			t.Fatal("a sealed history replayed without the codec")
		}
	}
	recorded := recordedResult(t, file, hist)

	result := &resultCatcher{}
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		Interceptors:  []interceptor.WorkerInterceptor{result},
		DataConverter: replayDataConverter(),
	})
	if err != nil {
		t.Fatal(err)
	}
	workflows.Register(r) // the name and function the worker registers
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := r.ReplayWorkflowHistory(logger, hist); err != nil {
		t.Fatalf("%s does not replay on the current workflow code: %v", file, err)
	}
	replayed, ok := result.value.(kyc.CaseView)
	if !ok || result.err != nil {
		t.Fatalf("%s: replay returned %T, %v", file, result.value, result.err)
	}
	// The SDK compares commands only. The case's event log is made in
	// workflow state and leaves through SaveCase's local activity, whose
	// input replay does not compare; a change that records other events on
	// the same commands would give running cases sequence numbers that are
	// already stored with other content, and stall their log.
	if got, want := outcome(replayed), outcome(recorded); got != want {
		t.Fatalf("%s replays to another case:\n got  %s\n want %s", file, got, want)
	}
	t.Logf("replayed %d events to: %s", len(hist.GetEvents()), outcome(replayed))
}

// recordedResult is the view the recorded run returned; a recording must be
// of a finished run, or replay would not reach the workflow's end.
func recordedResult(t *testing.T, file string, hist *historypb.History) kyc.CaseView {
	t.Helper()
	events := hist.GetEvents()
	if len(events) == 0 {
		t.Fatalf("%s holds no events", file)
	}
	last := events[len(events)-1]
	if last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		t.Fatalf("%s ends with %s, not a completed run", file, last.GetEventType())
	}
	var v kyc.CaseView
	res := last.GetWorkflowExecutionCompletedEventAttributes().GetResult()
	if err := replayDataConverter().FromPayloads(res, &v); err != nil {
		t.Fatalf("%s: recorded result: %v", file, err)
	}
	return v
}

// outcome is what replay must reproduce: the status and how the case got
// there, and the length of its event log.
func outcome(v kyc.CaseView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) at event %d;", v.Status, v.StatusReason, v.Version)
	for _, a := range v.Attempts {
		fmt.Fprintf(&b, " attempt %d %s in %s: %s (%s);", a.Number, a.RoomName, a.RoomID, a.Status, a.EndReason)
	}
	fmt.Fprintf(&b, " recording %s %s", v.Recording.Status, v.Recording.Path)
	return b.String()
}

// resultCatcher keeps what the replayed workflow function returned; the
// replayer itself only checks that the run completed.
type resultCatcher struct {
	interceptor.WorkerInterceptorBase
	value any
	err   error
}

func (c *resultCatcher) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &resultInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, c: c}
}

type resultInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	c *resultCatcher
}

func (i *resultInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	v, err := i.Next.ExecuteWorkflow(ctx, in)
	i.c.value, i.c.err = v, err
	return v, err
}
