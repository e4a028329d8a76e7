package hmssim_test

// Contract tests: our 100ms client (internal/callprovider/hms) against the simulator, for
// every call the client makes. The simulator is written from the API
// reference independently of the client, so a mismatch here is a bug on one
// side or the other, never a shared misunderstanding made to agree.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
)

// wire records the status of every request the client sends.
type wire struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []string // "METHOD /path STATUS"
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	w.mu.Lock()
	w.log = append(w.log, fmt.Sprintf("%s %s %d", req.Method, req.URL.Path, status))
	w.mu.Unlock()
	return resp, err
}

func (w *wire) calls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.log)
}

func (w *wire) reset() {
	w.mu.Lock()
	w.log = nil
	w.mu.Unlock()
}

func newClient(t *testing.T, s *sim, mod func(*hms.Config)) (*hms.Client, *wire) {
	t.Helper()
	w := &wire{next: http.DefaultTransport}
	cfg := hms.Config{
		BaseURL:    s.URL + "/v2",
		AccessKey:  testAccessKey,
		AppSecret:  testAppSecret,
		HTTPClient: &http.Client{Transport: w, Timeout: 10 * time.Second},
		Logger:     slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := hms.New(cfg)
	if err != nil {
		t.Fatalf("hms.New: %v", err)
	}
	return c, w
}

// joinWith joins the simulator with a token minted by the client.
func joinWith(t *testing.T, s *sim, c *hms.Client, roomID, role, userID string) (joined, int) {
	t.Helper()
	tok, exp, err := c.AuthToken(hms.AuthTokenParams{RoomID: roomID, Role: role, UserID: userID, TTL: time.Hour})
	if err != nil {
		t.Fatalf("AuthToken: %v", err)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("AuthToken expires in %s, want 1h", d)
	}
	status, b := do(t, http.MethodPost, s.URL+"/sim/v1/join", "", map[string]string{"token": tok, "name": userID})
	var j joined
	if status == http.StatusOK {
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatalf("join answer %s: %v", b, err)
		}
	}
	return j, status
}

func apiErr(t *testing.T, err error) *hms.APIError {
	t.Helper()
	var ae *hms.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *hms.APIError", err, err)
	}
	return ae
}

// mustCreateRoom creates a room through the client or fails t.
func mustCreateRoom(t *testing.T, ctx context.Context, c *hms.Client, req hms.CreateRoomRequest) *hms.Room {
	t.Helper()
	room, err := c.CreateRoom(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return room
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestContractRooms(t *testing.T) {
	s := newSim(t, hmssim.Config{RecordingStartDelay: time.Minute})
	c, _ := newClient(t, s, nil)
	ctx := ctxT(t)

	name := "kyc-3f1e2d4c-5b6a-4789-8abc-def012345678-a1"
	first, err := c.CreateRoom(ctx, hms.CreateRoomRequest{Name: name, Description: "attempt 1", Region: "in"})
	if err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	again, err := c.CreateRoom(ctx, hms.CreateRoomRequest{Name: name, Description: "attempt 1, retried"})
	if err != nil {
		t.Fatalf("CreateRoom again: %v", err)
	}
	if !hex24.MatchString(first.ID) || again.ID != first.ID || again.Description != "attempt 1, retried" {
		t.Fatalf("create twice: %+v then %+v", first, again)
	}
	got, err := c.GetRoom(ctx, first.ID)
	if err != nil {
		t.Fatalf("GetRoom: %v", err)
	}
	if got.Name != name || !got.Enabled || got.Region != "in" || got.CustomerID == "" || got.AppID == "" || got.CreatedAt.IsZero() {
		t.Fatalf("GetRoom: %+v", got)
	}

	if _, status := joinWith(t, s, c, first.ID, "customer", "case-1"); status != http.StatusOK {
		t.Fatalf("join with a client-minted token: %d", status)
	}
	disabled, err := c.DisableRoom(ctx, first.ID)
	if err != nil || disabled.Enabled {
		t.Fatalf("DisableRoom: %+v, %v", disabled, err)
	}
	if got, err := c.GetRoom(ctx, first.ID); err != nil || got.Enabled {
		t.Fatalf("GetRoom after disable: %+v, %v", got, err)
	}
	if _, status := joinWith(t, s, c, first.ID, "agent", "agent-1"); status != http.StatusForbidden {
		t.Fatalf("join of a disabled room: %d, want 403", status)
	}

	_, err = c.GetRoom(ctx, "0123456789abcdef01234567")
	if !hms.IsNotFound(err) || hms.IsRetryable(err) {
		t.Fatalf("GetRoom of an unknown room: %v (not found %v, retryable %v)", err, hms.IsNotFound(err), hms.IsRetryable(err))
	}
	_, err = c.CreateRoom(ctx, hms.CreateRoomRequest{Name: "with-missing-template", TemplateID: "0123456789abcdef01234567"})
	if ae := apiErr(t, err); ae.Status != 400 || ae.Message != "Template not found" || hms.IsNotFound(err) || hms.IsRetryable(err) {
		t.Fatalf("CreateRoom with an unknown template: %+v", ae)
	}
}

func TestContractListRoomsPaginated(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	c, w := newClient(t, s, nil)
	ctx := ctxT(t)
	const n = 105
	want := map[string]bool{}
	var lastID string
	for i := range n {
		r, err := c.CreateRoom(ctx, hms.CreateRoomRequest{Name: fmt.Sprintf("list-%03d", i)})
		if err != nil {
			t.Fatalf("CreateRoom %d: %v", i, err)
		}
		want[r.ID] = true
		lastID = r.ID
	}
	if _, err := c.DisableRoom(ctx, lastID); err != nil {
		t.Fatal(err)
	}
	w.reset()
	rooms, err := c.ListRooms(ctx, hms.RoomFilter{})
	if err != nil {
		t.Fatalf("ListRooms: %v", err)
	}
	got := map[string]bool{}
	for _, r := range rooms {
		got[r.ID] = true
	}
	if len(rooms) != n || len(got) != n {
		t.Fatalf("ListRooms: %d rooms (%d distinct), want %d", len(rooms), len(got), n)
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("ListRooms lacks room %s", id)
		}
	}
	if calls := w.calls(); len(calls) < 2 {
		t.Fatalf("ListRooms of %d rooms made %d calls: %v", n, len(calls), calls)
	}
	named, err := c.ListRooms(ctx, hms.RoomFilter{Name: "list-042"})
	if err != nil || len(named) != 1 || named[0].Name != "list-042" {
		t.Fatalf("ListRooms by name: %+v, %v", named, err)
	}
	off := false
	disabled, err := c.ListRooms(ctx, hms.RoomFilter{Enabled: &off})
	if err != nil || len(disabled) != 1 || disabled[0].ID != lastID {
		t.Fatalf("ListRooms disabled: %+v, %v", disabled, err)
	}
}

func TestContractActiveRoomAndEndRoom(t *testing.T) {
	rx := newReceiver(t, nil)
	headers := map[string]string{"X-Vkyc-Webhook-Secret": "whsec"}
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), WebhookHeaders: headers, HMACSecret: "hmac", RecordingStartDelay: time.Minute})
	c, _ := newClient(t, s, nil)
	ctx := ctxT(t)
	room := mustCreateRoom(t, ctx, c, hms.CreateRoomRequest{Name: "active-room"})
	if _, err := c.GetActiveRoom(ctx, room.ID); !hms.IsNotFound(err) {
		t.Fatalf("GetActiveRoom before anyone joined: %v, want not found", err)
	}
	if err := c.EndRoom(ctx, room.ID, "nothing to end", false); err != nil {
		t.Fatalf("EndRoom with no active session: %v, want nil", err)
	}
	agent, _ := joinWith(t, s, c, room.ID, "agent", "agent-1")
	customer, _ := joinWith(t, s, c, room.ID, "customer", "case-1")

	ar, err := c.GetActiveRoom(ctx, room.ID)
	if err != nil {
		t.Fatalf("GetActiveRoom: %v", err)
	}
	peers := slices.Clone(ar.Session.Peers)
	slices.Sort(peers)
	wantPeers := []string{agent.PeerID, customer.PeerID}
	slices.Sort(wantPeers)
	if ar.ID != room.ID || ar.Name != "active-room" || ar.Session.ID != agent.SessionID || ar.Session.CreatedAt.IsZero() || !slices.Equal(peers, wantPeers) {
		t.Fatalf("GetActiveRoom: %+v", ar)
	}
	ap, err := c.ListActivePeers(ctx, room.ID)
	if err != nil {
		t.Fatalf("ListActivePeers: %v", err)
	}
	if p := ap[customer.PeerID]; len(ap) != 2 || p.Role != "customer" || p.UserID != "case-1" || p.Name != "case-1" || p.JoinedAt.IsZero() {
		t.Fatalf("ListActivePeers: %+v", ap)
	}

	if err := c.EndRoom(ctx, room.ID, "decision recorded", true); err != nil {
		t.Fatalf("EndRoom: %v", err)
	}
	if got, err := c.GetRoom(ctx, room.ID); err != nil || got.Enabled {
		t.Fatalf("room after EndRoom with lock: %+v, %v", got, err)
	}
	if _, err := c.ListActivePeers(ctx, room.ID); !hms.IsNotFound(err) {
		t.Fatalf("ListActivePeers after the end: %v, want not found", err)
	}
	if err := c.EndRoom(ctx, room.ID, "again", true); err != nil {
		t.Fatalf("EndRoom when nothing is active: %v, want nil", err)
	}
	if _, status := joinWith(t, s, c, room.ID, "customer", "case-1"); status != http.StatusForbidden {
		t.Fatalf("join after a locked end: %d, want 403", status)
	}

	// Every webhook passes the client's verifier and decoder.
	hooks := rx.waitFor(t, "session close", 5*time.Second, func(hs []hook) bool {
		return len(attemptsOf(hs, "session.close.success")) == 1
	})
	v := hms.Verifier{Headers: headers, HMACSecret: "hmac"}
	var sawEnd bool
	for _, h := range hooks {
		if err := v.Verify(h.Header, h.Body); err != nil {
			t.Fatalf("%s: Verify: %v", h.Type, err)
		}
		ev, err := hms.DecodeEvent(h.Body)
		if err != nil {
			t.Fatalf("%s: DecodeEvent: %v", h.Type, err)
		}
		if ev.ID != h.ID || ev.Type != h.Type || ev.Data.RoomID != room.ID || ev.Data.RoomName != "active-room" || ev.Data.SessionID != agent.SessionID || ev.Timestamp.IsZero() {
			t.Fatalf("%s decoded as %+v", h.Type, ev)
		}
		switch ev.Type {
		case hms.EventRoomEnd:
			sawEnd = true
			if !ev.Data.LockRoom || ev.Data.Reason != "decision recorded" {
				t.Errorf("room.end.success decoded as %+v", ev.Data)
			}
		case hms.EventPeerLeave:
			if ev.Data.Reason != hmssim.ReasonServerRemovedPeer || ev.Data.LeftAt.IsZero() || ev.Data.Duration < 1 {
				t.Errorf("peer.leave.success decoded as %+v", ev.Data)
			}
		case hms.EventPeerJoin:
			if ev.Data.PeerID == "" || ev.Data.UserID == "" || ev.Data.Role == "" || ev.Data.JoinedAt.IsZero() || ev.Data.PeerType != "regular" {
				t.Errorf("peer.join.success decoded as %+v", ev.Data)
			}
		case hms.EventSessionClose:
			if ev.Data.SessionStoppedAt.IsZero() || ev.Data.SessionDuration < 1 || ev.Data.SessionStartedAt.IsZero() {
				t.Errorf("session.close.success decoded as %+v", ev.Data)
			}
		}
	}
	if !sawEnd {
		t.Fatalf("no room.end.success among %v", types(hooks))
	}
	tampered := slices.Clone(hooks[0].Body)
	tampered[len(tampered)-2] ^= 1
	if err := v.Verify(hooks[0].Header, tampered); !errors.Is(err, hms.ErrUnauthenticated) {
		t.Fatalf("Verify of a tampered body: %v", err)
	}
}

// TestContractRecordings: the vKYC template applied by the client makes
// the simulator auto-record into our bucket; the client's recording calls
// and event decoder agree with what lands in MinIO.
func TestContractRecordings(t *testing.T) {
	s, rx, mc, bucketName := recordingSim(t, hmssim.Config{
		Bucket:              "unused-default",
		RecordingStartDelay: 10 * time.Millisecond, RecordingReadyDelay: 300 * time.Millisecond,
	})
	c, _ := newClient(t, s, nil)
	ctx := ctxT(t)
	tpl, err := c.ApplyTemplate(ctx, hms.VKYCTemplate("vkyc-contract", hms.RecordingStorage{Bucket: bucketName, Prefix: "kyc"}))
	if err != nil {
		t.Fatalf("ApplyTemplate: %v", err)
	}
	room := mustCreateRoom(t, ctx, c, hms.CreateRoomRequest{Name: "recorded", TemplateID: tpl.ID})
	agent, _ := joinWith(t, s, c, room.ID, "agent", "agent-1")
	customer, _ := joinWith(t, s, c, room.ID, "customer", "case-1")
	rx.waitType(t, hms.EventBeamStarted, 5*time.Second)

	recs, err := c.ListRecordings(ctx, hms.RecordingFilter{RoomID: room.ID})
	if err != nil || len(recs) != 1 {
		t.Fatalf("ListRecordings: %+v, %v", recs, err)
	}
	running := recs[0]
	if running.Status != hms.RecordingStatusRunning || running.SessionID != agent.SessionID || running.StartedAt == nil || running.StoppedAt != nil || running.CreatedAt.IsZero() {
		t.Fatalf("auto-started recording: %+v", running)
	}
	_, err = c.StartRecording(ctx, room.ID, hms.StartRecordingRequest{})
	if ae := apiErr(t, err); ae.Status != http.StatusConflict || hms.IsRetryable(err) {
		t.Fatalf("StartRecording while one runs: %+v", ae)
	}

	stopped, err := c.StopRecording(ctx, room.ID)
	if err != nil || len(stopped) != 1 || stopped[0].ID != running.ID || stopped[0].Status != hms.RecordingStatusStopping {
		t.Fatalf("StopRecording: %+v, %v", stopped, err)
	}
	if _, err := c.StopRecording(ctx, room.ID); !hms.IsNotFound(err) {
		t.Fatalf("StopRecording with nothing running: %v, want not found", err)
	}
	hook := rx.waitType(t, hms.EventBeamRecording, 10*time.Second)
	ev, err := hms.DecodeEvent(hook.Body)
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	if ev.Data.RecordingID != running.ID || ev.Data.BeamID == "" || ev.Data.Size <= 0 || ev.Data.Duration < 1 ||
		!strings.HasPrefix(ev.Data.RecordingPath, "s3://"+bucketName+"/kyc/beam/"+room.ID+"/") || ev.Data.StoppedAt.IsZero() {
		t.Fatalf("beam.recording.success decoded as %+v", ev.Data)
	}
	rec, err := c.GetRecording(ctx, running.ID)
	if err != nil {
		t.Fatalf("GetRecording: %v", err)
	}
	asset, ok := rec.RoomCompositeAsset()
	if rec.Status != hms.RecordingStatusCompleted || !ok || asset.Path != ev.Data.RecordingPath || asset.Size != ev.Data.Size || asset.Duration != ev.Data.Duration || asset.Status != "completed" {
		t.Fatalf("GetRecording: %+v asset %+v", rec, asset)
	}
	info, err := mc.StatObject(ctx, bucketName, strings.TrimPrefix(asset.Path, "s3://"+bucketName+"/"), minio.StatObjectOptions{})
	if err != nil || info.Size != asset.Size {
		t.Fatalf("object at %s: size %d, %v; client says %d", asset.Path, info.Size, err, asset.Size)
	}
	done, err := c.ListRecordings(ctx, hms.RecordingFilter{RoomID: room.ID, Status: hms.RecordingStatusCompleted})
	if err != nil || len(done) != 1 {
		t.Fatalf("ListRecordings completed: %+v, %v", done, err)
	}
	_ = customer
}

// TestContractRecordingsPagination: more recordings than one page, listed
// by room, session and status; and a manual start on a template without
// auto-start.
func TestContractRecordingsPagination(t *testing.T) {
	s := newSim(t, hmssim.Config{RecordingStartDelay: time.Hour})
	c, w := newClient(t, s, nil)
	ctx := ctxT(t)
	room := mustCreateRoom(t, ctx, c, hms.CreateRoomRequest{Name: "many-sessions"})
	const n = 103
	sessions := map[string]bool{}
	for i := range n {
		p, status := joinWith(t, s, c, room.ID, "agent", fmt.Sprintf("agent-%d", i))
		if status != http.StatusOK {
			t.Fatalf("join %d: %d", i, status)
		}
		sessions[p.SessionID] = true
		s.leave(t, p.PeerID, hmssim.ReasonClientRequest)
	}
	w.reset()
	recs, err := c.ListRecordings(ctx, hms.RecordingFilter{RoomID: room.ID})
	if err != nil {
		t.Fatalf("ListRecordings: %v", err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.ID] || !sessions[r.SessionID] || r.Status != hms.RecordingStatusFailed {
			t.Fatalf("recording %+v: duplicate, foreign or not failed (stopped before it started)", r)
		}
		seen[r.ID] = true
	}
	if len(recs) != n || len(w.calls()) < 2 {
		t.Fatalf("ListRecordings: %d recordings in %d calls, want %d in at least 2", len(recs), len(w.calls()), n)
	}
	one, err := c.ListRecordings(ctx, hms.RecordingFilter{SessionID: recs[7].SessionID})
	if err != nil || len(one) != 1 || one[0].ID != recs[7].ID {
		t.Fatalf("ListRecordings by session: %+v, %v", one, err)
	}
	none, err := c.ListRecordings(ctx, hms.RecordingFilter{RoomID: room.ID, Status: hms.RecordingStatusCompleted})
	if err != nil || len(none) != 0 {
		t.Fatalf("ListRecordings completed: %+v, %v", none, err)
	}

	manual := hms.VKYCTemplate("manual-recording", hms.RecordingStorage{Bucket: "b"})
	manual.Recordings[0].CompositeRecording.BrowserComposite.AutoStart = false
	tpl, err := c.ApplyTemplate(ctx, manual)
	if err != nil {
		t.Fatal(err)
	}
	mroom := mustCreateRoom(t, ctx, c, hms.CreateRoomRequest{Name: "manual", TemplateID: tpl.ID})
	if _, err := c.StartRecording(ctx, mroom.ID, hms.StartRecordingRequest{}); err == nil || hms.IsRetryable(err) {
		t.Fatalf("StartRecording with nobody in the room: %v, want a non-retryable error", err)
	}
	p, _ := joinWith(t, s, c, mroom.ID, "agent", "agent-x")
	if recs, err := c.ListRecordings(ctx, hms.RecordingFilter{RoomID: mroom.ID}); err != nil || len(recs) != 0 {
		t.Fatalf("recordings of a room without auto-start: %+v, %v", recs, err)
	}
	rec, err := c.StartRecording(ctx, mroom.ID, hms.StartRecordingRequest{Resolution: &hms.Resolution{Width: 640, Height: 360}})
	if err != nil || rec.Status != hms.RecordingStatusStarting || rec.RoomID != mroom.ID || rec.SessionID != p.SessionID || rec.StartedAt != nil {
		t.Fatalf("StartRecording: %+v, %v", rec, err)
	}
}

func TestContractSessions(t *testing.T) {
	s := newSim(t, hmssim.Config{RecordingStartDelay: time.Minute})
	c, _ := newClient(t, s, nil)
	ctx := ctxT(t)
	room := mustCreateRoom(t, ctx, c, hms.CreateRoomRequest{Name: "sessions"})
	agent, _ := joinWith(t, s, c, room.ID, "agent", "agent-1")
	customer, _ := joinWith(t, s, c, room.ID, "customer", "case-1")
	s.leave(t, customer.PeerID, hmssim.ReasonClientRequest)

	sess, err := c.GetSession(ctx, agent.SessionID)
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	a, cu := sess.Peers[agent.PeerID], sess.Peers[customer.PeerID]
	if sess.RoomID != room.ID || !sess.Active || len(sess.Peers) != 2 || sess.CreatedAt.IsZero() {
		t.Fatalf("GetSession: %+v", sess)
	}
	if cu.LeftAt == nil || cu.LeftAt.IsZero() || cu.UserID != "case-1" || cu.Role != "customer" || cu.SessionID != sess.ID {
		t.Fatalf("peer who left: %+v", cu)
	}
	// 100ms sends Go's zero time ("0001-01-01T00:00:00Z") for a peer still in;
	// the client documents LeftAt as nil while the peer is in.
	if a.LeftAt != nil {
		t.Errorf("peer still in: LeftAt = %v, want nil (the simulator sent left_at 0001-01-01T00:00:00Z as 100ms does)", a.LeftAt)
	}
	s.leave(t, agent.PeerID, hmssim.ReasonClientRequest)
	again, _ := joinWith(t, s, c, room.ID, "customer", "case-1")
	if again.SessionID == agent.SessionID {
		t.Fatal("a join after the session closed reused the session")
	}
	all, err := c.ListSessions(ctx, hms.SessionFilter{RoomID: room.ID})
	if err != nil || len(all) != 2 {
		t.Fatalf("ListSessions: %+v, %v", all, err)
	}
	on, off := true, false
	active, err := c.ListSessions(ctx, hms.SessionFilter{RoomID: room.ID, Active: &on})
	if err != nil || len(active) != 1 || active[0].ID != again.SessionID {
		t.Fatalf("ListSessions active: %+v, %v", active, err)
	}
	inactive, err := c.ListSessions(ctx, hms.SessionFilter{RoomID: room.ID, Active: &off})
	if err != nil || len(inactive) != 1 || inactive[0].ID != agent.SessionID || inactive[0].Active {
		t.Fatalf("ListSessions inactive: %+v, %v", inactive, err)
	}
	if _, err := c.GetSession(ctx, "0123456789abcdef01234567"); !hms.IsNotFound(err) {
		t.Fatalf("GetSession unknown: %v", err)
	}
}

func TestContractTemplates(t *testing.T) {
	s := newSim(t, hmssim.Config{RecordingStartDelay: time.Minute})
	c, _ := newClient(t, s, nil)
	ctx := ctxT(t)
	want := hms.VKYCTemplate("vkyc-template", hms.RecordingStorage{Bucket: "evidence", Prefix: "kyc", Region: "ap-south-1"})
	created, err := c.CreateTemplate(ctx, want)
	if err != nil {
		t.Fatalf("CreateTemplate: %v", err)
	}
	if !hex24.MatchString(created.ID) || created.Name != want.Name {
		t.Fatalf("CreateTemplate: %+v", created)
	}
	got, err := c.GetTemplate(ctx, created.ID)
	if err != nil {
		t.Fatalf("GetTemplate: %v", err)
	}
	if len(got.Roles) != 2 || got.Roles["agent"].Name != "agent" || !slices.Equal(got.Roles["customer"].PublishParams.Allowed, want.Roles["customer"].PublishParams.Allowed) {
		t.Fatalf("GetTemplate roles: %+v", got.Roles)
	}
	if sd := got.Roles["agent"].SubscribeParams.SubscribeDegradation; sd == nil || !sd.VideoAlwaysEnabled {
		t.Fatalf("agent subscribeDegradation: %+v", sd)
	}
	if got.Settings.Recording == nil || got.Settings.Recording.Upload == nil || got.Settings.Recording.Upload.Location != "evidence" {
		t.Fatalf("GetTemplate settings: %+v", got.Settings)
	}
	if len(got.Recordings) != 1 || !got.Recordings[0].CompositeRecording.BrowserComposite.AutoStart {
		t.Fatalf("GetTemplate recordings: %+v", got.Recordings)
	}
	if again, err := c.CreateTemplate(ctx, want); err != nil || again.ID != created.ID {
		t.Fatalf("CreateTemplate with the same name: %+v, %v", again, err)
	}

	// Update is a full overwrite: drop the customer role, and customers can
	// no longer join rooms of the template.
	agentOnly := want
	agentOnly.Roles = map[string]hms.Role{"agent": want.Roles["agent"]}
	updated, err := c.UpdateTemplate(ctx, created.ID, agentOnly)
	if err != nil || updated.ID != created.ID || len(updated.Roles) != 1 {
		t.Fatalf("UpdateTemplate: %+v, %v", updated, err)
	}
	room, err := c.CreateRoom(ctx, hms.CreateRoomRequest{Name: "templated", TemplateID: created.ID})
	if err != nil || room.TemplateID != created.ID {
		t.Fatalf("CreateRoom with template: %+v, %v", room, err)
	}
	if _, status := joinWith(t, s, c, room.ID, "customer", "case-1"); status != http.StatusForbidden {
		t.Fatalf("customer join after the role was removed: %d, want 403", status)
	}

	applied, err := c.ApplyTemplate(ctx, want)
	if err != nil || applied.ID != created.ID {
		t.Fatalf("ApplyTemplate: %+v, %v", applied, err)
	}
	recs, err := c.GetTemplateRecordings(ctx, created.ID)
	if err != nil || len(recs) != 1 || !recs[0].CompositeRecording.BrowserComposite.AutoStart {
		t.Fatalf("GetTemplateRecordings: %+v, %v", recs, err)
	}
	if _, status := joinWith(t, s, c, room.ID, "customer", "case-1"); status != http.StatusOK {
		t.Fatalf("customer join after ApplyTemplate restored the role: %d", status)
	}
	if _, err := c.GetTemplate(ctx, "0123456789abcdef01234567"); !hms.IsNotFound(err) {
		t.Fatalf("GetTemplate unknown: %v", err)
	}
}

// TestContractManagementTokenExpiry: the simulator rejects tokens outside
// their validity with 401, and the client re-signs exactly once.
func TestContractManagementTokenExpiry(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	c, w := newClient(t, s, func(cfg *hms.Config) { cfg.Now = now })
	ctx := ctxT(t)
	room := mustCreateRoom(t, ctx, c, hms.CreateRoomRequest{Name: "tokens"})

	// A token signed by a clock 10 days ahead is not valid yet here; once
	// the clock is right the cached token is refused, re-signed, and the
	// call succeeds.
	offset.Store(int64(10 * 24 * time.Hour))
	ahead, err := c.ManagementToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	status, b := do(t, http.MethodGet, s.URL+"/v2/rooms/"+room.ID, ahead, nil)
	if e := decodeError(t, b); status != 401 || e.Message != "Token validation error" || !slices.Contains(e.Details, "token is not valid yet") {
		t.Fatalf("token from the future: %d %s", status, b)
	}
	offset.Store(0)
	w.reset()
	if _, err := c.GetRoom(ctx, room.ID); err != nil {
		t.Fatalf("GetRoom with a refused cached token: %v", err)
	}
	path := "/v2/rooms/" + room.ID
	if calls := w.calls(); !slices.Equal(calls, []string{"GET " + path + " 401", "GET " + path + " 200"}) {
		t.Fatalf("calls %v, want one 401 then a re-signed 200", calls)
	}

	// A clock 2 minutes behind with a 1 minute TTL signs tokens that are
	// expired on arrival: one re-sign, then a 401 the caller may retry.
	behind, bw := newClient(t, s, func(cfg *hms.Config) {
		cfg.TokenTTL = time.Minute
		cfg.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	})
	expired, err := behind.ManagementToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	status, b = do(t, http.MethodGet, s.URL+path, expired, nil)
	if e := decodeError(t, b); status != 401 || !slices.Contains(e.Details, "token is expired") {
		t.Fatalf("expired token: %d %s", status, b)
	}
	_, err = behind.GetRoom(ctx, room.ID)
	if ae := apiErr(t, err); ae.Status != 401 || ae.Message != "Token validation error" || !hms.IsRetryable(err) {
		t.Fatalf("GetRoom with a clock behind: %+v", ae)
	}
	if calls := bw.calls(); !slices.Equal(calls, []string{"GET " + path + " 401", "GET " + path + " 401"}) {
		t.Fatalf("calls %v, want exactly one re-sign", calls)
	}
}

// TestContractErrorClasses: every error class the activities decide on,
// produced by fault injection.
func TestContractErrorClasses(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	c, w := newClient(t, s, func(cfg *hms.Config) {
		cfg.HTTPClient.Timeout = 300 * time.Millisecond
	})
	ctx := ctxT(t)
	room := mustCreateRoom(t, ctx, c, hms.CreateRoomRequest{Name: "errors"})
	const key = "GET /v2/rooms/{room_id}"
	tests := []struct {
		name       string
		fault      hmssim.EndpointFault
		status     int
		retryable  bool
		notFound   bool
		retryAfter time.Duration
		network    bool
		calls      int
	}{
		{name: "500", fault: hmssim.EndpointFault{ErrorRate: 1, Status: 500}, status: 500, retryable: true, calls: 1},
		{name: "503", fault: hmssim.EndpointFault{ErrorRate: 1, Status: 503}, status: 503, retryable: true, calls: 1},
		{name: "429 with Retry-After", fault: hmssim.EndpointFault{ErrorRate: 1, Status: 429, RetryAfter: 3 * time.Second}, status: 429, retryable: true, retryAfter: 3 * time.Second, calls: 1},
		{name: "502 with fractional Retry-After", fault: hmssim.EndpointFault{ErrorRate: 1, Status: 502, RetryAfter: 1200 * time.Millisecond}, status: 502, retryable: true, retryAfter: 2 * time.Second, calls: 1},
		{name: "400", fault: hmssim.EndpointFault{ErrorRate: 1, Status: 400}, status: 400, calls: 1},
		{name: "404", fault: hmssim.EndpointFault{ErrorRate: 1, Status: 404}, status: 404, notFound: true, calls: 1},
		{name: "403 after one re-sign", fault: hmssim.EndpointFault{ErrorRate: 1, Status: 403}, status: 403, retryable: true, calls: 2},
		{name: "timeout", fault: hmssim.EndpointFault{Latency: 2 * time.Second}, retryable: true, network: true, calls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.SetFaults(hmssim.Faults{Endpoints: map[string]hmssim.EndpointFault{key: tc.fault}})
			defer s.SetFaults(hmssim.Faults{})
			w.reset()
			_, err := c.GetRoom(ctx, room.ID)
			if err == nil {
				t.Fatal("GetRoom succeeded through an injected fault")
			}
			if hms.IsRetryable(err) != tc.retryable || hms.IsNotFound(err) != tc.notFound || hms.RetryAfterOf(err) != tc.retryAfter {
				t.Fatalf("%v: retryable %v not found %v retry after %s", err, hms.IsRetryable(err), hms.IsNotFound(err), hms.RetryAfterOf(err))
			}
			if n := len(w.calls()); n != tc.calls {
				t.Fatalf("%d calls, want %d: %v", n, tc.calls, w.calls())
			}
			if tc.network {
				var ne *hms.NetworkError
				if !errors.As(err, &ne) {
					t.Fatalf("timeout is %T, want *hms.NetworkError", err)
				}
				return
			}
			if ae := apiErr(t, err); ae.Status != tc.status || ae.Code != tc.status || ae.Message == "" {
				t.Fatalf("APIError %+v", ae)
			}
		})
	}
	// The fault was on one route only; with faults cleared everything works.
	if _, err := c.GetRoom(ctx, room.ID); err != nil {
		t.Fatalf("GetRoom after the faults: %v", err)
	}
}
