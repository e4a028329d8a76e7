package hmssim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Delivery is one webhook delivery attempt, for tests and debugging.
type Delivery struct {
	Seq       uint64    `json:"seq"` // the event's creation order
	EventID   string    `json:"event_id"`
	Type      string    `json:"type"`
	RoomID    string    `json:"room_id"`
	URL       string    `json:"url"`
	Attempt   int       `json:"attempt"`   // 1 for the first try of this copy
	Duplicate bool      `json:"duplicate"` // the second copy sent by WebhookDuplicate
	Dropped   bool      `json:"dropped"`   // lost by WebhookDropFirst: never sent
	Status    int       `json:"status"`    // HTTP status, 0 when not answered
	Error     string    `json:"error,omitempty"`
	GaveUp    bool      `json:"gave_up"` // the last try of a failed delivery
	At        time.Time `json:"at"`
}

// Delivered reports whether the receiver accepted this attempt.
func (d Delivery) Delivered() bool { return d.Status == http.StatusOK }

type event struct {
	seq          uint64
	id, typ      string
	roomID       string
	url          string
	headers      map[string]string
	body         []byte
	signatureHex string
}

type envelope struct {
	Version   string         `json:"version"`
	ID        string         `json:"id"`
	AppID     string         `json:"app_id"`
	AccountID string         `json:"account_id"`
	Timestamp string         `json:"timestamp"`
	Type      string         `json:"type"`
	Data      map[string]any `json:"data"`
}

// emit creates an event and queues it for delivery in creation order. It is
// called with s.mu held, which is what orders events.
func (s *Server) emit(rm *room, typ string, data map[string]any) {
	s.eventSeq++
	now := s.now()
	env := envelope{
		Version: "2.0", ID: uuid.NewString(), AppID: s.cfg.AppID, AccountID: s.cfg.CustomerID,
		// 100ms stamps envelopes to the second while data times carry
		// nanoseconds; receivers must cope with both.
		Timestamp: now.UTC().Format(time.RFC3339), Type: typ, Data: data,
	}
	body, err := json.Marshal(env)
	if err != nil {
		s.log.Error("hmssim: encode webhook", "type", typ, "err", err)
		return
	}
	ev := &event{seq: s.eventSeq, id: env.ID, typ: typ, roomID: rm.ID, body: body}
	if rm.Webhook != nil && rm.Webhook.URL != "" {
		ev.url, ev.headers = rm.Webhook.URL, rm.Webhook.Headers
	} else {
		ev.url, ev.headers = s.cfg.WebhookURL, s.cfg.WebhookHeaders
	}
	if s.cfg.HMACSecret != "" {
		mac := hmac.New(sha256.New, []byte(s.cfg.HMACSecret))
		mac.Write(body)
		ev.signatureHex = hex.EncodeToString(mac.Sum(nil))
	}
	s.log.Info("hmssim event", "type", typ, "event_id", ev.id, "room_id", rm.ID, "seq", ev.seq)
	if ev.url == "" {
		return
	}
	s.hooks.enqueue(ev)
}

// webhooks delivers events: one ordered queue per destination URL; first
// tries go out one after another in creation order, retries run on their
// own timers so a failing event never blocks the ones after it.
type webhooks struct {
	s      *Server
	client *http.Client

	mu          sync.Mutex
	dispatchers map[string]*dispatcher
	log         []Delivery
}

func newWebhooks(s *Server) *webhooks {
	return &webhooks{
		s:           s,
		client:      &http.Client{Timeout: s.cfg.WebhookTimeout},
		dispatchers: map[string]*dispatcher{},
	}
}

// Deliveries returns every webhook delivery attempt so far, in the order the
// attempts finished.
func (s *Server) Deliveries() []Delivery {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return append([]Delivery(nil), s.hooks.log...)
}

func (w *webhooks) record(d Delivery) {
	w.mu.Lock()
	w.log = append(w.log, d)
	w.mu.Unlock()
}

func (w *webhooks) enqueue(ev *event) {
	w.mu.Lock()
	d := w.dispatchers[ev.url]
	if d == nil {
		d = &dispatcher{w: w, url: ev.url, wake: make(chan struct{}, 1)}
		if !w.s.spawn(d.run) {
			w.mu.Unlock()
			return
		}
		w.dispatchers[ev.url] = d
	}
	w.mu.Unlock()
	d.push(ev)
}

type dispatcher struct {
	w    *webhooks
	url  string
	wake chan struct{}

	mu    sync.Mutex
	queue []*event
}

func (d *dispatcher) push(ev *event) {
	d.mu.Lock()
	d.queue = append(d.queue, ev)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// holdLimit bounds how long a reordered event waits for a successor: a held
// event is never lost, only late.
func (d *dispatcher) holdLimit() time.Duration {
	limit := time.Second
	if rs := d.w.s.cfg.RetrySchedule; len(rs) > 0 && rs[0] > 0 && rs[0] < limit {
		limit = rs[0]
	}
	return limit
}

// next waits for the next queued event. With holding set it gives up after
// holdLimit and returns (nil, true). ok is false once the server closes.
func (d *dispatcher) next(holding bool) (ev *event, ok bool) {
	var timeout <-chan time.Time
	if holding {
		t := time.NewTimer(d.holdLimit())
		defer t.Stop()
		timeout = t.C
	}
	for {
		d.mu.Lock()
		if len(d.queue) > 0 {
			ev = d.queue[0]
			d.queue[0] = nil
			d.queue = d.queue[1:]
			d.mu.Unlock()
			return ev, true
		}
		d.mu.Unlock()
		select {
		case <-d.wake:
		case <-timeout:
			return nil, true
		case <-d.w.s.ctx.Done():
			return nil, false
		}
	}
}

func (d *dispatcher) run() {
	var held *event
	for {
		ev, ok := d.next(held != nil)
		if !ok {
			d.mu.Lock()
			dropped := len(d.queue)
			d.mu.Unlock()
			if held != nil {
				dropped++
			}
			if dropped > 0 {
				d.w.s.log.Warn("hmssim: closing with undelivered webhook events", "url_events", dropped)
			}
			return
		}
		if ev == nil { // nothing followed the held event in time
			d.deliver(held)
			held = nil
			continue
		}
		f := d.w.s.currentFaults()
		if held == nil && hit(f.Seed, "webhook reorder", ev.seq, f.WebhookReorder) {
			held = ev
			continue
		}
		d.deliver(ev)
		if held != nil {
			d.deliver(held)
			held = nil
		}
	}
}

// deliver makes the first try of an event (and of its duplicate).
func (d *dispatcher) deliver(ev *event) {
	f := d.w.s.currentFaults()
	drop := hit(f.Seed, "webhook drop-first", ev.seq, f.WebhookDropFirst)
	d.attempt(ev, false, 1, drop)
	if f.WebhookDuplicate {
		d.attempt(ev, true, 1, false)
	}
}

// attempt makes one try and, if it fails, schedules the next one.
func (d *dispatcher) attempt(ev *event, duplicate bool, n int, drop bool) {
	s := d.w.s
	rec := Delivery{
		Seq: ev.seq, EventID: ev.id, Type: ev.typ, RoomID: ev.roomID, URL: d.url,
		Attempt: n, Duplicate: duplicate, Dropped: drop, At: s.now(),
	}
	if drop {
		rec.Error = "dropped by fault injection"
	} else {
		rec.Status, rec.Error = d.post(ev)
	}
	schedule := s.cfg.RetrySchedule
	if rec.Delivered() {
		d.w.record(rec)
		return
	}
	if n > len(schedule) {
		rec.GaveUp = true
		d.w.record(rec)
		s.log.Warn("hmssim: webhook delivery given up", "event_id", ev.id, "type", ev.typ,
			"attempts", n, "status", rec.Status, "err", rec.Error)
		return
	}
	d.w.record(rec)
	s.log.Debug("hmssim: webhook delivery failed, will retry", "event_id", ev.id, "type", ev.typ,
		"attempt", n, "status", rec.Status, "err", rec.Error, "retry_in", schedule[n-1])
	s.after(schedule[n-1], func() { d.attempt(ev, duplicate, n+1, false) })
}

// post sends the event once; a status other than 200 is a failure, as on 100ms.
func (d *dispatcher) post(ev *event) (int, string) {
	s := d.w.s
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(ev.body))
	if err != nil {
		return 0, fmt.Sprintf("build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "100ms-webhook-simulator/2.0")
	for k, v := range ev.headers {
		req.Header.Set(k, v)
	}
	if ev.signatureHex != "" {
		req.Header.Set("X-100ms-Signature", ev.signatureHex)
	}
	resp, err := d.w.client.Do(req)
	if err != nil {
		// Keep the URL out of logs and the delivery log: it may carry a secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, "receiver answered " + resp.Status
	}
	return resp.StatusCode, ""
}
