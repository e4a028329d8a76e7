package hmssim_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
)

// hmssimGoroutines returns the stacks of goroutines running simulator code.
func hmssimGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "vkyc/internal/callprovider/hmssim.") {
			out = append(out, g)
		}
	}
	return out
}

// TestCloseLeavesNoGoroutines closes a simulator with every kind of pending
// work: a delivery hanging on a slow receiver, retries scheduled, an
// abnormal leave, a delayed session close and a recording about to start.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	if g := hmssimGoroutines(); len(g) != 0 {
		t.Fatalf("simulator goroutines before the test:\n%s", strings.Join(g, "\n\n"))
	}
	hanging := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hanging:
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer slow.Close()
	defer close(hanging)
	failing := newReceiver(t, func(hook, int) int { return http.StatusInternalServerError })

	s, err := hmssim.New(hmssim.Config{
		AccessKey: testAccessKey, AppSecret: testAppSecret,
		WebhookURL: failing.URL(), RetrySchedule: []time.Duration{time.Hour},
		RecordingStartDelay: time.Hour, AbnormalLeaveDelay: time.Hour, SessionCloseDelay: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	sm := &sim{Server: s, URL: ts.URL}
	room := sm.createRoom(t, map[string]any{"name": "closing"})
	a := sm.join(t, room.ID, "agent", "a1")
	c := sm.join(t, room.ID, "customer", "c1")
	sm.leave(t, c.PeerID, hmssim.ReasonICEClosed)
	hung := sm.createRoom(t, map[string]any{"name": "hung", "webhook": map[string]any{"url": slow.URL}})
	sm.join(t, hung.ID, "agent", "a2")
	other := sm.createRoom(t, map[string]any{"name": "delayed-close"})
	o := sm.join(t, other.ID, "agent", "a3")
	sm.leave(t, o.PeerID, hmssim.ReasonClientRequest)
	failing.waitFor(t, "failed first tries", 5*time.Second, func(hs []hook) bool { return len(hs) >= 3 })
	_ = a
	ts.Close()

	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("Close did not return; simulator goroutines:\n%s", strings.Join(hmssimGoroutines(), "\n\n"))
	}
	// A goroutine that has returned (its WaitGroup done) may still be on
	// its way out of the runtime for a moment.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		g := hmssimGoroutines()
		if len(g) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Close:\n%s", strings.Join(g, "\n\n"))
		}
	}
	s.Close() // idempotent
}
