// Package inbox delivers the 100ms webhook events that the API stored in the
// webhook inbox table to their case workflows, as hms-event signals. The
// table is the only state: a restarted dispatcher carries on where the last
// one stopped, and a row leaves "pending" only once its event was delivered
// (done) or cannot belong to a running case (ignored).
package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/workflows"
)

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	BatchSize     int           // rows read per round; default 100
	PollInterval  time.Duration // safety-net poll besides Wake; default 1s
	MinBackoff    time.Duration // first wait after a failure; default 500ms
	MaxBackoff    time.Duration // cap of the doubling wait; default 30s
	SignalTimeout time.Duration // one signal call; default 5s
	// Coalesce is how long a woken dispatcher waits for more events before
	// it reads the inbox; default 20ms. Without it, a burst of webhooks woke
	// a round per event or two, three statements each, which cost the API
	// a tenth of its CPU in the webhook benchmark. A case's own bursts (a
	// peer's join and the session's open, the leaves and the session's
	// close, some milliseconds apart) then reach its workflow together: one
	// workflow task and one save instead of one each. The wait adds at most
	// this much to an event's delivery.
	Coalesce time.Duration
	// Owner names this dispatcher in the inbox's case leases; it must
	// differ between the dispatchers sharing an inbox. Default: a random
	// id, new for each process.
	Owner string
	// LeaseTTL is how long a case's lease lasts unless released; a
	// dispatcher that dies mid-round holds its cases' events back this
	// long. A round stops delivering at half of it. Default 20s.
	LeaseTTL time.Duration
	// Parallelism is how many cases a round delivers to at once; each
	// case's rows still go one after another, in inbox order. Default 4:
	// enough to keep up with hundreds of events a second, while most of the
	// store's connection pool (10 by default) stays free for the webhook
	// intake that shares it; more made intake wait for connections.
	Parallelism int
}

func (o Options) withDefaults() Options {
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.SignalTimeout <= 0 {
		o.SignalTimeout = 5 * time.Second
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 4
	}
	if o.Coalesce <= 0 {
		o.Coalesce = 20 * time.Millisecond
	}
	if o.Owner == "" {
		o.Owner = "dispatcher-" + uuid.NewString()
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 20 * time.Second
	}
	return o
}

// Dispatcher delivers inbox rows. Run one per process; the dispatchers of
// several processes share the inbox through per-case leases
// (store.InboxClaim): each case's rows go out from one of them at a time, in
// order, and each row once, unless a dispatcher dies mid-round (then its
// rows may go out again after the lease expires, which the workflow
// tolerates: it drops event ids it has seen).
type Dispatcher struct {
	st   *store.Store
	tc   client.Client
	log  *slog.Logger
	opts Options
	wake chan struct{}
}

// Reasons recorded on ignored and failed rows.
const (
	reasonNotOurRoom  = "room is not a KYC case room"
	reasonNoWorkflow  = "case workflow not found or already completed"
	reasonNoCase      = "no such case"
	reasonUndecodable = "stored body is not a 100ms event"
)

// New returns a dispatcher reading st and signalling through tc.
func New(st *store.Store, tc client.Client, log *slog.Logger, opts Options) *Dispatcher {
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{
		st: st, tc: tc, log: log.With("component", "inbox"), opts: opts.withDefaults(),
		wake: make(chan struct{}, 1),
	}
}

// Wake makes Run look at the inbox now. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers rows until ctx ends, and then returns nil. Failures are
// retried forever with a capped backoff: a row is never dropped because
// Temporal or the database is down.
func (d *Dispatcher) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		more, err := d.round(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := d.opts.PollInterval
		switch {
		case err != nil:
			backoff = min(max(2*backoff, d.opts.MinBackoff), d.opts.MaxBackoff)
			wait = backoff
			d.log.Warn("inbox delivery paused", "retry_in", wait.String(), "error", err)
		case more:
			backoff = 0
			continue // a full batch: there may be more behind it
		default:
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.wake:
			// A new event does not cut a backoff short: if Temporal is down
			// it is down for the new event too.
			if err != nil {
				select {
				case <-ctx.Done():
					t.Stop()
					return nil
				case <-t.C:
				}
			} else if !sleep(ctx, d.opts.Coalesce) {
				t.Stop()
				return nil
			}
		case <-t.C:
		}
		t.Stop()
	}
}

// sleep waits for d or until ctx ends, reporting whether it waited it out.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// round delivers one batch, oldest first. Events of one case go in inbox
// order: after a transient failure for a case, its later rows wait for the
// next round. Different cases are delivered in parallel (Parallelism at a
// time): a signal is a round trip to Temporal of milliseconds to tens of
// milliseconds under load, so one row after another capped the whole engine
// at a few dozen webhooks a second, and every case's events waited behind
// every other case's (the benchmark's case scenario showed seconds of inbox
// lag). It reports whether another round should follow at once, and the
// first error that should pause delivery.
func (d *Dispatcher) round(ctx context.Context) (more bool, err error) {
	rows, err := d.st.InboxClaim(ctx, d.opts.Owner, d.opts.LeaseTTL, d.opts.BatchSize)
	if err != nil {
		return false, fmt.Errorf("claim pending inbox rows: %w", err)
	}
	// Rows grouped by case, cases in the order of their oldest row. Rows
	// without a case id form one group, as they did when delivered one by
	// one.
	if len(rows) == 0 {
		return false, nil
	}
	leased := make([]string, 0, len(rows))
	for _, row := range rows {
		leased = append(leased, row.CaseID) // the leases are on the column's value
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.SignalTimeout)
		defer cancel()
		if err := d.st.InboxRelease(rctx, d.opts.Owner, leased); err != nil {
			d.log.Warn("could not release inbox leases; they expire", "ttl", d.opts.LeaseTTL.String(), "error", err)
		}
	}()
	// Delivery stops at half the lease, so that the outcomes are written
	// while the lease still holds; the rest goes out in the next round,
	// which renews it.
	outer := ctx
	ctx, cancelRound := context.WithTimeout(ctx, d.opts.LeaseTTL/2)
	defer cancelRound()
	var order []string
	byCase := map[string][]store.InboxRow{}
	for _, row := range rows {
		row.CaseID = routeOf(row)
		if _, seen := byCase[row.CaseID]; !seen {
			order = append(order, row.CaseID)
		}
		byCase[row.CaseID] = append(byCase[row.CaseID], row)
	}
	known, err := d.st.KnownCases(ctx, order)
	if err != nil {
		return false, fmt.Errorf("look up the round's cases: %w", err)
	}
	var (
		mu       sync.Mutex
		settled  int
		firstErr error
		wg       sync.WaitGroup
	)
	out := &outcomes{}
	slots := make(chan struct{}, d.opts.Parallelism)
	for _, caseID := range order {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			n, err := d.deliverCase(ctx, out, byCase[caseID], known[caseID])
			mu.Lock()
			defer mu.Unlock()
			settled += n
			if err != nil && firstErr == nil && !errors.Is(err, errRefused) {
				firstErr = err
			}
		})
	}
	wg.Wait()
	// The outcomes are written even when ctx has ended (a shutdown), so
	// that a restart does not deliver the round again; if writing fails,
	// the rows stay pending and are delivered again, which the workflow
	// tolerates (it drops event ids it has seen).
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.SignalTimeout)
	werr := out.write(wctx, d.st)
	cancel()
	if outer.Err() != nil {
		return false, nil
	}
	if ctx.Err() != nil && werr == nil {
		return true, nil // the round's time was up: go on at once
	}
	if werr != nil {
		return false, werr
	}
	if firstErr != nil {
		return false, firstErr
	}
	// Only a full batch that moved is worth an immediate next round; a
	// batch of rows that all wait would otherwise spin.
	return len(rows) == d.opts.BatchSize && settled > 0, nil
}

// deliverCase delivers one case's rows in order, stopping at the first that
// stays pending. It returns how many rows were settled.
//
// Once Temporal says the case's workflow does not exist, the case's other
// rows of the round are ignored without asking again: a case's workflow
// starts before its room exists, so it cannot appear a moment later, and
// late events of a finished case (leaves, session and room ends) come in
// bunches. The webhook benchmark's events (six per unknown case) cost
// Temporal a signal each before.
//
// Rows of a case that has no row in the database (rooms of another
// deployment sharing the 100ms account, a misrouted webhook URL) are ignored
// without a signal: a flood of them would otherwise cost Temporal a signal
// per case. After a database restore that lost case rows, such cases are
// stuck anyway (their event log no longer continues); an operator who puts
// the rows back can set their "no such case" inbox rows to pending again.
func (d *Dispatcher) deliverCase(ctx context.Context, out *outcomes, rows []store.InboxRow, known bool) (int, error) {
	n := 0
	var batch []store.InboxRow
	var events []workflows.HMSEvent
	for _, row := range rows {
		log := d.log.With("event_id", row.EventID, "type", row.Type, "case_id", row.CaseID)
		switch {
		case row.CaseID == "":
			_ = out.mark(log, row, store.InboxIgnored, reasonNotOurRoom)
			n++
			continue
		case !known:
			_ = out.mark(log, row, store.InboxIgnored, reasonNoCase)
			n++
			continue
		}
		ev, err := hms.DecodeEvent(row.Body)
		if err != nil {
			// The API decoded it before storing; this is a bug or tampering.
			log.Error("inbox row cannot be decoded; needs an operator", "error", err)
			_ = out.mark(log, row, store.InboxFailed, reasonUndecodable)
			n++
			continue
		}
		batch, events = append(batch, row), append(events, Convert(ev))
	}
	for len(batch) > 0 {
		if ctx.Err() != nil {
			return n, nil
		}
		k := min(len(batch), maxSignalEvents)
		gone, err := d.deliver(ctx, out, batch[:k], events[:k])
		if errors.Is(err, errSplit) {
			k = 1 // one at a time, so that each row's refusals are its own
			gone, err = d.deliver(ctx, out, batch[:k], events[:k])
		}
		if err != nil {
			return n, err
		}
		n += k
		batch, events = batch[k:], events[k:]
		if gone {
			for _, row := range batch {
				_ = out.mark(d.log, row, store.InboxIgnored, reasonNoWorkflow)
			}
			return n + len(batch), nil
		}
	}
	return n, nil
}

// maxSignalEvents bounds the events one signal carries.
const maxSignalEvents = 25

// errSplit asks for a refused batch to be delivered row by row.
var errSplit = errors.New("deliver the batch row by row")

// routeOf is the case a row is for, "" when its room is not a case room.
// The API routes by room name; a row written without a case id is checked
// again so that a routing fix applies to stored rows too.
func routeOf(row store.InboxRow) string {
	if row.CaseID != "" {
		return row.CaseID
	}
	if id, _, ok := kyc.ParseRoomName(row.RoomName); ok {
		return id
	}
	return ""
}

// deliver signals a case's rows (in inbox order) in one signal, so that a
// burst of its webhooks reaches the workflow in one task, and settles them;
// an error means they stay pending for a retry. gone reports that the
// case's workflow does not exist. A batch Temporal refuses is answered with
// errSplit, for delivery row by row.
func (d *Dispatcher) deliver(ctx context.Context, out *outcomes, rows []store.InboxRow, events []workflows.HMSEvent) (gone bool, err error) {
	caseID := rows[0].CaseID
	log := d.log.With("case_id", caseID)
	if len(rows) == 1 {
		log = log.With("event_id", rows[0].EventID, "type", rows[0].Type)
	}
	sctx, cancel := context.WithTimeout(ctx, d.opts.SignalTimeout)
	err = d.tc.SignalWorkflow(sctx, kyc.WorkflowID(caseID), "", workflows.SignalHMSEvents, events)
	cancel()
	markAll := func(state store.InboxState, detail string) {
		for _, row := range rows {
			_ = out.mark(log, row, state, detail)
		}
	}
	switch {
	case err == nil:
		markAll(store.InboxDone, "")
		return false, nil
	case isNotFound(err):
		markAll(store.InboxIgnored, reasonNoWorkflow)
		return true, nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	case len(rows) > 1 && permanent(err):
		return false, errSplit
	}
	row := rows[0] // the first the failure holds back
	if rerr := d.st.InboxRetry(ctx, row.EventID, truncate(err.Error(), 500)); rerr != nil {
		log.Warn("could not record a failed delivery", "error", rerr)
	}
	if permanent(err) {
		if row.Attempts+1 >= maxRefusals {
			log.Error("signal refused for good; the row needs an operator", "attempts", row.Attempts+1, "error", err)
			return false, out.mark(log, row, store.InboxFailed, truncate(err.Error(), 500))
		}
		log.Warn("signal refused; will retry", "attempts", row.Attempts+1, "error", err)
		return false, errRefused
	}
	return false, fmt.Errorf("signal case %s: %w", caseID, err)
}

// maxRefusals is how many times Temporal may refuse one signal outright
// before its row is marked failed for an operator; outages never count
// towards it.
const maxRefusals = 20

// errRefused holds back the case's later rows without pausing the others.
var errRefused = errors.New("signal refused")

// outcomes collects a round's settled rows, to be written in one statement
// per outcome rather than one per row: half the database work of a webhook
// was its row's UPDATE.
type outcomes struct {
	mu   sync.Mutex
	keys []outcome // first-seen order, so writes are deterministic
	ids  map[outcome][]string
}

type outcome struct {
	state  store.InboxState
	detail string
}

func (o *outcomes) mark(log *slog.Logger, row store.InboxRow, state store.InboxState, detail string) error {
	k := outcome{state, detail}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ids == nil {
		o.ids = map[outcome][]string{}
	}
	if _, ok := o.ids[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.ids[k] = append(o.ids[k], row.EventID)
	log.Debug("inbox row settled", "state", string(state), "detail", detail)
	return nil
}

func (o *outcomes) write(ctx context.Context, st *store.Store) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range o.keys {
		if err := st.InboxMarkMany(ctx, k.state, k.detail, o.ids[k]); err != nil {
			return fmt.Errorf("settle %d inbox rows %s: %w", len(o.ids[k]), k.state, err)
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// permanent reports whether Temporal refused the signal itself (its payload
// or arguments), which a retry does not fix. Everything else, including
// errors we do not recognise, is treated as an outage and retried without
// limit: an event is never given up on because of a passing failure.
func permanent(err error) bool {
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if st, ok := status.FromError(e); ok && st.Code() == codes.InvalidArgument {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
