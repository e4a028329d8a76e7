package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/codec"
	tstack "github.com/vkyc-engine/vkyc/internal/testkit/stack"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// classResult is one row of the fault table, with the findings behind it.
type classResult struct {
	Class      int
	Key        string
	Title      string
	Cases      int
	Completed  int // ended in the status their script expects
	Stuck      int // not finished by the deadline
	Duplicates int // rooms, captures or webhook applications found twice, objects stored without a capture
	Lost       int // captures, recordings, events or webhooks the system accepted and no longer has
	// SlowestRecovery: for outages, the longest time from the component's
	// return until every case then in flight completed its next step; for
	// continuous faults, the longest wait of any case between two steps.
	SlowestRecovery time.Duration
	Continuous      bool
	Took            time.Duration
	Injected        []string
	Measured        []string // further figures of the class (class 9: webhook signals)
	Problems        []string
}

func (r classResult) ok() bool {
	return r.Completed == r.Cases && r.Stuck == 0 && r.Duplicates == 0 && r.Lost == 0 && len(r.Problems) == 0
}

// verifier checks a finished batch against everything the stack holds.
type verifier struct {
	r   *classRun
	res *classResult
	mc  *minio.Client
	tc  client.Client
	// logs and views are the cases' event logs and views as last read.
	logs  map[string]apiclient.EventLog
	views map[string]kyc.CaseView
	// workerLog is the worker's output, read once, for evidence.
	workerLog []string
}

func verify(ctx context.Context, r *classRun) (*classResult, error) {
	mc, err := minio.New(r.st.s3Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3AccessKey, s3SecretKey, "")})
	if err != nil {
		return nil, err
	}
	v := &verifier{r: r, mc: mc, logs: map[string]apiclient.EventLog{}, views: map[string]kyc.CaseView{},
		res: &classResult{Class: r.cls.id, Key: r.cls.key, Title: r.cls.title, Cases: len(r.cases), Continuous: r.cls.continuous}}
	v.res.Injected = append(v.res.Injected, r.injected...)
	if r.registered503 > 0 {
		v.problem("%d uploads answered 503 were registered anyway", r.registered503)
	}

	rooms, err := v.settleWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range r.cases {
		if err := v.checkCase(ctx, c, rooms); err != nil {
			return nil, err
		}
		if id := c.caseID(); r.cls.replicas && id != "" {
			if err := v.checkSignalledOnce(ctx, id); err != nil {
				return nil, err
			}
		}
	}
	if r.st.external != nil {
		note, err := v.checkSignals(ctx)
		if err != nil {
			return nil, err
		}
		v.res.Measured = append(v.res.Measured, note)
	}
	if err := v.checkBankWebhooks(ctx); err != nil {
		return nil, err
	}
	if v.tc != nil {
		v.tc.Close()
	}
	v.res.SlowestRecovery = slowestRecovery(r)
	return v.res, nil
}

func (v *verifier) problem(format string, args ...any) {
	v.res.Problems = append(v.res.Problems, fmt.Sprintf(format, args...))
}

func (v *verifier) duplicate(format string, args ...any) {
	v.res.Duplicates++
	v.problem("duplicate: "+format, args...)
}

func (v *verifier) lost(format string, args ...any) {
	v.res.Lost++
	v.problem("lost: "+format, args...)
}

// simRoom is a room of the simulator, with the case it belongs to.
type simRoom struct {
	ID, Name string
	CaseID   string
	Attempt  int
}

type simDelivery struct {
	EventID string `json:"event_id"`
	Type    string `json:"type"`
	RoomID  string `json:"room_id"`
	Status  int    `json:"status"`
	GaveUp  bool   `json:"gave_up"`
}

// settleWebhooks waits until the simulator has delivered (or given up on)
// every event of the batch's rooms and the inbox has dispatched them, then
// checks that every event was accepted once and applied; it returns the
// batch's rooms.
func (v *verifier) settleWebhooks(ctx context.Context) (map[string]simRoom, error) {
	ours := map[string]bool{}
	for _, c := range v.r.cases {
		if id := c.caseID(); id != "" {
			ours[id] = true
		}
	}
	var rooms map[string]simRoom
	var byEvent map[string][]simDelivery
	deadline := time.Now().Add(40 * time.Second)
	for {
		var err error
		if rooms, err = v.simRooms(ctx, ours); err != nil {
			return nil, err
		}
		if byEvent, err = v.deliveries(ctx, rooms); err != nil {
			return nil, err
		}
		open := 0
		for _, ds := range byEvent {
			if !delivered(ds) && !gaveUp(ds) {
				open++
			}
		}
		pending, err := v.pendingInbox(ctx, ours)
		if err != nil {
			return nil, err
		}
		if open == 0 && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			v.problem("webhooks still moving after 40 s: %d events not yet delivered, %d inbox rows pending", open, pending)
			break
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}

	ids := make([]string, 0, len(byEvent))
	for id, ds := range byEvent {
		switch {
		case delivered(ds):
			ids = append(ids, id)
		case gaveUp(ds):
			v.lost("webhook %s (%s) was never accepted: the simulator gave up after %d tries", id, ds[0].Type, len(ds))
		}
	}
	states, err := v.inboxStates(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		switch st := states[id]; st {
		case "done", "ignored":
		case "":
			v.lost("webhook %s was answered 200 but is not in the inbox", id)
		default:
			v.lost("webhook %s is %s in the inbox, not applied", id, st)
		}
	}
	return rooms, nil
}

func delivered(ds []simDelivery) bool {
	for _, d := range ds {
		if d.Status == http.StatusOK {
			return true
		}
	}
	return false
}

func gaveUp(ds []simDelivery) bool {
	for _, d := range ds {
		if d.GaveUp {
			return true
		}
	}
	return false
}

func (v *verifier) simRooms(ctx context.Context, ours map[string]bool) (map[string]simRoom, error) {
	var st struct {
		Rooms []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rooms"`
	}
	if err := v.r.st.sim().SimGet(ctx, "/sim/v1/state", &st); err != nil {
		return nil, fmt.Errorf("simulator state: %w", err)
	}
	rooms := map[string]simRoom{}
	names := map[string]int{}
	for _, rm := range st.Rooms {
		caseID, attempt, ok := kyc.ParseRoomName(rm.Name)
		if !ok || !ours[caseID] {
			continue
		}
		rooms[rm.ID] = simRoom{ID: rm.ID, Name: rm.Name, CaseID: caseID, Attempt: attempt}
		names[strings.ToLower(rm.Name)]++
	}
	for name, n := range names {
		if n > 1 {
			v.duplicate("room %s exists %d times", name, n)
		}
	}
	return rooms, nil
}

func (v *verifier) deliveries(ctx context.Context, rooms map[string]simRoom) (map[string][]simDelivery, error) {
	var out struct {
		Deliveries []simDelivery `json:"deliveries"`
	}
	if err := v.r.st.sim().SimGet(ctx, "/sim/v1/deliveries", &out); err != nil {
		return nil, fmt.Errorf("simulator deliveries: %w", err)
	}
	byEvent := map[string][]simDelivery{}
	for _, d := range out.Deliveries {
		if _, ok := rooms[d.RoomID]; ok {
			byEvent[d.EventID] = append(byEvent[d.EventID], d)
		}
	}
	return byEvent, nil
}

func (v *verifier) pendingInbox(ctx context.Context, ours map[string]bool) (int, error) {
	ids := make([]string, 0, len(ours))
	for id := range ours {
		ids = append(ids, id)
	}
	var n int
	err := v.r.st.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_inbox WHERE state = 'pending' AND case_id = ANY($1)`, ids).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count pending inbox rows: %w", err)
	}
	return n, nil
}

func (v *verifier) inboxStates(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := v.r.st.db.QueryContext(ctx, `SELECT event_id, state FROM webhook_inbox WHERE event_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, rows.Err()
}

// checkCase compares one case's end with its script and with what the
// database, the bucket and the simulator hold.
func (v *verifier) checkCase(ctx context.Context, c *caseRun, rooms map[string]simRoom) error {
	before := len(v.res.Problems)
	err := v.checkCaseParts(ctx, c, rooms)
	if err == nil && len(v.res.Problems) > before && c.caseID() != "" {
		v.addEvidence(c.caseID())
	}
	return err
}

func (v *verifier) checkCaseParts(ctx context.Context, c *caseRun, rooms map[string]simRoom) error {
	id := c.caseID()
	if id == "" {
		v.res.Stuck++
		v.problem("case %d was never created: %v", c.n, c.err)
		return nil
	}
	view, err := v.finalView(ctx, c)
	if err != nil {
		return err
	}
	c.mu.Lock()
	sawEnd := c.err == nil
	c.mu.Unlock()
	for i := 0; sawEnd && !view.Status.Terminal() && i < 10; i++ {
		// The driver saw the case finish; a running workflow that does not
		// answer the API's query in time leaves it with the projection.
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
		if view, err = v.finalView(ctx, c); err != nil {
			return err
		}
	}
	v.views[id] = view
	want := c.want()
	closed, err := v.workflowClosed(ctx, id, view.Status.Terminal())
	if err != nil {
		return err
	}
	switch {
	case view.Status == want && closed:
		v.res.Completed++
	case view.Status == want:
		v.res.Stuck++
		v.problem("case %s (%s) is %s but its workflow has not finished 20 s later", id, c.script, view.Status)
	case !view.Status.Terminal() && sawEnd:
		v.res.Stuck++
		v.problem("case %s (%s) reached %s for the driver, but the API now answers %s: its workflow does not answer queries and the database projection stopped earlier", id, c.script, want, view.Status)
	case !view.Status.Terminal():
		v.res.Stuck++
		v.problem("case %s (%s) stuck in %s: %v", id, c.script, view.Status, c.err)
	default:
		v.problem("case %s (%s) ended %s (%s), want %s: %v", id, c.script, view.Status, view.StatusReason, want, c.err)
	}
	if want != kyc.StatusCancelled && view.Attempt != 1 {
		v.problem("case %s took %d attempts, want 1", id, view.Attempt)
	}
	for _, rm := range rooms {
		if rm.CaseID == id && rm.Attempt > view.Attempt {
			v.duplicate("room %s of case %s is for attempt %d, which the case never had", rm.Name, id, rm.Attempt)
		}
	}
	if err := v.checkCaptures(ctx, c, view); err != nil {
		return err
	}
	if err := v.checkRecording(ctx, view); err != nil {
		return err
	}
	return v.checkLog(ctx, c, view)
}

// workflowClosed reports whether the case's workflow has completed; for a
// case in a final status it waits a while, as the workflow finishes after
// its last save.
func (v *verifier) workflowClosed(ctx context.Context, caseID string, wait bool) (bool, error) {
	if v.tc == nil {
		tc, err := client.Dial(client.Options{HostPort: v.r.st.temporalAddr, Logger: tstack.QuietTemporal()})
		if err != nil {
			return false, fmt.Errorf("connect to Temporal: %w", err)
		}
		v.tc = tc
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := v.tc.DescribeWorkflow(ctx, kyc.WorkflowID(caseID), "")
		if err != nil {
			return false, fmt.Errorf("describe the workflow of %s: %w", caseID, err)
		}
		if d.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			return true, nil
		}
		if !wait || time.Now().After(deadline) {
			return false, nil
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// finalView reads the case as the service, retrying a moment: the stack
// has just been through a fault.
func (v *verifier) finalView(ctx context.Context, c *caseRun) (kyc.CaseView, error) {
	var last error
	for i := 0; i < 20; i++ {
		view, err := c.view(ctx)
		if err == nil {
			return view, nil
		}
		last = err
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return view, err
		}
	}
	return kyc.CaseView{}, fmt.Errorf("read case %s: %w", c.caseID(), last)
}

func (v *verifier) checkCaptures(ctx context.Context, c *caseRun, view kyc.CaseView) error {
	id := view.ID
	perKind := map[string]int{}
	referenced := map[string]bool{}
	for _, cp := range view.Captures {
		perKind[fmt.Sprintf("attempt %d %s", cp.Attempt, cp.Kind)]++
		referenced[cp.ObjectKey] = true
		data, err := v.object(ctx, cp.ObjectKey)
		switch {
		case errors.Is(err, errNoObject):
			v.lost("capture %s of case %s points to %s, which is not in the bucket", cp.ID, id, cp.ObjectKey)
			continue
		case err != nil:
			return err
		}
		sum := sha256.Sum256(data)
		if int64(len(data)) != cp.Size || hex.EncodeToString(sum[:]) != cp.SHA256 {
			v.lost("capture %s of case %s: the object has %d bytes (sha256 %x), the record %d (%s)", cp.ID, id, len(data), sum[:6], cp.Size, cp.SHA256[:12])
		}
	}
	for k, n := range perKind {
		if n > 1 {
			v.duplicate("case %s has %d captures for %s", id, n, k)
		}
	}
	c.mu.Lock()
	uploads := make(map[kyc.CaptureKind]upload, len(c.uploads))
	for k, u := range c.uploads {
		uploads[k] = *u
	}
	c.mu.Unlock()
	for kind, u := range uploads {
		if u.capture.ID == "" {
			continue
		}
		found := false
		for _, cp := range view.Captures {
			found = found || cp.ID == u.capture.ID
		}
		if !found {
			v.lost("capture %s (%s) of case %s was answered 201 and is not in the case", u.capture.ID, kind, id)
		}
	}
	var rows int
	if err := v.r.st.db.QueryRowContext(ctx, `SELECT count(*) FROM captures WHERE case_id = $1`, id).Scan(&rows); err != nil {
		return fmt.Errorf("count captures: %w", err)
	}
	if rows != len(view.Captures) {
		v.problem("case %s: %d capture rows in the database, %d in the case", id, rows, len(view.Captures))
	}
	for obj := range v.mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "cases/" + id + "/", Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list objects: %w", obj.Err)
		}
		if !referenced[obj.Key] {
			v.duplicate("object %s is stored but no capture of case %s points to it", obj.Key, id)
		}
	}
	return nil
}

var errNoObject = errors.New("no such object")

func (v *verifier) object(ctx context.Context, key string) ([]byte, error) {
	obj, err := v.mc.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, 64<<20))
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, errNoObject
		}
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}

func (v *verifier) checkRecording(ctx context.Context, view kyc.CaseView) error {
	if view.Recording.Status != kyc.RecordingVerified {
		if view.Status == kyc.StatusApproved {
			v.problem("case %s approved with recording %s", view.ID, view.Recording.Status)
		}
		return nil
	}
	b, key, err := blob.ParseS3URL(view.Recording.Path)
	if err != nil || b != bucket {
		v.lost("case %s: recording path %q is not in our bucket", view.ID, view.Recording.Path)
		return nil
	}
	data, err := v.object(ctx, key)
	switch {
	case errors.Is(err, errNoObject):
		v.lost("case %s: the verified recording %s is not in the bucket", view.ID, key)
		return nil
	case err != nil:
		return err
	}
	sum := sha256.Sum256(data)
	if int64(len(data)) != view.Recording.Size || hex.EncodeToString(sum[:]) != view.Recording.SHA256 {
		v.lost("case %s: the recording object differs from the verified one", view.ID)
	}
	return nil
}

// checkLog reads the case's event log: its chain must verify, it must show
// the final status, the database's projection must agree with it, and no
// webhook event may have been applied twice.
func (v *verifier) checkLog(ctx context.Context, c *caseRun, view kyc.CaseView) error {
	id := view.ID
	var log apiclient.EventLog
	deadline := time.Now().Add(15 * time.Second)
	for {
		var err error
		log, err = c.client.Events(ctx, c.tokens.Service, id)
		if err != nil && !apiclient.Retryable(err) {
			return fmt.Errorf("events of %s: %w", id, err)
		}
		if err == nil && (!view.Status.Terminal() || log.LastStatus() == view.Status) {
			break
		}
		if time.Now().After(deadline) {
			v.lost("case %s: the event log does not show its status %s (last: %q)", id, view.Status, log.LastStatus())
			break
		}
		if err := sleep(ctx, 300*time.Millisecond); err != nil {
			return err
		}
	}
	v.logs[id] = log
	if !log.ChainValid {
		v.lost("case %s: the event chain does not verify (%s)", id, log.Reason)
	}
	if !log.Witness.Matches {
		v.lost("case %s: the event log disagrees with its workflow's witness: %s", id, log.Witness.Problem)
	}
	if !log.Projection.Matches {
		v.lost("case %s: the case record disagrees with its log: %s", id, log.Projection.Problem)
	}
	for i, e := range log.Events {
		if e.Seq != int64(i+1) {
			v.lost("case %s: event %d has sequence number %d", id, i+1, e.Seq)
			break
		}
	}
	// Events a log_rebased event names were saved by a workflow task that
	// did not complete: they stay in the chain, but their effects were lost
	// with the task, so the webhooks among them are applied again after it.
	type eventData struct {
		EventID string `json:"event_id"`
		FromSeq int64  `json:"from_seq"`
		ToSeq   int64  `json:"to_seq"`
	}
	superseded := map[int64]bool{}
	for _, e := range log.Events {
		var d eventData
		if e.Type == core.EventLogRebased && json.Unmarshal(e.Data, &d) == nil {
			for seq := d.FromSeq; seq <= d.ToSeq; seq++ {
				superseded[seq] = true
			}
		}
	}
	seen := map[string]int{}
	for _, e := range log.Events {
		if !strings.HasPrefix(e.Type, "hms.") || superseded[e.Seq] {
			continue
		}
		var d eventData
		if json.Unmarshal(e.Data, &d) == nil && d.EventID != "" {
			seen[d.EventID]++
		}
	}
	for _, ev := range repeated(seen) {
		v.duplicate("webhook %s applied %d times to case %s", ev, seen[ev], id)
	}
	var status string
	var version int64
	if err := v.r.st.db.QueryRowContext(ctx, `SELECT status, version FROM cases WHERE id = $1`, id).Scan(&status, &version); err != nil {
		return fmt.Errorf("read case row %s: %w", id, err)
	}
	if view.Status.Terminal() && (kyc.Status(status) != view.Status || version != int64(len(log.Events))) {
		v.lost("case %s: the database says %s at version %d, the log has %d events ending %s", id, status, version, len(log.Events), view.Status)
	}
	return nil
}

// slowestRecovery: see classResult.SlowestRecovery.
func slowestRecovery(r *classRun) time.Duration {
	var worst time.Duration
	for _, c := range r.cases {
		c.mu.Lock()
		marks := append([]time.Time(nil), c.progress...)
		ended := c.ended
		c.mu.Unlock()
		if r.cls.continuous {
			for i := 1; i < len(marks); i++ {
				worst = max(worst, marks[i].Sub(marks[i-1]))
			}
			continue
		}
		for _, e := range r.episodes {
			if len(marks) == 0 || marks[0].After(e.end) || (!ended.IsZero() && ended.Before(e.start)) {
				continue // not in flight
			}
			for _, m := range marks {
				if m.After(e.end) {
					worst = max(worst, m.Sub(e.end))
					break
				}
			}
		}
	}
	return worst
}

// addEvidence adds to a case's findings what the run's own records say
// about it: the worker's errors for the case, and a recording start that
// the event log shows before the call began while the case still waits
// for it.
func (v *verifier) addEvidence(caseID string) {
	if v.workerLog == nil {
		b, _ := os.ReadFile(v.r.st.logPath(nameWorker))
		v.workerLog = strings.Split(string(b), "\n")
	}
	type record struct {
		Time     time.Time `json:"time"`
		Msg      string    `json:"msg"`
		Error    string    `json:"error"`
		SDKError string    `json:"Error"`
	}
	var failedTasks []record
	seen := map[string]bool{}
	var firstError time.Time
	for _, line := range v.workerLog {
		var rec record
		switch {
		case strings.Contains(line, "Task processing failed"):
			// The SDK's report of a workflow task that failed (its work is
			// then done again); it names no workflow, so it is matched by time.
			if json.Unmarshal([]byte(line), &rec) == nil {
				failedTasks = append(failedTasks, rec)
			}
			continue
		case !strings.Contains(line, caseID) || !strings.Contains(line, `"level":"ERROR"`):
			continue
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if firstError.IsZero() {
			firstError = rec.Time
		}
		what := rec.Msg + ": " + firstCauses(rec.Error)
		if !seen[what] && len(seen) < 2 {
			seen[what] = true
			v.problem("evidence for %s: the worker logged %q", caseID, what)
		}
	}
	for _, t := range failedTasks {
		if d := firstError.Sub(t.Time); !firstError.IsZero() && d >= 0 && d < 2*time.Second {
			v.problem("evidence for %s: %s before that, the worker logged %q (%s)", caseID, d.Round(time.Millisecond), t.Msg, t.SDKError)
			break
		}
	}
	log, ok := v.logs[caseID]
	if !ok {
		return
	}
	var beam, call int64
	for _, e := range log.Events {
		switch {
		case e.Type == "hms.beam.started.success" && beam == 0:
			beam = e.Seq
		case e.Type == core.EventStatusChanged && call == 0 && strings.Contains(string(e.Data), `"to":"in_call"`):
			call = e.Seq
		}
	}
	if view := v.views[caseID]; beam > 0 && (call == 0 || beam < call) && view.Recording.Status == kyc.RecordingPending {
		v.problem("evidence for %s: the event log has beam.started.success at seq %d, before the call began (seq %d); the case's recording status stayed pending", caseID, beam, call)
	}
}

// firstCauses keeps the outer parts of a wrapped error, which name the
// operation and the first reason; the rest repeats them.
func firstCauses(err string) string {
	parts := strings.Split(err, ": ")
	s := strings.Join(parts[:min(len(parts), 4)], ": ")
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}

// checkSignalledOnce counts the hms-event signals in the case's workflow
// history (every run of it): each webhook event must have reached the
// workflow once. The inbox dispatchers of several replicas share the work
// through case leases; without them each signalled every row.
func (v *verifier) checkSignalledOnce(ctx context.Context, caseID string) error {
	if v.tc == nil {
		tc, err := client.Dial(client.Options{HostPort: v.r.st.temporalAddr, Logger: tstack.QuietTemporal()})
		if err != nil {
			return fmt.Errorf("connect to Temporal: %w", err)
		}
		v.tc = tc
	}
	seen := map[string]int{}
	runID := ""
	for range 100 { // runs of the case, newest first
		it := v.tc.GetWorkflowHistory(ctx, kyc.WorkflowID(caseID), runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		prev := ""
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return fmt.Errorf("history of %s: %w", caseID, err)
			}
			if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				prev = a.GetContinuedExecutionRunId()
			}
			evs, err := signalledEvents(codec.DataConverter(v.r.st.codec), ev)
			if err != nil {
				return fmt.Errorf("history of %s: %w", caseID, err)
			}
			for _, hev := range evs {
				seen[hev.ID]++
			}
		}
		if prev == "" {
			break
		}
		runID = prev
	}
	for _, id := range repeated(seen) {
		v.duplicate("webhook %s was signalled %d times to case %s", id, seen[id], caseID)
	}
	return nil
}

// repeated is the keys counted more than once, sorted.
func repeated(seen map[string]int) []string {
	var keys []string
	for k, n := range seen {
		if n > 1 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
