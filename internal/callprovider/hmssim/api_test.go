package hmssim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
)

var hex24 = regexp.MustCompile(`^[0-9a-f]{24}$`)

func TestRoomCreateIsAnUpsertByName(t *testing.T) {
	s := newSim(t, hmssim.Config{AppID: "aaaaaaaaaaaaaaaaaaaaaaaa", CustomerID: "bbbbbbbbbbbbbbbbbbbbbbbb"})
	first := s.createRoom(t, map[string]any{"name": "Kyc-Case:1_a.b", "description": "first"})
	if !hex24.MatchString(first.ID) || !first.Enabled || first.AppID != "aaaaaaaaaaaaaaaaaaaaaaaa" || first.CustomerID != "bbbbbbbbbbbbbbbbbbbbbbbb" {
		t.Fatalf("created room %+v", first)
	}
	var again map[string]any
	s.api(t, http.MethodPost, "/v2/rooms", map[string]any{"name": "kyc-case:1_A.B", "description": "second"}, &again)
	if again["id"] != first.ID || again["description"] != "second" || again["name"] != "Kyc-Case:1_a.b" {
		t.Fatalf("upsert answered %v, want room %s updated", again, first.ID)
	}
	for _, key := range []string{"created_at", "updated_at"} {
		if _, err := time.Parse(time.RFC3339Nano, again[key].(string)); err != nil {
			t.Errorf("%s %q: %v", key, again[key], err)
		}
	}
	// A disabled room stays disabled when created again.
	s.api(t, http.MethodPost, "/v2/rooms/"+first.ID, map[string]any{"enabled": false}, nil)
	if r := s.createRoom(t, map[string]any{"name": "kyc-case:1_a.b"}); r.ID != first.ID || r.Enabled {
		t.Fatalf("create of a disabled room's name: %+v", r)
	}
	unnamed := s.createRoom(t, map[string]any{})
	if unnamed.Name == "" || unnamed.ID == first.ID {
		t.Fatalf("unnamed room %+v", unnamed)
	}
}

func TestRoomValidation(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	tests := []struct {
		name    string
		body    any
		status  int
		message string
	}{
		{"space in name", map[string]any{"name": "bad name"}, 400, "invalid room name"},
		{"slash in name", map[string]any{"name": "a/b"}, 400, "invalid room name"},
		{"unknown template", map[string]any{"name": "ok", "template_id": "0123456789abcdef01234567"}, 400, "Template not found"},
		{"bad region", map[string]any{"name": "ok", "region": "mars"}, 400, "invalid region"},
		{"short max duration", map[string]any{"name": "ok", "max_duration_seconds": 60}, 400, "invalid max_duration_seconds"},
		{"not JSON", "{", 400, "invalid request body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, b := do(t, http.MethodPost, s.URL+"/v2/rooms", mgmtToken(t), tc.body)
			if e := decodeError(t, b); status != tc.status || e.Code != tc.status || e.Message != tc.message {
				t.Fatalf("status %d body %s, want %d %q", status, b, tc.status, tc.message)
			}
		})
	}
	for _, path := range []string{"/v2/rooms/0123456789abcdef01234567", "/v2/sessions/0123456789abcdef01234567",
		"/v2/recordings/0123456789abcdef01234567", "/v2/templates/0123456789abcdef01234567", "/v2/no-such-thing"} {
		status, b := do(t, http.MethodGet, s.URL+path, mgmtToken(t), nil)
		if e := decodeError(t, b); status != 404 || e.Code != 404 || e.Message == "" {
			t.Errorf("GET %s: %d %s, want a 404 body", path, status, b)
		}
	}
}

func TestListPagination(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	var created []string
	for i := range 25 {
		created = append(created, s.createRoom(t, map[string]any{"name": fmt.Sprintf("page-%02d", i)}).ID)
	}
	s.api(t, http.MethodPost, "/v2/rooms/"+created[3], map[string]any{"enabled": false}, nil)

	type pageOut struct {
		Limit int       `json:"limit"`
		Data  []roomOut `json:"data"`
		Last  string    `json:"last"`
	}
	var all []string
	cursor := ""
	var sizes []int
	for {
		q := "/v2/rooms?limit=10"
		if cursor != "" {
			q += "&start=" + cursor
		}
		var p pageOut
		s.api(t, http.MethodGet, q, nil, &p)
		if p.Limit != 10 {
			t.Fatalf("limit %d", p.Limit)
		}
		sizes = append(sizes, len(p.Data))
		for _, r := range p.Data {
			all = append(all, r.ID)
		}
		if len(p.Data) > 0 && p.Last != p.Data[len(p.Data)-1].ID {
			t.Fatalf("last %q is not the page's last id", p.Last)
		}
		if len(p.Data) < p.Limit {
			break
		}
		cursor = p.Last
	}
	if !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Fatalf("page sizes %v", sizes)
	}
	newestFirst := slices.Clone(created)
	slices.Reverse(newestFirst)
	if !slices.Equal(all, newestFirst) {
		t.Fatalf("listing is not every room newest first:\n%v\n%v", all, newestFirst)
	}

	var p pageOut
	s.api(t, http.MethodGet, "/v2/rooms?limit=1000", nil, &p)
	if p.Limit != 100 || len(p.Data) != 25 {
		t.Fatalf("limit 1000: limit %d, %d rooms", p.Limit, len(p.Data))
	}
	s.api(t, http.MethodGet, "/v2/rooms?limit=3", nil, &p)
	if p.Limit != 10 || len(p.Data) != 10 {
		t.Fatalf("limit 3 (documented minimum 10): limit %d, %d rooms", p.Limit, len(p.Data))
	}
	s.api(t, http.MethodGet, "/v2/rooms?enabled=false", nil, &p)
	if len(p.Data) != 1 || p.Data[0].ID != created[3] {
		t.Fatalf("enabled=false: %+v", p.Data)
	}
	s.api(t, http.MethodGet, "/v2/rooms?name=PAGE-07", nil, &p)
	if len(p.Data) != 1 || p.Data[0].ID != created[7] {
		t.Fatalf("name filter: %+v", p.Data)
	}
	s.api(t, http.MethodGet, "/v2/rooms?start="+created[0], nil, &p)
	if len(p.Data) != 0 || p.Last != "" {
		t.Fatalf("page after the oldest room: %+v", p)
	}
	for _, bad := range []string{"limit=ten", "start=xyz", "enabled=maybe", "after=yesterday"} {
		if status, _ := do(t, http.MethodGet, s.URL+"/v2/rooms?"+bad, mgmtToken(t), nil); status != 400 {
			t.Errorf("?%s: status %d, want 400", bad, status)
		}
	}
}

func TestTemplates(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	body := map[string]any{
		"name":     "vkyc",
		"roles":    map[string]any{"agent": map[string]any{"name": "agent", "priority": 1}, "customer": map[string]any{"name": "customer"}},
		"settings": map[string]any{"region": "in", "roomState": map[string]any{"enabled": true}},
	}
	var created map[string]any
	s.api(t, http.MethodPost, "/v2/templates", body, &created)
	id, _ := created["id"].(string)
	if !hex24.MatchString(id) || created["name"] != "vkyc" {
		t.Fatalf("created %v", created)
	}
	body["settings"] = map[string]any{"region": "eu"}
	var overwritten map[string]any
	s.api(t, http.MethodPost, "/v2/templates", body, &overwritten)
	if overwritten["id"] != id {
		t.Fatalf("create with the same name made %v, want %s overwritten", overwritten["id"], id)
	}
	// Update is a full overwrite: what is not sent is gone.
	var updated map[string]any
	s.api(t, http.MethodPost, "/v2/templates/"+id, map[string]any{"roles": map[string]any{"agent": map[string]any{"name": "agent"}}}, &updated)
	if _, ok := updated["settings"]; ok || updated["name"] != "vkyc" {
		t.Fatalf("after update: %v", updated)
	}
	roles, _ := updated["roles"].(map[string]any)
	if len(roles) != 1 || roles["agent"] == nil {
		t.Fatalf("roles after update: %v", updated["roles"])
	}
	var recs []map[string]any
	s.api(t, http.MethodPost, "/v2/templates/"+id+"/recordings", []any{map[string]any{"name": "r", "compositeRecording": map[string]any{"browserComposite": map[string]any{"autoStart": true}}}}, &recs)
	if len(recs) != 1 {
		t.Fatalf("recordings answer %v", recs)
	}
	if status, _ := do(t, http.MethodPost, s.URL+"/v2/templates/"+id+"/recordings", mgmtToken(t), []any{map[string]any{}, map[string]any{}}); status != 400 {
		t.Fatalf("two recording configs: status %d, want 400", status)
	}
	var role map[string]any
	s.api(t, http.MethodPost, "/v2/templates/"+id+"/roles/customer", map[string]any{"priority": 2}, &role)
	if role["name"] != "customer" {
		t.Fatalf("role answer %v", role)
	}
	st := s.State()
	if len(st.Templates) != 1 || !slices.Equal(st.Templates[0].Roles, []string{"agent", "customer"}) {
		t.Fatalf("state templates %+v", st.Templates)
	}
	for _, bad := range []any{map[string]any{}, map[string]any{"name": "x", "roles": []any{map[string]any{}}}, map[string]any{"name": "x", "roles": map[string]any{"a": map[string]any{"name": "b"}}}} {
		if status, b := do(t, http.MethodPost, s.URL+"/v2/templates", mgmtToken(t), bad); status != 400 {
			t.Errorf("template %v: %d %s, want 400", bad, status, b)
		}
	}
}

func TestEndpointFaults(t *testing.T) {
	s := newSim(t, hmssim.Config{Faults: hmssim.Faults{Endpoints: map[string]hmssim.EndpointFault{
		"POST /v2/rooms":          {ErrorRate: 1, Status: 429, RetryAfter: 1500 * time.Millisecond},
		"GET /v2/rooms/{id}":      {ErrorRate: 1, Status: 503},
		"GET /v2/sessions":        {Latency: 100 * time.Millisecond},
		"GET /v2/recordings/{id}": {ErrorRate: 1}, // status defaults to 500
	}}})
	resp, err := http.DefaultClient.Do(func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/v2/rooms", nil)
		req.Header.Set("Authorization", "Bearer "+mgmtToken(t))
		return req
	}())
	if err != nil {
		t.Fatal(err)
	}
	var e errorBody
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || e.Code != 429 {
		t.Fatalf("429 fault: status %d Retry-After %q body %+v", resp.StatusCode, resp.Header.Get("Retry-After"), e)
	}
	if status, _ := do(t, http.MethodGet, s.URL+"/v2/rooms/0123456789abcdef01234567", mgmtToken(t), nil); status != 503 {
		t.Fatalf("503 fault on a pattern with another wildcard name: %d", status)
	}
	if status, _ := do(t, http.MethodGet, s.URL+"/v2/recordings/0123456789abcdef01234567", mgmtToken(t), nil); status != 500 {
		t.Fatalf("default status: %d", status)
	}
	// Faults come before authentication, as a load balancer's would.
	if status, _ := do(t, http.MethodPost, s.URL+"/v2/rooms", "", nil); status != 429 {
		t.Fatalf("fault without token: %d", status)
	}
	start := time.Now()
	if status, _ := do(t, http.MethodGet, s.URL+"/v2/sessions", mgmtToken(t), nil); status != 200 {
		t.Fatalf("latency-only fault: status %d", status)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("latency fault answered after %s", d)
	}
	if status, _ := do(t, http.MethodGet, s.URL+"/v2/templates", mgmtToken(t), nil); status != 200 {
		t.Fatalf("an endpoint without faults: %d", status)
	}

	// Partial rates: the same seed fails the same calls.
	pattern := func() string {
		s.SetFaults(hmssim.Faults{Seed: 9, Endpoints: map[string]hmssim.EndpointFault{"*": {ErrorRate: 0.5}}})
		out := ""
		for range 40 {
			status, _ := do(t, http.MethodGet, s.URL+"/v2/rooms", mgmtToken(t), nil)
			out += strconv.Itoa(status / 100)
		}
		return out
	}
	a, b := pattern(), pattern()
	if a != b {
		t.Fatalf("same seed, different failures:\n%s\n%s", a, b)
	}
	if n := len(regexp.MustCompile("5").FindAllString(a, -1)); n < 8 || n > 32 {
		t.Fatalf("rate 0.5 failed %d of 40 calls: %s", n, a)
	}
}

func TestFaultsControlEndpoint(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	body := `{"endpoints":{"GET /v2/rooms":{"error_rate":1,"status":502,"retry_after":"3s","latency":1000000}},"webhook_duplicate":true,"webhook_reorder":0.25,"seed":5}`
	if status := postFaults(t, s, body); status != 200 {
		t.Fatalf("set faults: %d", status)
	}
	status, b := do(t, http.MethodGet, s.URL+"/sim/v1/faults", "", nil)
	f, err := hmssim.ParseFaults(b)
	if err != nil || status != 200 {
		t.Fatalf("get faults: %d %s %v", status, b, err)
	}
	want := hmssim.EndpointFault{ErrorRate: 1, Status: 502, RetryAfter: 3 * time.Second, Latency: time.Millisecond}
	if f.Endpoints["GET /v2/rooms"] != want || !f.WebhookDuplicate || f.WebhookReorder != 0.25 || f.Seed != 5 {
		t.Fatalf("faults read back: %+v", f)
	}
	if status, _ := do(t, http.MethodGet, s.URL+"/v2/rooms", mgmtToken(t), nil); status != 502 {
		t.Fatalf("fault set at run time not applied: %d", status)
	}
	// A body over the limit is refused, not cut to a shorter one that parses.
	tooLong := `{"seed":7}` + strings.Repeat(" ", 1<<20)
	for _, bad := range []string{`{"webhook_reorder":2}`, `{"endpoints":{"*":{"status":42}}}`, `{"endpoints":{"*":{"latency":"soon"}}}`, `[`, tooLong} {
		if status := postFaults(t, s, bad); status != 400 {
			t.Errorf("faults %.40q: status %d, want 400", bad, status)
		}
	}
	if _, b := do(t, http.MethodGet, s.URL+"/sim/v1/faults", "", nil); !strings.Contains(string(b), `"seed":5`) {
		t.Fatalf("a refused body changed the faults: %s", b)
	}
}

// postFaults sends body, as it is, to the simulator's fault control
// endpoint and returns the answer's status.
func postFaults(t *testing.T, s *sim, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/sim/v1/faults", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStateAndSessionsAPI(t *testing.T) {
	s := newSim(t, hmssim.Config{RecordingStartDelay: 5 * time.Millisecond})
	room := s.createRoom(t, map[string]any{"name": "state"})
	a := s.join(t, room.ID, "agent", "a1")
	c := s.join(t, room.ID, "customer", "c1")
	s.leave(t, c.PeerID, hmssim.ReasonClientRequest)

	var active struct {
		ID      string `json:"id"`
		Session struct {
			ID    string   `json:"id"`
			Peers []string `json:"peers"`
		} `json:"session"`
	}
	s.api(t, http.MethodGet, "/v2/active-rooms/"+room.ID, nil, &active)
	if active.ID != room.ID || active.Session.ID != a.SessionID || !slices.Equal(active.Session.Peers, []string{a.PeerID}) {
		t.Fatalf("active room %+v", active)
	}
	var sessions struct {
		Data []struct {
			ID     string         `json:"id"`
			Active bool           `json:"active"`
			Peers  map[string]any `json:"peers"`
		} `json:"data"`
	}
	s.api(t, http.MethodGet, "/v2/sessions?room_id="+room.ID+"&active=true", nil, &sessions)
	if len(sessions.Data) != 1 || !sessions.Data[0].Active || len(sessions.Data[0].Peers) != 2 {
		t.Fatalf("active sessions %+v", sessions.Data)
	}
	s.leave(t, a.PeerID, hmssim.ReasonClientRequest)
	s.api(t, http.MethodGet, "/v2/sessions?room_id="+room.ID+"&active=true", nil, &sessions)
	if len(sessions.Data) != 0 {
		t.Fatalf("active sessions after the call %+v", sessions.Data)
	}

	var st hmssim.State
	status, b := do(t, http.MethodGet, s.URL+"/sim/v1/state", "", nil)
	if err := json.Unmarshal(b, &st); err != nil || status != 200 {
		t.Fatalf("state: %d %s", status, b)
	}
	if len(st.Rooms) != 1 || st.Rooms[0].ActiveSessionID != "" || len(st.Sessions) != 1 || len(st.Sessions[0].Peers) != 2 || len(st.Recordings) != 1 || st.Events == 0 {
		t.Fatalf("state %+v", st)
	}
}
