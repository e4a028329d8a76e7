// Package outbound delivers the case engine's webhooks to the bank: it
// leases due rows of the delivery outbox (written by the store with the
// event log), signs each message per the Standard Webhooks specification
// and POSTs it, and records the outcome: delivered on a 2xx, else retried
// with exponential backoff and jitter until the retry window has passed,
// then failed. A case's messages to one endpoint go out one at a time, in
// log order. Several deliverers (API replicas) share the work through the
// store's leases.
//
// The deliverer runs in the API process, beside the inbox dispatcher: the
// API is the process that talks HTTP with the bank (its requests and, here,
// its webhooks), it already serves the metrics an operator watches for the
// bank's side, and a slow or failing bank endpoint then never takes worker
// slots that cases need for their activities.
package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vkyc-engine/vkyc/internal/bank/outbound/message"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// Options tune a Deliverer; zero values take the defaults.
type Options struct {
	Timeout     time.Duration // one attempt (10s)
	Backoff     time.Duration // before the first retry (5s); doubles per attempt
	BackoffMax  time.Duration // cap of the backoff (1h)
	RetryWindow time.Duration // from the first attempt to giving up (24h)
	// Concurrency is how many deliveries run at once (8).
	Concurrency int
	// PollInterval is how often the outbox is read when nothing is due
	// (1s): the worker writes it, so a poll is how this process learns.
	PollInterval time.Duration
	// Client sends the requests; nil means one with Timeout that follows no
	// redirects.
	Client *http.Client
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Attempt results, the label of the attempts metric.
const (
	resultDelivered    = "delivered"
	resultHTTPError    = "http_error"
	resultNetworkError = "network_error"
	resultTimeout      = "timeout"
)

// Deliverer sends outbox rows. Create it with New; Run it once.
type Deliverer struct {
	st     *store.Store
	signer *message.Signer
	log    *slog.Logger
	o      Options
	owner  string
	wake   chan struct{}

	attempts *prometheus.CounterVec
	duration prometheus.Histogram
	gaveUp   prometheus.Counter
}

// New checks its inputs and registers the metrics.
func New(st *store.Store, signer *message.Signer, log *slog.Logger, o Options) (*Deliverer, error) {
	if st == nil || signer == nil {
		return nil, errors.New("outbound: a store and a signer are required")
	}
	if log == nil {
		log = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, 10*time.Second)
	def(&o.Backoff, 5*time.Second)
	def(&o.BackoffMax, time.Hour)
	def(&o.RetryWindow, 24*time.Hour)
	def(&o.PollInterval, time.Second)
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Client == nil {
		o.Client = &http.Client{
			Timeout: o.Timeout,
			// A redirect is an answer that is not a 2xx: the bank's endpoint
			// is configured exactly, and following it would send the signed
			// message somewhere nobody configured.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	d := &Deliverer{
		st: st, signer: signer, log: log.With("component", "outbound"), o: o,
		owner: "deliverer-" + uuid.NewString(), wake: make(chan struct{}, 1),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vkyc_bank_webhook_attempts_total",
			Help: "Delivery attempts of webhooks to the bank by result (delivered, http_error, network_error, timeout).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vkyc_bank_webhook_attempt_duration_seconds",
			Help:    "Duration of delivery attempts of webhooks to the bank.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		gaveUp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vkyc_bank_webhook_failed_total",
			Help: "Webhook deliveries to the bank given up after their retry window (redeliver them: POST /v1/webhook-deliveries/{id}/redeliver).",
		}),
	}
	for _, r := range []string{resultDelivered, resultHTTPError, resultNetworkError, resultTimeout} {
		d.attempts.WithLabelValues(r)
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{d.attempts, d.duration, d.gaveUp, newStatsCollector(st, log)} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("outbound: metrics: %w", err)
			}
		}
	}
	return d, nil
}

// Wake makes Run look for due deliveries now (after a redeliver).
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for attempts in flight; their
// rows keep their lease and are taken again once it expires. It returns
// nil when ctx ends.
func (d *Deliverer) Run(ctx context.Context) error {
	// Longer than any attempt with its outcome's write; a deliverer that
	// dies mid-attempt holds its rows this long, then another sends them.
	lease := 2*d.o.Timeout + 5*time.Second
	slots := make(chan struct{}, d.o.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	failures := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		free := d.o.Concurrency - len(slots)
		var batch []store.Delivery
		if free > 0 {
			var err error
			batch, err = d.st.ClaimDeliveries(ctx, d.owner, free, lease)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				failures++
				d.log.WarnContext(ctx, "reading the webhook outbox failed; retrying", "error", err, "failures", failures)
			} else {
				failures = 0
			}
		}
		for _, del := range batch {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				d.deliver(context.WithoutCancel(ctx), del)
				d.Wake() // the case's next message may be due now
			})
		}
		if len(batch) > 0 && len(batch) == free {
			continue // more may be due
		}
		wait := d.o.PollInterval
		if failures > 0 {
			wait = min(d.o.PollInterval*time.Duration(1<<min(failures, 5)), 30*time.Second)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-time.After(wait):
		}
	}
}

// deliver makes one attempt and records its outcome.
func (d *Deliverer) deliver(ctx context.Context, del store.Delivery) {
	start := d.o.Now()
	status, err := d.post(ctx, del, start)
	d.duration.Observe(time.Since(start).Seconds())
	out := store.DeliveryOutcome{Status: status}
	result := resultDelivered
	switch {
	case err == nil && status >= 200 && status < 300:
		out.Delivered = true
	case err != nil:
		result = resultNetworkError
		if isTimeout(err) {
			result = resultTimeout
		}
		out.Error = err.Error()
	default:
		result = resultHTTPError
		out.Error = fmt.Sprintf("the endpoint answered %d %s", status, http.StatusText(status))
	}
	d.attempts.WithLabelValues(result).Inc()
	if !out.Delivered {
		out.Next = d.next(del, d.o.Now())
	}
	ok, ferr := d.st.FinishDelivery(ctx, del.ID, d.owner, out)
	attrs := []any{"delivery_id", del.ID, "webhook_id", del.WebhookID, "case_id", del.CaseID, "seq", del.Seq,
		"type", del.EventType, "endpoint", endpointName(del.Endpoint), "attempt", del.Attempts, "status", status}
	switch {
	case ferr != nil:
		// The lease runs out and the message is sent again: at least once.
		d.log.ErrorContext(ctx, "recording a webhook delivery outcome failed", append(attrs, "error", ferr)...)
	case !ok:
		d.log.InfoContext(ctx, "webhook delivery outcome dropped: the lease moved on (expired or redelivered)", attrs...)
	case out.Delivered:
		d.log.DebugContext(ctx, "webhook delivered", attrs...)
	case out.Next.IsZero():
		d.gaveUp.Inc()
		d.log.ErrorContext(ctx, "webhook delivery failed for good: its retry window has passed", append(attrs, "error", out.Error, "retry_window", d.o.RetryWindow.String())...)
	default:
		d.log.WarnContext(ctx, "webhook delivery attempt failed; retrying", append(attrs, "error", out.Error, "next_attempt_at", out.Next)...)
	}
}

// next is when to try a failed delivery again, or zero to give up: the
// backoff doubles from Backoff up to BackoffMax, each wait drawn between
// half and all of it (jitter spreads a recovering bank's load); the last
// attempt falls at the end of the retry window.
func (d *Deliverer) next(del store.Delivery, now time.Time) time.Time {
	deadline := del.RetryFrom.Add(d.o.RetryWindow)
	if !now.Before(deadline) {
		return time.Time{}
	}
	// Doubling stops at the cap: a shift by the attempt count overflows
	// (5s<<31 is negative) after a day of hourly retries.
	wait := min(d.o.Backoff, d.o.BackoffMax)
	for range del.Attempts - 1 {
		if wait >= d.o.BackoffMax/2 {
			wait = d.o.BackoffMax
			break
		}
		wait *= 2
	}
	wait = wait/2 + rand.N(wait/2+1) // #nosec G404 -- jitter, not a secret
	if at := now.Add(wait); at.Before(deadline) {
		return at
	}
	return deadline
}

func (d *Deliverer) post(ctx context.Context, del store.Delivery, at time.Time) (int, error) {
	h, err := d.signer.Headers(del.WebhookID, at, []byte(del.Payload))
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.Endpoint, bytes.NewReader([]byte(del.Payload)))
	if err != nil {
		return 0, err
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vkyc-webhooks/1")
	resp, err := d.o.Client.Do(req)
	if err != nil {
		return 0, scrub(err)
	}
	// Read a little of the answer so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// scrub drops the URL from a client error: an endpoint's query may hold a
// token, and the error is stored and logged.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func endpointName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}
