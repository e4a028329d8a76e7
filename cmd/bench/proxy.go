package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// hookProxy sits between the simulator and the API's webhook endpoint and
// notes when the API answered 200 to each event, which is when 100ms
// considers an event delivered. It forwards every byte and header as is;
// it only records while recording is on (scenario 3), so that it holds no
// memory the rest of the time.
type hookProxy struct {
	addr   string // where the simulator delivers
	target atomic.Pointer[string]
	hc     *http.Client
	on     atomic.Bool

	mu       sync.Mutex
	answered map[string]time.Time // room|type|role → first 200
}

func newHookProxy(target string) *hookProxy {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	p := &hookProxy{hc: &http.Client{Timeout: 30 * time.Second, Transport: tr}, answered: map[string]time.Time{}}
	p.setTarget(target)
	return p
}

// setTarget points the proxy at another API (scenario 7's real-server engine).
func (p *hookProxy) setTarget(target string) { p.target.Store(&target) }

func answerKey(room, typ, role string) string { return room + "|" + typ + "|" + role }

func (p *hookProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, *p.target.Load(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close() // fully read above
	if resp.StatusCode == http.StatusOK && p.on.Load() {
		p.note(body, time.Now())
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

func (p *hookProxy) note(body []byte, at time.Time) {
	var ev struct {
		Type string `json:"type"`
		Data struct {
			RoomName string `json:"room_name"`
			Role     string `json:"role"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &ev) != nil {
		return
	}
	role := ev.Data.Role
	if ev.Type != "peer.join.success" && ev.Type != "peer.leave.success" {
		role = ""
	}
	k := answerKey(ev.Data.RoomName, ev.Type, role)
	p.mu.Lock()
	if _, seen := p.answered[k]; !seen {
		p.answered[k] = at
	}
	p.mu.Unlock()
}

// record turns recording on or off; off forgets what was recorded.
func (p *hookProxy) record(on bool) {
	p.on.Store(on)
	if !on {
		p.mu.Lock()
		p.answered = map[string]time.Time{}
		p.mu.Unlock()
	}
}

// answeredAt returns when the first delivery of the event was answered 200,
// waiting up to within for the answer to come back through the proxy.
func (p *hookProxy) answeredAt(ctx context.Context, room, typ, role string, within time.Duration) (time.Time, bool) {
	k := answerKey(room, typ, role)
	deadline := time.Now().Add(within)
	for {
		p.mu.Lock()
		at, ok := p.answered[k]
		p.mu.Unlock()
		if ok {
			return at, true
		}
		if time.Now().After(deadline) || sleepCtx(ctx, 5*time.Millisecond) != nil {
			return time.Time{}, false
		}
	}
}
