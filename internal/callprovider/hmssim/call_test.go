package hmssim_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
)

type recordingOut struct {
	ID              string     `json:"id"`
	RoomID          string     `json:"room_id"`
	SessionID       string     `json:"session_id"`
	Status          string     `json:"status"`
	StartedAt       *time.Time `json:"started_at"`
	StoppedAt       *time.Time `json:"stopped_at"`
	RecordingAssets []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Path     string `json:"path"`
		Status   string `json:"status"`
		Size     int64  `json:"size"`
		Duration int64  `json:"duration"`
	} `json:"recording_assets"`
}

// TestWholeCall runs a vKYC call and checks every webhook, in order, and
// that the announced recording really is in MinIO with the announced size.
func TestWholeCall(t *testing.T) {
	const secretHeader, secret, hmacKey = "X-Vkyc-Webhook-Secret", "whsec-test", "hmac-key"
	s, rx, mc, bucketName := recordingSim(t, hmssim.Config{
		WebhookHeaders:      map[string]string{secretHeader: secret},
		HMACSecret:          hmacKey,
		Prefix:              "recordings",
		RecordingStartDelay: 250 * time.Millisecond, // after both joins, so the order is fixed
		RecordingReadyDelay: 400 * time.Millisecond,
	})
	roomName := "kyc-" + uuid.NewString() + "-a1"
	room := s.createRoom(t, map[string]any{"name": roomName, "description": "whole call"})

	agent := s.join(t, room.ID, "agent", "agent-7")
	customer := s.join(t, room.ID, "customer", "case-42")
	if agent.SessionID != customer.SessionID || agent.RoomID != room.ID {
		t.Fatalf("peers in different sessions: %+v %+v", agent, customer)
	}
	started := rx.waitType(t, "beam.started.success", 5*time.Second)
	recordingID := started.str("recording_id")
	var rec recordingOut
	s.api(t, http.MethodGet, "/v2/recordings/"+recordingID, nil, &rec)
	if rec.Status != "running" || rec.StartedAt == nil || rec.SessionID != agent.SessionID {
		t.Fatalf("recording after beam.started: %+v", rec)
	}

	s.leave(t, customer.PeerID, hmssim.ReasonClientRequest)
	s.leave(t, agent.PeerID, hmssim.ReasonClientRequest)
	s.api(t, http.MethodGet, "/v2/recordings/"+recordingID, nil, &rec)
	if rec.Status != "stopping" && rec.Status != "post_processing" {
		t.Fatalf("recording right after the call: status %q, want stopping or post_processing", rec.Status)
	}
	done := rx.waitType(t, "beam.recording.success", 10*time.Second)

	got := rx.accepted()
	want := []string{
		"session.open.success", "peer.join.success", "peer.join.success", "beam.started.success",
		"peer.leave.success", "peer.leave.success", "session.close.success", "beam.stopped.success",
		"beam.recording.success",
	}
	if !slices.Equal(types(got), want) {
		t.Fatalf("webhook sequence:\n got %v\nwant %v", types(got), want)
	}

	ids := map[string]bool{}
	for _, h := range got {
		if h.Version != "2.0" || h.AppID == "" || h.AccountID == "" {
			t.Errorf("%s envelope: version %q app_id %q account_id %q", h.Type, h.Version, h.AppID, h.AccountID)
		}
		if _, err := uuid.Parse(h.ID); err != nil || ids[h.ID] {
			t.Errorf("%s: id %q is not a fresh UUID", h.Type, h.ID)
		}
		ids[h.ID] = true
		if _, err := time.Parse(time.RFC3339, h.Timestamp); err != nil {
			t.Errorf("%s: timestamp %q: %v", h.Type, h.Timestamp, err)
		}
		if h.Header.Get(secretHeader) != secret {
			t.Errorf("%s: secret header %q", h.Type, h.Header.Get(secretHeader))
		}
		mac := hmac.New(sha256.New, []byte(hmacKey))
		mac.Write(h.Body)
		if h.Header.Get("X-100ms-Signature") != hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("%s: x-100ms-signature does not match the body", h.Type)
		}
		if h.str("room_id") != room.ID || h.str("room_name") != roomName || h.str("session_id") != agent.SessionID {
			t.Errorf("%s: room/session fields %v", h.Type, h.Data)
		}
	}

	joinAgent, joinCustomer := got[1], got[2]
	if joinAgent.str("peer_id") != agent.PeerID || joinAgent.str("role") != "agent" || joinAgent.str("user_id") != "agent-7" {
		t.Errorf("agent join: %v", joinAgent.Data)
	}
	if joinCustomer.str("peer_id") != customer.PeerID || joinCustomer.str("role") != "customer" || joinCustomer.str("user_id") != "case-42" {
		t.Errorf("customer join: %v", joinCustomer.Data)
	}
	for _, leave := range got[4:6] {
		if leave.str("reason") != hmssim.ReasonClientRequest || leave.str("left_at") == "" || leave.num("duration") < 1 {
			t.Errorf("leave: %v", leave.Data)
		}
	}
	if got[4].str("peer_id") != customer.PeerID || got[5].str("peer_id") != agent.PeerID {
		t.Errorf("leaves out of order: %s, %s", got[4].str("peer_id"), got[5].str("peer_id"))
	}
	if closed := got[6]; closed.str("session_stopped_at") == "" || closed.num("session_duration") < 1 {
		t.Errorf("session close: %v", closed.Data)
	}
	if stopped := got[7]; stopped.str("reason") != "last peer left" || stopped.str("recording_id") != recordingID {
		t.Errorf("beam stopped: %v", stopped.Data)
	}

	// The recording is really in the bucket, at the announced path, with the
	// announced size.
	path := done.str("recording_path")
	pathRE := regexp.MustCompile(`^s3://` + bucketName + `/recordings/beam/` + room.ID + `/\d{8}/Rec-` + room.ID + `-\d+\.mp4$`)
	if !pathRE.MatchString(path) {
		t.Fatalf("recording_path %q does not match %s", path, pathRE)
	}
	key := strings.TrimPrefix(path, "s3://"+bucketName+"/")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obj, err := mc.GetObject(ctx, bucketName, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if int64(len(data)) != int64(done.num("size")) || len(data) < 4096 {
		t.Fatalf("object has %d bytes, webhook says size %v", len(data), done.Data["size"])
	}
	if string(data[4:8]) != "ftyp" {
		t.Errorf("object does not start with an ftyp box: % x", data[:12])
	}
	for _, k := range []string{"beam_id", "recording_id", "session_id", "room_id", "started_at", "stopped_at", "created_at", "session_started_at"} {
		if done.str(k) == "" {
			t.Errorf("beam.recording.success lacks %s: %v", k, done.Data)
		}
	}
	if done.num("duration") < 1 {
		t.Errorf("beam.recording.success duration %v", done.Data["duration"])
	}

	s.api(t, http.MethodGet, "/v2/recordings/"+recordingID, nil, &rec)
	if rec.Status != "completed" || len(rec.RecordingAssets) != 1 {
		t.Fatalf("recording after success: %+v", rec)
	}
	if a := rec.RecordingAssets[0]; a.Path != path || a.Size != int64(len(data)) || a.Type != "room-composite" || a.Status != "completed" {
		t.Fatalf("asset %+v, want path %s size %d", a, path, len(data))
	}
	var presigned struct {
		ID, Path, URL string
		Expiry        int64
	}
	s.api(t, http.MethodGet, "/v2/recording-assets/"+rec.RecordingAssets[0].ID+"/presigned-url?presign_duration=600", nil, &presigned)
	if presigned.Path != path || presigned.Expiry != 600 || !strings.HasPrefix(presigned.URL, "http") {
		t.Fatalf("presigned url answer %+v", presigned)
	}
	resp, err := http.Get(presigned.URL)
	if err != nil {
		t.Fatalf("download presigned url: %v", err)
	}
	downloaded, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !slices.Equal(downloaded, data) {
		t.Fatalf("presigned download: status %d, %d bytes", resp.StatusCode, len(downloaded))
	}

	var sess struct {
		Active bool `json:"active"`
		Peers  map[string]struct {
			UserID string    `json:"user_id"`
			LeftAt time.Time `json:"left_at"`
		} `json:"peers"`
	}
	s.api(t, http.MethodGet, "/v2/sessions/"+agent.SessionID, nil, &sess)
	if sess.Active || len(sess.Peers) != 2 || sess.Peers[agent.PeerID].LeftAt.IsZero() {
		t.Fatalf("session after the call: %+v", sess)
	}
}

// TestEndRoom: peers removed by the server, room.end.success with lock, the
// session closed, the recording stopped for "room ended", the room disabled.
func TestEndRoom(t *testing.T) {
	rx := newReceiver(t, nil)
	// The recording starts after both joins, so the event order is fixed.
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RecordingStartDelay: 250 * time.Millisecond})
	room := s.createRoom(t, map[string]any{"name": "end-room-test"})
	agent := s.join(t, room.ID, "agent", "a1")
	s.join(t, room.ID, "customer", "c1")
	rx.waitType(t, "beam.started.success", 5*time.Second)

	var ended map[string]string
	s.api(t, http.MethodPost, "/v2/active-rooms/"+room.ID+"/end-room", map[string]any{"reason": "decision made", "lock": true}, &ended)
	if ended["message"] != "session is ending" {
		t.Fatalf("end-room answer %v", ended)
	}
	rx.waitType(t, "beam.failure", 5*time.Second) // no storage configured: UPLOAD_ERROR
	got := rx.accepted()
	want := []string{
		"session.open.success", "peer.join.success", "peer.join.success", "beam.started.success",
		"peer.leave.success", "peer.leave.success", "room.end.success", "session.close.success",
		"beam.stopped.success", "beam.failure",
	}
	if !slices.Equal(types(got), want) {
		t.Fatalf("webhook sequence:\n got %v\nwant %v", types(got), want)
	}
	for _, h := range got[4:6] {
		if h.str("reason") != hmssim.ReasonServerRemovedPeer {
			t.Errorf("leave reason %q", h.str("reason"))
		}
	}
	if end := got[6]; end.Data["lock_room"] != true || end.str("reason") != "decision made" {
		t.Errorf("room.end.success: %v", end.Data)
	}
	if got[8].str("reason") != "room ended" || got[9].str("error_type") != "UPLOAD_ERROR" {
		t.Errorf("beam stop/failure: %v / %v", got[8].Data, got[9].Data)
	}

	var r roomOut
	s.api(t, http.MethodGet, "/v2/rooms/"+room.ID, nil, &r)
	if r.Enabled {
		t.Fatal("room still enabled after end-room with lock")
	}
	status, body := do(t, http.MethodPost, s.URL+"/sim/v1/join", "", map[string]string{"token": peerToken(t, room.ID, "agent", "a1")})
	if status != http.StatusForbidden {
		t.Fatalf("join of a locked room: %d %s", status, body)
	}
	status, body = do(t, http.MethodGet, s.URL+"/v2/active-rooms/"+room.ID, mgmtToken(t), nil)
	if status != http.StatusNotFound {
		t.Fatalf("active room after end: %d %s", status, body)
	}
	status, _ = do(t, http.MethodPost, s.URL+"/v2/active-rooms/"+room.ID+"/end-room", mgmtToken(t), map[string]any{"lock": true})
	if status != http.StatusNotFound {
		t.Fatalf("end-room without a session: %d, want 404", status)
	}
	// A leave after the server removed the peer changes nothing.
	s.leave(t, agent.PeerID, hmssim.ReasonClientRequest)
	if n := len(rx.requests()); n != len(want) {
		t.Fatalf("%d webhooks after a late leave, want %d", n, len(want))
	}
}

// TestAbnormalLeaveAndSessionCloseDelay: an abrupt disconnect is announced
// after AbnormalLeaveDelay, and the session closes SessionCloseDelay after
// the last peer leaves unless someone joins in between.
func TestAbnormalLeaveAndSessionCloseDelay(t *testing.T) {
	rx := newReceiver(t, nil)
	const abnormal, closeDelay = 150 * time.Millisecond, 150 * time.Millisecond
	s := newSim(t, hmssim.Config{
		WebhookURL: rx.URL(), AbnormalLeaveDelay: abnormal, SessionCloseDelay: closeDelay,
		RecordingStartDelay: time.Minute,
	})
	room := s.createRoom(t, map[string]any{"name": "abnormal-leave"})
	agent := s.join(t, room.ID, "agent", "a1")
	customer := s.join(t, room.ID, "customer", "c1")

	left := time.Now()
	s.leave(t, customer.PeerID, hmssim.ReasonWebsocketClosed)
	var peers struct {
		Peers map[string]any `json:"peers"`
	}
	s.api(t, http.MethodGet, "/v2/active-rooms/"+room.ID+"/peers", nil, &peers)
	if _, still := peers.Peers[customer.PeerID]; !still {
		t.Fatal("a disconnected peer left before AbnormalLeaveDelay")
	}
	leave := rx.waitType(t, "peer.leave.success", 5*time.Second)
	if d := leave.At.Sub(left); d < abnormal {
		t.Fatalf("peer.leave.success %s after the disconnect, want at least %s", d, abnormal)
	}
	if leave.str("reason") != hmssim.ReasonWebsocketClosed || leave.str("peer_id") != customer.PeerID {
		t.Fatalf("leave: %v", leave.Data)
	}

	// The last peer leaves, then someone joins within SessionCloseDelay: the
	// session stays open.
	s.leave(t, agent.PeerID, hmssim.ReasonClientRequest)
	back := s.join(t, room.ID, "customer", "c1")
	if back.SessionID != agent.SessionID {
		t.Fatalf("rejoin within the close delay opened session %s, want %s", back.SessionID, agent.SessionID)
	}
	if back.PeerID == customer.PeerID {
		t.Fatal("a rejoining peer must get a new peer id")
	}
	time.Sleep(closeDelay + 100*time.Millisecond)
	for _, h := range rx.requests() {
		if h.Type == "session.close.success" {
			t.Fatal("session closed although a peer rejoined within SessionCloseDelay")
		}
	}
	lastLeft := time.Now()
	s.leave(t, back.PeerID, hmssim.ReasonClientRequest)
	closed := rx.waitType(t, "session.close.success", 5*time.Second)
	if d := closed.At.Sub(lastLeft); d < closeDelay {
		t.Fatalf("session closed %s after the last leave, want at least %s", d, closeDelay)
	}
}

// TestRecordingFailureFault: the injected share of recordings ends in
// beam.failure and a failed recording.
func TestRecordingFailureFault(t *testing.T) {
	s, rx, _, _ := recordingSim(t, hmssim.Config{
		RecordingStartDelay: 5 * time.Millisecond, RecordingReadyDelay: 10 * time.Millisecond,
		Faults: hmssim.Faults{RecordingFailure: 1},
	})
	room := s.createRoom(t, map[string]any{"name": "recording-failure"})
	p := s.join(t, room.ID, "agent", "a1")
	started := rx.waitType(t, "beam.started.success", 5*time.Second)
	s.leave(t, p.PeerID, hmssim.ReasonClientRequest)
	failure := rx.waitType(t, "beam.failure", 5*time.Second)
	if failure.str("error_type") != "INTERNAL_ERROR" || failure.str("recording_id") != started.str("recording_id") {
		t.Fatalf("beam.failure: %v", failure.Data)
	}
	var rec recordingOut
	s.api(t, http.MethodGet, "/v2/recordings/"+started.str("recording_id"), nil, &rec)
	if rec.Status != "failed" || len(rec.RecordingAssets) != 0 {
		t.Fatalf("failed recording: %+v", rec)
	}
	for _, h := range rx.requests() {
		if h.Type == "beam.recording.success" {
			t.Fatal("beam.recording.success sent for a failed recording")
		}
	}
}

// TestTemplateControlsRolesAndRecording: a template's roles are the only
// ones that may join; without autoStart no recording starts; its upload
// location decides the bucket.
func TestTemplateControlsRolesAndRecording(t *testing.T) {
	rx := newReceiver(t, nil)
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RecordingStartDelay: 5 * time.Millisecond})
	var tpl struct {
		ID string `json:"id"`
	}
	s.api(t, http.MethodPost, "/v2/templates", map[string]any{
		"name":  "no-recording",
		"roles": map[string]any{"host": map[string]any{"name": "host"}},
	}, &tpl)
	room := s.createRoom(t, map[string]any{"name": "templated", "template_id": tpl.ID})
	if room.TemplateID != tpl.ID {
		t.Fatalf("room template %q, want %q", room.TemplateID, tpl.ID)
	}
	status, _ := do(t, http.MethodPost, s.URL+"/sim/v1/join", "", map[string]string{"token": peerToken(t, room.ID, "agent", "a1")})
	if status != http.StatusForbidden {
		t.Fatalf("join with a role the template lacks: %d, want 403", status)
	}
	failure := rx.waitType(t, "peer.join.failure", 5*time.Second)
	if failure.str("error_message") != "role not allowed" {
		t.Fatalf("peer.join.failure: %v", failure.Data)
	}
	p := s.join(t, room.ID, "host", "h1")
	time.Sleep(50 * time.Millisecond)
	var recs struct {
		Data []recordingOut `json:"data"`
	}
	s.api(t, http.MethodGet, "/v2/recordings?room_id="+room.ID, nil, &recs)
	if len(recs.Data) != 0 {
		t.Fatalf("a template without autoStart started recordings: %+v", recs.Data)
	}

	// A manual start records; a second start conflicts; stop answers a page
	// of "stopping" recordings.
	var rec recordingOut
	s.api(t, http.MethodPost, "/v2/recordings/room/"+room.ID+"/start", map[string]any{"resolution": map[string]int{"width": 640, "height": 360}}, &rec)
	if rec.Status != "starting" || rec.StartedAt != nil || rec.SessionID != p.SessionID {
		t.Fatalf("started recording: %+v", rec)
	}
	if status, body := do(t, http.MethodPost, s.URL+"/v2/recordings/room/"+room.ID+"/start", mgmtToken(t), nil); status != http.StatusConflict {
		t.Fatalf("second start: %d %s", status, body)
	}
	rx.waitType(t, "beam.started.success", 5*time.Second)
	var stopped struct {
		Data []recordingOut `json:"data"`
	}
	s.api(t, http.MethodPost, "/v2/recordings/room/"+room.ID+"/stop", nil, &stopped)
	if len(stopped.Data) != 1 || stopped.Data[0].Status != "stopping" || stopped.Data[0].ID != rec.ID {
		t.Fatalf("stop answer: %+v", stopped.Data)
	}
	if h := rx.waitType(t, "beam.stopped.success", 5*time.Second); h.str("reason") != "client request" {
		t.Fatalf("beam.stopped.success reason %q", h.str("reason"))
	}
	if status, _ := do(t, http.MethodPost, s.URL+"/v2/recordings/room/"+room.ID+"/stop", mgmtToken(t), nil); status != http.StatusNotFound {
		t.Fatalf("stop with nothing running: %d, want 404", status)
	}
}

// TestTemplateUploadLocation: the template's settings.recording.upload
// location and prefix decide where the file goes.
func TestTemplateUploadLocation(t *testing.T) {
	s, rx, mc, bucketName := recordingSim(t, hmssim.Config{
		Bucket:              "not-this-bucket",
		RecordingStartDelay: 5 * time.Millisecond, RecordingReadyDelay: 10 * time.Millisecond,
	})
	var tpl struct {
		ID string `json:"id"`
	}
	s.api(t, http.MethodPost, "/v2/templates", map[string]any{
		"name":     "vkyc-storage",
		"roles":    map[string]any{"agent": map[string]any{"name": "agent"}},
		"settings": map[string]any{"recording": map[string]any{"upload": map[string]any{"type": "s3", "location": bucketName, "prefix": "evidence"}}},
		"recordings": []any{map[string]any{"name": "composite", "role": "agent",
			"compositeRecording": map[string]any{"browserComposite": map[string]any{"autoStart": true}}}},
	}, &tpl)
	room := s.createRoom(t, map[string]any{"name": "stored", "template_id": tpl.ID})
	p := s.join(t, room.ID, "agent", "a1")
	rx.waitType(t, "beam.started.success", 5*time.Second)
	s.leave(t, p.PeerID, hmssim.ReasonClientRequest)
	done := rx.waitType(t, "beam.recording.success", 10*time.Second)
	prefix := "s3://" + bucketName + "/evidence/beam/" + room.ID + "/"
	if !strings.HasPrefix(done.str("recording_path"), prefix) {
		t.Fatalf("recording_path %q, want prefix %q", done.str("recording_path"), prefix)
	}
	info, err := mc.StatObject(context.Background(), bucketName, strings.TrimPrefix(done.str("recording_path"), "s3://"+bucketName+"/"), minio.StatObjectOptions{})
	if err != nil || info.Size != int64(done.num("size")) {
		t.Fatalf("stat recording: %v, size %d vs %v", err, info.Size, done.Data["size"])
	}
}

// TestRemovePeers: removing every peer of a role through the API announces
// "server removed peer" leaves and closes the emptied session.
func TestRemovePeers(t *testing.T) {
	rx := newReceiver(t, nil)
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RecordingStartDelay: time.Minute})
	room := s.createRoom(t, map[string]any{"name": "remove-peers"})
	a := s.join(t, room.ID, "agent", "a1")
	c := s.join(t, room.ID, "customer", "c1")
	var peer map[string]any
	s.api(t, http.MethodGet, "/v2/active-rooms/"+room.ID+"/peers/"+c.PeerID, nil, &peer)
	if peer["user_id"] != "c1" || peer["role"] != "customer" {
		t.Fatalf("active peer %v", peer)
	}
	s.api(t, http.MethodPost, "/v2/active-rooms/"+room.ID+"/remove-peers", map[string]any{"role": "customer", "reason": "bad network"}, nil)
	if status, _ := do(t, http.MethodGet, s.URL+"/v2/active-rooms/"+room.ID+"/peers/"+c.PeerID, mgmtToken(t), nil); status != 404 {
		t.Fatalf("removed peer still active: %d", status)
	}
	s.api(t, http.MethodPost, "/v2/active-rooms/"+room.ID+"/remove-peers", map[string]any{"peer_id": a.PeerID}, nil)
	all := rx.waitFor(t, "session close", 5*time.Second, func(hs []hook) bool {
		return len(attemptsOf(hs, "session.close.success")) == 1
	})
	leaves := attemptsOf(all, "peer.leave.success")
	if len(leaves) != 2 || leaves[0].str("peer_id") != c.PeerID || leaves[0].str("reason") != hmssim.ReasonServerRemovedPeer || leaves[0].str("message") != "bad network" {
		t.Fatalf("leaves %v", leaves)
	}
	if status, _ := do(t, http.MethodPost, s.URL+"/v2/active-rooms/"+room.ID+"/remove-peers", mgmtToken(t), map[string]any{"role": "agent", "peer_id": a.PeerID}); status != 400 {
		t.Fatalf("remove-peers with both peer_id and role: %d, want 400", status)
	}
}
