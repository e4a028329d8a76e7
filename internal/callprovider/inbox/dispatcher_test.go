package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	temporallog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/callprovider/inbox"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
	"github.com/vkyc-engine/vkyc/workflows"
)

// recorder stands in for the case workflow at the workflow id of a case: it
// keeps every event of the hms-events signals it receives, in order, and
// answers them to a query. The dispatcher's contract is exactly that signal, so the real case
// workflow (tested in its package and through the API) is not needed here.
func recorder(ctx workflow.Context) error {
	var got []workflows.HMSEvent
	if err := workflow.SetQueryHandler(ctx, "events", func() ([]workflows.HMSEvent, error) { return got, nil }); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, workflows.SignalHMSEvents)
	for {
		var evs []workflows.HMSEvent
		ch.Receive(ctx, &evs)
		got = append(got, evs...)
		if slices.ContainsFunc(evs, func(ev workflows.HMSEvent) bool { return ev.Type == "test.finish" }) {
			return nil
		}
	}
}

const recorderName = "InboxTestRecorder"

type fixture struct {
	t       *testing.T
	st      *store.Store
	tc      client.Client
	queue   string
	log     *slog.Logger
	started []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, testenv.Postgres(t), store.WithLogger(log))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	addr := testenv.Temporal(t)
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	tc, err := client.DialContext(dctx, client.Options{HostPort: addr, Logger: temporallog.NewStructuredLogger(log)})
	if err != nil {
		t.Fatalf("dial Temporal: %v", err)
	}
	t.Cleanup(tc.Close)
	f := &fixture{t: t, st: st, tc: tc, queue: testenv.RandomName("inbox-test-"), log: log}
	t.Cleanup(func() {
		for _, id := range f.started {
			_ = tc.TerminateWorkflow(context.Background(), kyc.WorkflowID(id), "", "test finished")
		}
	})
	w := worker.New(tc, f.queue, worker.Options{})
	w.RegisterWorkflowWithOptions(recorder, workflow.RegisterOptions{Name: recorderName})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return f
}

// caseRow records a new case in the store, as the API does before it
// starts the case's workflow.
func (f *fixture) caseRow() string {
	f.t.Helper()
	id := uuid.NewString()
	if _, _, err := f.st.CreateCase(context.Background(), store.NewCase{ID: id, Customer: kyc.Customer{Reference: "REF-" + id[:8]}}); err != nil {
		f.t.Fatalf("create case row: %v", err)
	}
	return id
}

// startCase runs a recorder under the workflow id of a new case.
func (f *fixture) startCase() string {
	f.t.Helper()
	id := f.caseRow()
	_, err := f.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: kyc.WorkflowID(id), TaskQueue: f.queue, WorkflowExecutionTimeout: 5 * time.Minute,
	}, recorderName)
	if err != nil {
		f.t.Fatalf("start recorder: %v", err)
	}
	f.started = append(f.started, id)
	return id
}

// received queries what the case's recorder got.
func (f *fixture) received(caseID string) []workflows.HMSEvent {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := f.tc.QueryWorkflow(ctx, kyc.WorkflowID(caseID), "", "events")
	if err != nil {
		f.t.Fatalf("query: %v", err)
	}
	var evs []workflows.HMSEvent
	if err := resp.Get(&evs); err != nil {
		f.t.Fatal(err)
	}
	return evs
}

// event is a 100ms webhook body for room of the case (attempt 1).
func event(id, typ, room string, extra map[string]any) []byte {
	data := map[string]any{
		"room_id": "66aa00000000000000000001", "room_name": room, "session_id": "66aa00000000000000000009",
		"peer_id": "peer-" + id, "user_id": "customer-x", "user_name": "Asha Rao", "user_data": `{"pan":"ABCDE1234F"}`,
		"role": "customer", "joined_at": "2026-01-02T03:04:05.123Z",
	}
	for k, v := range extra {
		data[k] = v
	}
	b, _ := json.Marshal(map[string]any{
		"version": "2.0", "id": id, "account_id": "acc", "app_id": "app", "timestamp": "2026-01-02T03:04:06Z",
		"type": typ, "data": data,
	})
	return b
}

func (f *fixture) insert(id, typ, caseID string, body []byte) {
	f.t.Helper()
	room := ""
	if caseID != "" {
		room = kyc.RoomName(caseID, 1)
	}
	if _, err := f.st.InboxInsert(context.Background(), store.InboxRow{EventID: id, Type: typ, RoomName: room, CaseID: caseID, Body: body}); err != nil {
		f.t.Fatalf("insert %s: %v", id, err)
	}
}

func (f *fixture) run(tc client.Client, opts inbox.Options) (*inbox.Dispatcher, func()) {
	f.t.Helper()
	d := inbox.New(f.st, tc, f.log, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				f.t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			f.t.Error("Run did not return after its context ended")
		}
	}
	f.t.Cleanup(func() { cancel() })
	return d, stop
}

func (f *fixture) state(id string) store.InboxRow {
	f.t.Helper()
	r, err := f.st.InboxGet(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return *r
}

func (f *fixture) waitState(id string, want store.InboxState) store.InboxRow {
	f.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := f.state(id)
		if r.State == want {
			return r
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("row %s is %s (%q), want %s", id, r.State, r.LastError, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fast() inbox.Options {
	return inbox.Options{PollInterval: 50 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, SignalTimeout: time.Second}
}

func TestDeliversInInboxOrderWithoutPII(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b := f.startCase(), f.startCase()
	var ids []string
	for i := range 5 {
		for _, c := range []string{a, b} {
			id := fmt.Sprintf("%s-ev-%d", c[:8], i)
			f.insert(id, "peer.join.success", c, event(id, "peer.join.success", kyc.RoomName(c, 1), nil))
			ids = append(ids, id)
		}
	}
	_, stop := f.run(f.tc, fast())
	defer stop()
	for _, id := range ids {
		f.waitState(id, store.InboxDone)
	}
	for _, c := range []string{a, b} {
		got := f.received(c)
		var order []string
		for _, ev := range got {
			order = append(order, ev.ID)
		}
		want := []string{}
		for i := range 5 {
			want = append(want, fmt.Sprintf("%s-ev-%d", c[:8], i))
		}
		if !slices.Equal(order, want) {
			t.Fatalf("case %s got %v, want %v", c, order, want)
		}
		ev := got[0]
		if ev.Type != "peer.join.success" || ev.Role != "customer" || ev.RoomName != kyc.RoomName(c, 1) ||
			ev.SessionID == "" || ev.PeerID == "" || ev.UserID != "customer-x" {
			t.Fatalf("converted event %+v", ev)
		}
		if want := time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC); !ev.At.Equal(want) {
			t.Fatalf("event time %s, want the join time %s", ev.At, want)
		}
		raw, _ := json.Marshal(got)
		for _, pii := range []string{"Asha", "ABCDE1234F", "user_name", "user_data"} {
			if strings.Contains(string(raw), pii) {
				t.Fatalf("the signal carried %q: %s", pii, raw)
			}
		}
	}
}

func TestIgnoresUnknownRoomsAndFinishedCases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.insert("foreign", "peer.join.success", "", event("foreign", "peer.join.success", "team-standup", nil))
	unknown := uuid.NewString() // no case row: ignored without a signal
	f.insert("unknown", "peer.join.success", unknown, event("unknown", "peer.join.success", kyc.RoomName(unknown, 1), nil))
	gone := f.caseRow() // a case row whose workflow never started
	f.insert("orphan", "peer.join.success", gone, event("orphan", "peer.join.success", kyc.RoomName(gone, 1), nil))
	f.insert("orphan-2", "peer.leave.success", gone, event("orphan-2", "peer.leave.success", kyc.RoomName(gone, 1), nil))
	done := f.startCase()
	f.insert("finish", "test.finish", done, event("finish", "test.finish", kyc.RoomName(done, 1), nil))

	_, stop := f.run(f.tc, fast())
	defer stop()
	if r := f.waitState("foreign", store.InboxIgnored); !strings.Contains(r.LastError, "not a KYC") {
		t.Fatalf("foreign room row: %+v", r)
	}
	if r := f.waitState("unknown", store.InboxIgnored); r.LastError != "no such case" {
		t.Fatalf("unknown case row: %+v", r)
	}
	if r := f.waitState("orphan-2", store.InboxIgnored); !strings.Contains(r.LastError, "not found") {
		t.Fatalf("second orphan row: %+v", r)
	}
	if r := f.waitState("orphan", store.InboxIgnored); !strings.Contains(r.LastError, "not found") {
		t.Fatalf("orphan row: %+v", r)
	}
	f.waitState("finish", store.InboxDone)
	// The recorder has completed: a late event for it is ignored, not retried.
	f.insert("late", "peer.leave.success", done, event("late", "peer.leave.success", kyc.RoomName(done, 1), nil))
	f.waitState("late", store.InboxIgnored)
}

func TestTemporalDownKeepsRowsPendingThenDelivers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.startCase()
	for i := range 3 {
		id := fmt.Sprintf("down-%d", i)
		f.insert(id, "peer.join.success", c, event(id, "peer.join.success", kyc.RoomName(c, 1), nil))
	}
	// A client for a port where nothing listens: Temporal is down.
	down, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: temporallog.NewStructuredLogger(f.log)})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	_, stop := f.run(down, fast())
	deadline := time.Now().Add(15 * time.Second)
	for f.state("down-0").Attempts < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no failed delivery recorded: %+v", f.state("down-0"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	for i := range 3 {
		r := f.state(fmt.Sprintf("down-%d", i))
		if r.State != store.InboxPending {
			t.Fatalf("row %s is %s while Temporal is down", r.EventID, r.State)
		}
	}
	if r := f.state("down-0"); r.LastError == "" {
		t.Fatalf("the failure is not recorded: %+v", r)
	}
	// Later rows of the case waited behind the first: order is kept.
	if r := f.state("down-2"); r.Attempts != 0 {
		t.Fatalf("a later row of the same case was tried before the first: %+v", r)
	}

	// A new dispatcher (a restart) with Temporal back delivers everything.
	_, stop = f.run(f.tc, fast())
	defer stop()
	for i := range 3 {
		f.waitState(fmt.Sprintf("down-%d", i), store.InboxDone)
	}
	var got []string
	for _, ev := range f.received(c) {
		got = append(got, ev.ID)
	}
	if !slices.Equal(got, []string{"down-0", "down-1", "down-2"}) {
		t.Fatalf("delivered %v", got)
	}
}

func TestWakeDeliversWithoutWaitingForThePoll(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.startCase()
	opts := fast()
	opts.PollInterval = time.Hour
	d, stop := f.run(f.tc, opts)
	defer stop()
	time.Sleep(100 * time.Millisecond) // the first round has run and found nothing
	f.insert("woken", "peer.join.success", c, event("woken", "peer.join.success", kyc.RoomName(c, 1), nil))
	start := time.Now()
	d.Wake()
	f.waitState("woken", store.InboxDone)
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("delivery took %s after Wake", waited)
	}
}

func TestConvertKeepsOnlyWhatTheWorkflowNeeds(t *testing.T) {
	t.Parallel()
	body := event("rec-1", "beam.recording.success", "kyc-abc-a1", map[string]any{
		"recording_id": "r1", "recording_path": "s3://b/k.mp4", "recording_presigned_url": "https://x/?X-Amz-Signature=s",
		"size": "1234", "duration": 61, "stopped_at": "2026-01-02T03:05:00Z",
	})
	ev, err := hms.DecodeEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	got := inbox.Convert(ev)
	if got.RecordingID != "r1" || got.RecordingPath != "s3://b/k.mp4" || got.Size != 1234 || got.Duration != 61 {
		t.Fatalf("converted %+v", got)
	}
	if !got.At.Equal(time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)) {
		t.Fatalf("at %s", got.At)
	}
	raw, _ := json.Marshal(got)
	if strings.Contains(string(raw), "Signature") || strings.Contains(string(raw), "Asha") {
		t.Fatalf("converted event leaks: %s", raw)
	}
}

// TestTwoDispatchersShareTheInbox: two dispatchers (two API replicas) on one
// inbox, events arriving while both run: every event reaches its case once,
// in inbox order, and none is lost. Without the case leases both signalled
// every row.
func TestTwoDispatchersShareTheInbox(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const cases, perCase = 12, 8
	var ids []string
	for range cases {
		ids = append(ids, f.startCase())
	}
	var ds []*inbox.Dispatcher
	for i := range 2 {
		opts := fast()
		opts.Owner = fmt.Sprintf("replica-%d", i)
		d, stop := f.run(f.tc, opts)
		defer stop()
		ds = append(ds, d)
	}
	// Each case's events are inserted in order while both dispatchers run;
	// the cases' inserts interleave.
	var wg sync.WaitGroup
	for _, c := range ids {
		wg.Go(func() {
			for i := range perCase {
				id := fmt.Sprintf("%s-two-%d", c[:8], i)
				f.insert(id, "peer.join.success", c, event(id, "peer.join.success", kyc.RoomName(c, 1), nil))
				ds[i%2].Wake()
			}
		})
	}
	wg.Wait()
	for _, c := range ids {
		f.waitState(fmt.Sprintf("%s-two-%d", c[:8], perCase-1), store.InboxDone)
	}
	for _, c := range ids {
		var want []string
		for i := range perCase {
			id := fmt.Sprintf("%s-two-%d", c[:8], i)
			f.waitState(id, store.InboxDone)
			want = append(want, id)
		}
		var got []string
		for _, ev := range f.received(c) {
			got = append(got, ev.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("case %s received %v, want each event once in inbox order %v", c, got, want)
		}
	}
}

// TestLeaseOfADeadDispatcherExpires: a case leased by a dispatcher that
// died mid-round is delivered by another once the lease expires, and not
// before.
func TestLeaseOfADeadDispatcherExpires(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.startCase()
	f.insert("held-0", "peer.join.success", c, event("held-0", "peer.join.success", kyc.RoomName(c, 1), nil))
	ctx := context.Background()
	// The dead replica claimed the case and never released it.
	rows, err := f.st.InboxClaim(ctx, "dead-replica", 2*time.Second, 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("claim: %v, %d rows", err, len(rows))
	}
	if again, err := f.st.InboxClaim(ctx, "other", time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("another owner claimed a held case: %v, %d rows", err, len(again))
	}
	start := time.Now()
	_, stop := f.run(f.tc, fast())
	defer stop()
	f.waitState("held-0", store.InboxDone)
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("delivered after %s, before the dead replica's lease expired", waited)
	}
	if got := f.received(c); len(got) != 1 {
		t.Fatalf("received %d events, want 1", len(got))
	}
}
