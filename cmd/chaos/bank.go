package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/vkyc-engine/vkyc/internal/bank/outbound/message"
	tstack "github.com/vkyc-engine/vkyc/internal/testkit/stack"
)

// The bank's webhook settings of the chaos stack: two secrets, as during a
// rotation, a short attempt timeout and quick retries, so that the suite
// measures recovery rather than backoff.
const (
	bankSecretOld = "whsec_Y2hhb3MtYmFuay1vbGQtc2VjcmV0LTAxMjM0NTY3" // #nosec G101 -- throwaway value of a loopback test stack
	bankSecretNew = "whsec_Y2hhb3MtYmFuay1uZXctc2VjcmV0LTAxMjM0NTY3" // #nosec G101 -- throwaway value of a loopback test stack
	bankTimeout   = time.Second
)

func bankEnv(url string) map[string]string {
	return map[string]string{
		"BANK_WEBHOOK_URLS": url, "BANK_WEBHOOK_SECRETS": bankSecretNew + "," + bankSecretOld,
		"BANK_WEBHOOK_TIMEOUT": bankTimeout.String(), "BANK_WEBHOOK_BACKOFF": "200ms", "BANK_WEBHOOK_BACKOFF_MAX": "2s",
	}
}

// bankMode is how the bank's receiver behaves.
type bankMode int

const (
	bankUp     bankMode = iota
	bankDown            // nothing listens: connections are refused
	bankErrors          // every request answered 500
	bankSlow            // every request answered after the engine gave up
)

// bank is the bank's webhook receiver, run by the driver. Like a real one
// it verifies each request's signature with the specification's library
// (here with each of the two secrets on its own, so that both signatures of
// the rotation are checked) and deduplicates by webhook-id; it keeps every
// receipt for the checks.
type bank struct {
	addr  string // its loopback host:port, kept across its outages
	hooks []*standardwebhooks.Webhook

	mu       sync.Mutex
	srv      *http.Server
	mode     bankMode
	receipts map[string]int      // webhook-id → accepted receipts
	order    map[string][]int64  // case id → seqs in order of first receipt
	bodies   map[string][]string // webhook-id → types, for the checks
	badSigs  int
	refused  int       // requests answered 500 or too late
	upAt     time.Time // when the receiver last came back from a failure
	lastNew  time.Time // when it last received a webhook it had not had
}

func newBank() (*bank, error) {
	addr, err := tstack.FreeAddr()
	if err != nil {
		return nil, err
	}
	b := &bank{addr: addr, receipts: map[string]int{}, order: map[string][]int64{}, bodies: map[string][]string{}}
	for _, s := range []string{bankSecretNew, bankSecretOld} {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return nil, err
		}
		b.hooks = append(b.hooks, wh)
	}
	return b, b.listen()
}

func (b *bank) url() string { return "http://" + b.addr + "/kyc/webhooks" }

func (b *bank) listen() error {
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return fmt.Errorf("bank receiver: %w", err)
	}
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// setMode switches the receiver; going down closes its port, coming back
// from down opens it again.
func (b *bank) setMode(m bankMode) error {
	b.mu.Lock()
	was, srv := b.mode, b.srv
	b.mode = m
	if m == bankUp && was != bankUp {
		b.upAt = time.Now()
	}
	b.mu.Unlock()
	switch {
	case m == bankDown && was != bankDown:
		return srv.Close()
	case m != bankDown && was == bankDown:
		return b.listen()
	}
	return nil
}

func (b *bank) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		_ = b.srv.Close()
	}
}

func (b *bank) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	mode := b.mode
	b.mu.Unlock()
	switch mode {
	case bankErrors:
		b.count(&b.refused)
		http.Error(w, "bank: internal error", http.StatusInternalServerError)
		return
	case bankSlow:
		b.count(&b.refused)
		time.Sleep(bankTimeout + 500*time.Millisecond)
		http.Error(w, "bank: too late", http.StatusServiceUnavailable)
		return
	}
	for _, wh := range b.hooks {
		if err := wh.Verify(body, r.Header); err != nil {
			b.count(&b.badSigs)
			http.Error(w, "signature: "+err.Error(), http.StatusUnauthorized)
			return
		}
	}
	var p message.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "json", http.StatusBadRequest)
		return
	}
	id := r.Header.Get("webhook-id")
	b.mu.Lock()
	b.receipts[id]++
	if b.receipts[id] == 1 {
		b.lastNew = time.Now()
		b.order[p.Data.CaseID] = append(b.order[p.Data.CaseID], p.Data.Seq)
		b.bodies[id] = append(b.bodies[id], p.Type)
	}
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (b *bank) count(n *int) {
	b.mu.Lock()
	*n++
	b.mu.Unlock()
}

const bankClassKey = "bank-webhooks"

// bankOutage is the fault class: the bank's receiver is down (connections
// refused), then answers 500s, then answers too late, while the batch's
// cases run; then it is back. Each phase lasts set.bankPhase.
func bankOutage(ctx context.Context, r *classRun) error {
	if !r.waitCalls(ctx, 60*time.Second) {
		return nil
	}
	b := r.st.bank
	start := time.Now()
	for _, m := range []bankMode{bankDown, bankErrors, bankSlow} {
		if err := b.setMode(m); err != nil {
			return err
		}
		if err := sleep(ctx, r.set.bankPhase); err != nil {
			_ = b.setMode(bankUp)
			return err
		}
	}
	if err := b.setMode(bankUp); err != nil {
		return err
	}
	r.addEpisode(start, time.Now())
	b.mu.Lock()
	refused := b.refused
	b.mu.Unlock()
	r.note("the bank's webhook receiver down for %s, then answering 500 for %s, then too late (after the %s timeout) for %s; %d deliveries refused or timed out",
		r.set.bankPhase, r.set.bankPhase, bankTimeout, r.set.bankPhase, refused)
	if refused == 0 {
		// The deliverer retries every few seconds here: no attempt in the
		// 500 and late phases means it stopped, and the class tested nothing.
		return fmt.Errorf("no delivery reached the bank while it answered 500 or too late: the deliverer did not retry through the outage")
	}
	return nil
}

// checkBankWebhooks checks what the bank received for the batch's cases
// against their event logs: every status change, capture and verified
// recording received (after a wait for retries in flight), each first
// received in log order, nothing received that the log does not hold,
// every signature valid with both secrets, and every delivery row of the
// outbox delivered. A message received more than once (at least once) is
// counted, not a finding: the bank deduplicates by webhook-id.
func (v *verifier) checkBankWebhooks(ctx context.Context) error {
	b := v.r.st.bank
	want := map[string][]int64{}
	for _, c := range v.r.cases {
		id := c.caseID()
		if id == "" {
			continue
		}
		rows, err := v.r.st.db.QueryContext(ctx, "SELECT seq, type FROM case_events WHERE case_id = $1 ORDER BY seq", id)
		if err != nil {
			return fmt.Errorf("read the log of %s: %w", id, err)
		}
		for rows.Next() {
			var seq int64
			var typ string
			if err := rows.Scan(&seq, &typ); err != nil {
				_ = rows.Close()
				return err
			}
			if message.Relevant(typ) {
				want[id] = append(want[id], seq)
			}
		}
		_ = rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	complete := func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for id, seqs := range want {
			if len(b.order[id]) < len(seqs) {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(90 * time.Second)
	for !complete() && time.Now().Before(deadline) {
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	total, again := 0, 0
	for id, seqs := range want {
		got := b.order[id]
		total += len(seqs)
		for _, s := range seqs {
			if n := b.receipts[message.ID(id, s)]; n > 1 {
				again += n - 1
			}
		}
		switch {
		case len(got) < len(seqs):
			v.lost("case %s: the bank received webhooks of events %v, the log holds %v", id, got, seqs)
		case !slices.Equal(got, seqs):
			v.problem("case %s: the bank received webhooks of events %v in this order, the log holds %v", id, got, seqs)
		}
	}
	for wid := range b.receipts {
		caseID, ok := caseOfMessage(wid)
		if !ok {
			v.problem("the bank received a webhook with an id the engine does not make: %s", wid)
			continue
		}
		if _, ours := want[caseID]; !ours {
			continue // another class's case
		}
		if !slices.ContainsFunc(want[caseID], func(s int64) bool { return message.ID(caseID, s) == wid }) {
			v.problem("the bank received %s, which the case's log does not hold", wid)
		}
	}
	if b.badSigs > 0 {
		v.problem("%d webhooks failed signature verification", b.badSigs)
	}
	var pending, failed int
	for id := range want {
		err := v.r.st.db.QueryRowContext(ctx,
			"SELECT COUNT(*) FILTER (WHERE state = 'pending'), COUNT(*) FILTER (WHERE state = 'failed') FROM webhook_deliveries WHERE case_id = $1", id).
			Scan(&pending, &failed)
		if err != nil {
			return fmt.Errorf("read the deliveries of %s: %w", id, err)
		}
		if pending+failed > 0 {
			v.problem("case %s: %d deliveries still pending and %d failed in the outbox", id, pending, failed)
		}
	}
	if v.r.st.external != nil {
		v.res.Measured = append(v.res.Measured, fmt.Sprintf("the bank's webhooks: all %d of the batch's logs received, first in log order, from two API replicas (%d received more than once, deduplicated by webhook-id)", total, again))
	}
	if v.r.cls.key != bankClassKey {
		return nil
	}
	caughtUp := "before it came back"
	if b.lastNew.After(b.upAt) {
		caughtUp = b.lastNew.Sub(b.upAt).Round(100*time.Millisecond).String() + " after it came back"
	}
	v.res.Injected = append(v.res.Injected, fmt.Sprintf("the bank had all %d webhooks of the batch's logs %s, first received in log order, signed with both secrets (%d received more than once, deduplicated by webhook-id)", total, caughtUp, again))
	return nil
}

// caseOfMessage is the case id in a webhook-id made by message.ID.
func caseOfMessage(wid string) (string, bool) {
	rest, ok := strings.CutPrefix(wid, "msg_")
	i := strings.LastIndex(rest, "_")
	if !ok || i <= 0 {
		return "", false
	}
	return rest[:i], true
}
