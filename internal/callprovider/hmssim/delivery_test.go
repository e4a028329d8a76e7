package hmssim_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
)

var scaledSchedule = []time.Duration{50 * time.Millisecond, 150 * time.Millisecond, 500 * time.Millisecond}

// The receiver's clock sees the gaps; scheduling on a loaded 2-core machine
// may add delay but never remove it.
const (
	gapEarly = 5 * time.Millisecond
	gapLate  = 250 * time.Millisecond
)

// openSession produces exactly two events (session.open.success then
// peer.join.success): the room has a template without auto-recording.
func openSession(t *testing.T, s *sim, name string) joined {
	t.Helper()
	var tpl struct {
		ID string `json:"id"`
	}
	s.api(t, http.MethodPost, "/v2/templates", map[string]any{
		"name": "tpl-" + name, "roles": map[string]any{"agent": map[string]any{}, "customer": map[string]any{}},
	}, &tpl)
	room := s.createRoom(t, map[string]any{"name": name, "template_id": tpl.ID})
	return s.join(t, room.ID, "agent", "a1")
}

func attemptsOf(hs []hook, eventType string) []hook {
	var out []hook
	for _, h := range hs {
		if h.Type == eventType {
			out = append(out, h)
		}
	}
	return out
}

func checkGaps(t *testing.T, tries []hook, schedule []time.Duration) {
	t.Helper()
	for i := 1; i < len(tries); i++ {
		gap, want := tries[i].At.Sub(tries[i-1].At), schedule[i-1]
		if gap < want-gapEarly || gap > want+gapLate {
			t.Errorf("gap before try %d: %s, want %s (-%s/+%s)", i+1, gap, want, gapEarly, gapLate)
		}
	}
}

func TestDeliveryRetriedUntilAccepted(t *testing.T) {
	rx := newReceiver(t, func(_ hook, seen int) int {
		if seen < 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RetrySchedule: scaledSchedule})
	openSession(t, s, "retry-ok")
	all := rx.waitFor(t, "3 tries of each event", 5*time.Second, func(hs []hook) bool {
		return len(attemptsOf(hs, "session.open.success")) == 3 && len(attemptsOf(hs, "peer.join.success")) == 3
	})
	tries := attemptsOf(all, "session.open.success")
	for i, h := range tries {
		if h.ID != tries[0].ID || string(h.Body) != string(tries[0].Body) {
			t.Fatalf("try %d is not the same event: id %s", i+1, h.ID)
		}
	}
	if tries[2].Status != http.StatusOK {
		t.Fatalf("third try answered %d", tries[2].Status)
	}
	checkGaps(t, tries, scaledSchedule)

	time.Sleep(scaledSchedule[2] + 100*time.Millisecond)
	if n := len(attemptsOf(rx.requests(), "session.open.success")); n != 3 {
		t.Fatalf("%d tries of an accepted event, want 3", n)
	}
	var log []hmssim.Delivery
	for _, d := range s.Deliveries() {
		if d.EventID == tries[0].ID {
			log = append(log, d)
		}
	}
	if len(log) != 3 || log[0].Status != 500 || log[1].Status != 500 || !log[2].Delivered() || log[2].Attempt != 3 || log[2].GaveUp {
		t.Fatalf("delivery log: %+v", log)
	}
	// The control API serves the same log.
	status, b := do(t, http.MethodGet, s.URL+"/sim/v1/deliveries", "", nil)
	var served struct {
		Deliveries []hmssim.Delivery `json:"deliveries"`
	}
	if err := json.Unmarshal(b, &served); err != nil || status != http.StatusOK {
		t.Fatalf("GET /sim/v1/deliveries: %d %s %v", status, b, err)
	}
	var servedLog []hmssim.Delivery
	for _, d := range served.Deliveries {
		if d.EventID == tries[0].ID {
			servedLog = append(servedLog, d)
		}
	}
	if got, want := mustJSON(t, servedLog), mustJSON(t, log); got != want {
		t.Fatalf("GET /sim/v1/deliveries:\n%s\nwant\n%s", got, want)
	}
}

func TestDeliveryGivenUpAfterFourTries(t *testing.T) {
	rx := newReceiver(t, func(hook, int) int { return http.StatusServiceUnavailable })
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RetrySchedule: scaledSchedule})
	openSession(t, s, "retry-never")
	all := rx.waitFor(t, "4 tries", 5*time.Second, func(hs []hook) bool {
		return len(attemptsOf(hs, "session.open.success")) == 4
	})
	checkGaps(t, attemptsOf(all, "session.open.success"), scaledSchedule)
	// Well past the point where a fifth try would have come.
	time.Sleep(scaledSchedule[2] + 300*time.Millisecond)
	if n := len(attemptsOf(rx.requests(), "session.open.success")); n != 4 {
		t.Fatalf("%d tries, want exactly 4", n)
	}
	var last hmssim.Delivery
	for _, d := range s.Deliveries() {
		if d.Type == "session.open.success" {
			last = d
		}
	}
	if last.Attempt != 4 || !last.GaveUp || last.Status != http.StatusServiceUnavailable {
		t.Fatalf("last delivery: %+v", last)
	}
}

// A network error counts as a failed try like a non-200 answer.
func TestDeliveryRetriesNetworkErrors(t *testing.T) {
	rx := newReceiver(t, nil)
	url := rx.URL()
	rx.srv.Close() // nothing listens any more
	s := newSim(t, hmssim.Config{WebhookURL: url, RetrySchedule: []time.Duration{time.Millisecond, time.Millisecond}})
	openSession(t, s, "network-error")
	eventually(t, "the delivery to be given up", 5*time.Second, func() bool {
		for _, d := range s.Deliveries() {
			if d.Type == "session.open.success" && d.GaveUp {
				return d.Attempt == 3 && d.Status == 0 && d.Error != ""
			}
		}
		return false
	})
}

// Events go out in creation order even when an earlier one is being retried.
func TestDeliveryOrderAndIndependentRetries(t *testing.T) {
	rx := newReceiver(t, func(h hook, seen int) int {
		if h.Type == "session.open.success" && seen == 0 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RetrySchedule: []time.Duration{200 * time.Millisecond}})
	p := openSession(t, s, "order")
	s.join(t, p.RoomID, "customer", "c1")
	s.leave(t, p.PeerID, hmssim.ReasonClientRequest)
	all := rx.waitFor(t, "the retried event", 5*time.Second, func(hs []hook) bool {
		return len(attemptsOf(hs, "session.open.success")) == 2
	})
	want := []string{"session.open.success", "peer.join.success", "peer.join.success", "peer.leave.success", "session.open.success"}
	if !slices.Equal(types(all), want) {
		t.Fatalf("arrival order %v, want %v", types(all), want)
	}
}

func TestDeliveryDuplicateFault(t *testing.T) {
	rx := newReceiver(t, nil)
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), Faults: hmssim.Faults{WebhookDuplicate: true}})
	openSession(t, s, "dup")
	all := rx.waitFor(t, "4 deliveries", 5*time.Second, func(hs []hook) bool { return len(hs) == 4 })
	if !slices.Equal(types(all), []string{"session.open.success", "session.open.success", "peer.join.success", "peer.join.success"}) {
		t.Fatalf("arrivals %v", types(all))
	}
	for i := 0; i < 4; i += 2 {
		if all[i].ID != all[i+1].ID || string(all[i].Body) != string(all[i+1].Body) {
			t.Fatalf("duplicate of %s differs: %s vs %s", all[i].Type, all[i].ID, all[i+1].ID)
		}
	}
	// The log is written once the receiver's answer is back.
	eventually(t, "2 deliveries marked duplicate", 5*time.Second, func() bool {
		dups := 0
		for _, d := range s.Deliveries() {
			if d.Duplicate && d.Delivered() {
				dups++
			}
		}
		return dups == 2
	})
}

func TestDeliveryReorderFault(t *testing.T) {
	rx := newReceiver(t, nil)
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RetrySchedule: []time.Duration{time.Second},
		Faults: hmssim.Faults{WebhookReorder: 1}})
	p := openSession(t, s, "reorder")
	rx.waitFor(t, "the first pair", 5*time.Second, func(hs []hook) bool { return len(hs) == 2 })
	c := s.join(t, p.RoomID, "customer", "c1")
	s.leave(t, c.PeerID, hmssim.ReasonClientRequest)
	all := rx.waitFor(t, "4 events", 5*time.Second, func(hs []hook) bool { return len(hs) == 4 })
	// Every held event goes out right after its successor: pairs swap.
	want := []string{"peer.join.success", "session.open.success", "peer.leave.success", "peer.join.success"}
	if !slices.Equal(types(all), want) {
		t.Fatalf("arrivals %v, want %v", types(all), want)
	}
	if all[3].str("user_id") != "c1" || all[0].str("user_id") != "a1" {
		t.Fatalf("wrong pairs: %v / %v", all[0].Data, all[3].Data)
	}
}

// A held event with no successor still goes out (after the hold limit).
func TestDeliveryReorderNeverLosesTheLastEvent(t *testing.T) {
	rx := newReceiver(t, nil)
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RetrySchedule: []time.Duration{30 * time.Millisecond},
		Faults: hmssim.Faults{WebhookReorder: 1}})
	p := openSession(t, s, "reorder-last")
	rx.waitFor(t, "the first pair", 5*time.Second, func(hs []hook) bool { return len(hs) == 2 })
	s.join(t, p.RoomID, "customer", "c1")
	rx.waitFor(t, "the lone held event", 5*time.Second, func(hs []hook) bool { return len(hs) == 3 })
}

func TestDeliveryDropFirstFault(t *testing.T) {
	rx := newReceiver(t, nil)
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RetrySchedule: scaledSchedule,
		Faults: hmssim.Faults{WebhookDropFirst: 1}})
	start := time.Now()
	openSession(t, s, "drop")
	all := rx.waitFor(t, "both events", 5*time.Second, func(hs []hook) bool { return len(hs) == 2 })
	for _, h := range all {
		if d := h.At.Sub(start); d < scaledSchedule[0] {
			t.Errorf("%s arrived after %s: the lost first try was not waited for", h.Type, d)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(rx.requests()); n != 2 {
		t.Fatalf("%d requests, want each event once", n)
	}
	var dropped, delivered int
	for _, d := range s.Deliveries() {
		switch {
		case d.Dropped && d.Attempt == 1 && d.Status == 0:
			dropped++
		case d.Delivered() && d.Attempt == 2:
			delivered++
		default:
			t.Errorf("unexpected delivery %+v", d)
		}
	}
	if dropped != 2 || delivered != 2 {
		t.Fatalf("dropped %d delivered %d, want 2 and 2", dropped, delivered)
	}
}

// Partial fault shares hit the same events for the same seed.
func TestDeliveryFaultsAreDeterministic(t *testing.T) {
	run := func(seed int64) []bool {
		rx := newReceiver(t, nil)
		s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RetrySchedule: []time.Duration{5 * time.Millisecond},
			Faults: hmssim.Faults{WebhookDropFirst: 0.5, Seed: seed}})
		p := openSession(t, s, "determinism")
		for i := range 10 {
			c := s.join(t, p.RoomID, "customer", "c"+string(rune('0'+i)))
			s.leave(t, c.PeerID, hmssim.ReasonClientRequest)
		}
		rx.waitFor(t, "22 events", 10*time.Second, func(hs []hook) bool { return len(hs) == 22 })
		dropped := make([]bool, 23)
		for _, d := range s.Deliveries() {
			if d.Dropped {
				dropped[d.Seq] = true
			}
		}
		return dropped
	}
	a, b, c := run(42), run(42), run(43)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different drops:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Fatalf("seeds 42 and 43 dropped the same events: %v", a)
	}
	n := 0
	for _, d := range a {
		if d {
			n++
		}
	}
	if n < 3 || n > 19 {
		t.Fatalf("share 0.5 dropped %d of 22 events", n)
	}
}

// A room's own webhook replaces the workspace URL and headers.
func TestRoomWebhookReplacesWorkspaceWebhook(t *testing.T) {
	workspace := newReceiver(t, nil)
	own := newReceiver(t, nil)
	s := newSim(t, hmssim.Config{WebhookURL: workspace.URL(), WebhookHeaders: map[string]string{"X-Workspace": "ws"},
		RecordingStartDelay: time.Minute})
	room := s.createRoom(t, map[string]any{"name": "own-hook", "webhook": map[string]any{
		"url": own.URL(), "headers": map[string]string{"X-Room-Secret": "room-secret"},
	}})
	var shown map[string]any
	s.api(t, http.MethodGet, "/v2/rooms/"+room.ID, nil, &shown)
	if wh, _ := shown["webhook"].(map[string]any); wh["url"] != own.URL() || wh["headers"] != nil {
		t.Fatalf("room webhook shown as %v: the URL without the secret headers was expected", shown["webhook"])
	}
	s.join(t, room.ID, "agent", "a1")
	got := own.waitFor(t, "2 events", 5*time.Second, func(hs []hook) bool { return len(hs) == 2 })
	if got[0].Header.Get("X-Room-Secret") != "room-secret" || got[0].Header.Get("X-Workspace") != "" {
		t.Fatalf("room webhook headers: %v", got[0].Header)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(workspace.requests()); n != 0 {
		t.Fatalf("workspace webhook got %d events of a room with its own webhook", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
