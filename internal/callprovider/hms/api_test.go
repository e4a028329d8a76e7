package hms

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

const (
	roomID     = "64f0c5e2a1b2c3d4e5f60718"
	sessionID  = "642531c8becbb0bb81952e36"
	recID      = "642531cf94091a5af841456d"
	templateID = "63188115d11d6db790c73c60"
)

const recordingJSON = `{
  "id": "642531cf94091a5af841456d", "room_id": "64f0c5e2a1b2c3d4e5f60718", "session_id": "642531c8becbb0bb81952e36",
  "status": "completed", "created_at": "2023-03-30T06:53:03.67Z", "started_at": "2023-03-30T06:53:06.787Z",
  "updated_at": "2023-03-30T06:54:02.431Z", "stopped_at": "2023-03-30T06:53:58.182Z", "meeting_url": "",
  "started_by": "3f174686-cef9-4d9e-b3d5-ed91773e7f3e", "stopped_by": "", "asset_types": ["room-composite", "chat"],
  "recording_assets": [
    {"id": "6425320e94091a5af841456f", "thumbnails": null, "metadata": {"resolution": {"width": 1280, "height": 720}},
     "duration": "55", "path": "s3://vkyc-recordings/rec/beam/64f0c5e2a1b2c3d4e5f60718/20230330/Rec-64f0c5e2a1b2c3d4e5f60718-1680159183.mp4",
     "status": "completed", "created_at": "2023-03-30T06:54:06.45Z", "type": "room-composite", "size": "26361961"},
    {"id": "6425320e94091a5af841456e", "thumbnails": null, "metadata": {}, "duration": 0, "path": "s3://vkyc-recordings/chat.csv",
     "status": "completed", "created_at": "2023-03-30T06:54:06.434Z", "type": "chat", "size": 74.0}
  ]
}`

// TestRequestsAsHMSSeesThem checks method, path, query and body of every
// call, and that the answer is decoded.
func TestRequestsAsHMSSeesThem(t *testing.T) {
	yes := true
	ts := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name       string
		call       func(ctx context.Context, c *Client) (any, error)
		status     int
		reply      string
		wantMethod string
		wantPath   string
		wantQuery  url.Values
		wantBody   string // "" means no body
		check      func(t *testing.T, got any)
	}{
		{
			name: "create room",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateRoom(ctx, CreateRoomRequest{
					Name: "kyc-3f1e-a1", Description: "video KYC", TemplateID: templateID, Region: "in",
					RecordingInfo: &RecordingInfo{Enabled: false}, MaxDurationSeconds: 3600,
					Webhook: &RoomWebhook{URL: "https://kyc.example/v1/webhooks/100ms", Headers: map[string]string{"x-vkyc-secret": "s"}},
				})
			},
			reply:      roomJSON,
			wantMethod: "POST", wantPath: "/v2/rooms",
			wantBody: `{"name":"kyc-3f1e-a1","description":"video KYC","template_id":"63188115d11d6db790c73c60","region":"in",
				"recording_info":{"enabled":false},"max_duration_seconds":3600,
				"webhook":{"url":"https://kyc.example/v1/webhooks/100ms","headers":{"x-vkyc-secret":"s"}}}`,
			check: func(t *testing.T, got any) {
				want := &Room{ID: roomID, Name: "kyc-3f1e-a1", Enabled: true, CustomerID: "627cdddff2e4e30487862ad1",
					AppID: "62510797903d857ab8ec3ba5", TemplateID: templateID, Region: "in", RecordingInfo: &RecordingInfo{},
					CreatedAt: ts("2025-03-14T09:26:53.082Z"), UpdatedAt: ts("2025-03-14T09:26:53.074Z")}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("room = %+v\nwant %+v", got, want)
				}
			},
		},
		{
			name: "create room minimal",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateRoom(ctx, CreateRoomRequest{Name: "kyc-3f1e-a2"})
			},
			reply:      roomJSON,
			wantMethod: "POST", wantPath: "/v2/rooms", wantBody: `{"name":"kyc-3f1e-a2"}`,
		},
		{
			name:       "get room",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.GetRoom(ctx, roomID) },
			reply:      roomJSON,
			wantMethod: "GET", wantPath: "/v2/rooms/" + roomID,
			check: func(t *testing.T, got any) {
				if r := got.(*Room); r.ID != roomID || !r.Enabled {
					t.Errorf("room = %+v", r)
				}
			},
		},
		{
			name:       "disable room",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.DisableRoom(ctx, roomID) },
			reply:      `{"id":"64f0c5e2a1b2c3d4e5f60718","name":"kyc-3f1e-a1","enabled":false}`,
			wantMethod: "POST", wantPath: "/v2/rooms/" + roomID, wantBody: `{"enabled":false}`,
			check: func(t *testing.T, got any) {
				if r := got.(*Room); r.Enabled {
					t.Error("room still enabled")
				}
			},
		},
		{
			name: "list rooms",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListRooms(ctx, RoomFilter{Name: "kyc-3f1e-a1", Enabled: &yes})
			},
			reply:      `{"limit":100,"data":[` + roomJSON + `],"last":"64f0c5e2a1b2c3d4e5f60718"}`,
			wantMethod: "GET", wantPath: "/v2/rooms",
			wantQuery: url.Values{"name": {"kyc-3f1e-a1"}, "enabled": {"true"}, "limit": {"100"}},
			check: func(t *testing.T, got any) {
				if rs := got.([]Room); len(rs) != 1 || rs[0].ID != roomID {
					t.Errorf("rooms = %+v", rs)
				}
			},
		},
		{
			name:       "get active room",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.GetActiveRoom(ctx, roomID) },
			reply:      `{"id":"64f0c5e2a1b2c3d4e5f60718","name":"kyc-3f1e-a1","customer_id":"627cdddff2e4e30487862ad1","session":{"id":"633c22b420636a0cb361dea0","created_at":"2022-10-04T12:10:28.939011796Z","peers":["c0bbae7e-fbc0-48c3-89aa-83f85427acbf","161d2478-1535-49a0-b48b-326aaa26dcd0"]}}`,
			wantMethod: "GET", wantPath: "/v2/active-rooms/" + roomID,
			check: func(t *testing.T, got any) {
				ar := got.(*ActiveRoom)
				if ar.Session.ID != "633c22b420636a0cb361dea0" || len(ar.Session.Peers) != 2 ||
					!ar.Session.CreatedAt.Equal(ts("2022-10-04T12:10:28.939011796Z")) {
					t.Errorf("active room = %+v", ar)
				}
			},
		},
		{
			name: "list active peers",
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListActivePeers(ctx, roomID) },
			reply: `{"peers":{"c0bbae7e-fbc0-48c3-89aa-83f85427acbf":{"id":"c0bbae7e-fbc0-48c3-89aa-83f85427acbf","name":"Agent 42","user_id":"agent-42","metadata":"","role":"agent","joined_at":"2025-03-14T09:30:00.123Z"},
				"161d2478-1535-49a0-b48b-326aaa26dcd0":{"id":"161d2478-1535-49a0-b48b-326aaa26dcd0","name":"Customer","user_id":"case-3f1e","metadata":"{}","role":"customer","joined_at":"2025-03-14T09:30:02Z"}}}`,
			wantMethod: "GET", wantPath: "/v2/active-rooms/" + roomID + "/peers",
			check: func(t *testing.T, got any) {
				peers := got.(map[string]ActivePeer)
				p, ok := peers["c0bbae7e-fbc0-48c3-89aa-83f85427acbf"]
				if len(peers) != 2 || !ok || p.Role != "agent" || p.UserID != "agent-42" || !p.JoinedAt.Equal(ts("2025-03-14T09:30:00.123Z")) {
					t.Errorf("peers = %+v", peers)
				}
			},
		},
		{
			name:       "list active peers of an empty session",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.ListActivePeers(ctx, roomID) },
			reply:      `{"peers":null}`,
			wantMethod: "GET", wantPath: "/v2/active-rooms/" + roomID + "/peers",
			check: func(t *testing.T, got any) {
				if peers := got.(map[string]ActivePeer); peers == nil || len(peers) != 0 {
					t.Errorf("peers = %#v, want an empty map", peers)
				}
			},
		},
		{
			name: "end room with lock",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.EndRoom(ctx, roomID, "case decided", true)
			},
			reply:      `{"message":"session is ending"}`,
			wantMethod: "POST", wantPath: "/v2/active-rooms/" + roomID + "/end-room",
			wantBody: `{"reason":"case decided","lock":true}`,
		},
		{
			name: "end room already ended",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.EndRoom(ctx, roomID, "case decided", false)
			},
			status: http.StatusNotFound, reply: `{"code":404,"message":"active room not found"}`,
			wantMethod: "POST", wantPath: "/v2/active-rooms/" + roomID + "/end-room",
			wantBody: `{"reason":"case decided","lock":false}`,
		},
		{
			name: "start recording",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.StartRecording(ctx, roomID, StartRecordingRequest{Resolution: &Resolution{Width: 1280, Height: 720}})
			},
			reply:      `{"id":"642531cf94091a5af841456d","room_id":"64f0c5e2a1b2c3d4e5f60718","session_id":"642531c8becbb0bb81952e36","status":"starting","created_at":"2025-03-14T09:30:05.1Z","started_at":null,"stopped_at":null}`,
			wantMethod: "POST", wantPath: "/v2/recordings/room/" + roomID + "/start",
			wantBody: `{"resolution":{"width":1280,"height":720}}`,
			check: func(t *testing.T, got any) {
				r := got.(*Recording)
				if r.ID != recID || r.Status != RecordingStatusStarting || r.StartedAt != nil || r.SessionID != sessionID {
					t.Errorf("recording = %+v", r)
				}
			},
		},
		{
			name: "start recording without options",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.StartRecording(ctx, roomID, StartRecordingRequest{})
			},
			reply:      `{"id":"642531cf94091a5af841456d","status":"starting"}`,
			wantMethod: "POST", wantPath: "/v2/recordings/room/" + roomID + "/start", wantBody: `{}`,
		},
		{
			name:       "stop recording",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.StopRecording(ctx, roomID) },
			reply:      `{"limit":10,"data":[{"id":"642531cf94091a5af841456d","room_id":"64f0c5e2a1b2c3d4e5f60718","status":"stopping"}],"last":""}`,
			wantMethod: "POST", wantPath: "/v2/recordings/room/" + roomID + "/stop", wantBody: `{}`,
			check: func(t *testing.T, got any) {
				if rs := got.([]Recording); len(rs) != 1 || rs[0].Status != RecordingStatusStopping {
					t.Errorf("recordings = %+v", rs)
				}
			},
		},
		{
			name:       "get recording with assets",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.GetRecording(ctx, recID) },
			reply:      recordingJSON,
			wantMethod: "GET", wantPath: "/v2/recordings/" + recID,
			check: func(t *testing.T, got any) {
				r := got.(*Recording)
				a, ok := r.RoomCompositeAsset()
				if !ok || a.Size != 26361961 || a.Duration != 55 || a.Status != "completed" ||
					a.Path != "s3://vkyc-recordings/rec/beam/64f0c5e2a1b2c3d4e5f60718/20230330/Rec-64f0c5e2a1b2c3d4e5f60718-1680159183.mp4" ||
					!a.CreatedAt.Equal(ts("2023-03-30T06:54:06.45Z")) {
					t.Errorf("composite asset = %+v (found %v)", a, ok)
				}
				if len(r.RecordingAssets) != 2 || r.RecordingAssets[1].Size != 74 {
					t.Errorf("assets = %+v", r.RecordingAssets)
				}
				if r.StoppedAt == nil || !r.StoppedAt.Equal(ts("2023-03-30T06:53:58.182Z")) {
					t.Errorf("stopped_at = %v", r.StoppedAt)
				}
			},
		},
		{
			name: "list recordings",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListRecordings(ctx, RecordingFilter{RoomID: roomID, SessionID: sessionID, Status: "completed"})
			},
			reply:      `{"limit":100,"data":[` + recordingJSON + `],"last":"642531cf94091a5af841456d"}`,
			wantMethod: "GET", wantPath: "/v2/recordings",
			wantQuery: url.Values{"room_id": {roomID}, "session_id": {sessionID}, "status": {"completed"}, "limit": {"100"}},
		},
		{
			name: "list sessions",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListSessions(ctx, SessionFilter{RoomID: roomID, Active: &yes})
			},
			reply:      `{"limit":100,"data":[{"id":"642531c8becbb0bb81952e36","room_id":"64f0c5e2a1b2c3d4e5f60718","active":true,"peers":{},"created_at":"2025-03-14T09:29:59Z","updated_at":"2025-03-14T09:29:59Z"}]}`,
			wantMethod: "GET", wantPath: "/v2/sessions",
			wantQuery: url.Values{"room_id": {roomID}, "active": {"true"}, "limit": {"100"}},
			check: func(t *testing.T, got any) {
				if ss := got.([]Session); len(ss) != 1 || !ss[0].Active {
					t.Errorf("sessions = %+v", ss)
				}
			},
		},
		{
			name: "get session",
			call: func(ctx context.Context, c *Client) (any, error) { return c.GetSession(ctx, sessionID) },
			reply: `{"id":"642531c8becbb0bb81952e36","room_id":"64f0c5e2a1b2c3d4e5f60718","customer_id":"627cdddff2e4e30487862ad1","active":false,
				"peers":{"p1":{"id":"p1","session_id":"642531c8becbb0bb81952e36","name":"Agent","role":"agent","user_id":"agent-42","joined_at":"2025-03-14T09:30:00Z","left_at":"2025-03-14T09:41:00.5Z"},
				         "p2":{"id":"p2","session_id":"642531c8becbb0bb81952e36","name":"Customer","role":"customer","user_id":"case-3f1e","joined_at":"2025-03-14T09:30:02Z"}},
				"created_at":"2025-03-14T09:29:59Z","updated_at":"2025-03-14T09:41:01Z"}`,
			wantMethod: "GET", wantPath: "/v2/sessions/" + sessionID,
			check: func(t *testing.T, got any) {
				s := got.(*Session)
				if len(s.Peers) != 2 || s.Peers["p1"].LeftAt == nil || s.Peers["p2"].LeftAt != nil || s.Peers["p2"].UserID != "case-3f1e" {
					t.Errorf("session = %+v", s)
				}
			},
		},
		{
			name: "get template",
			call: func(ctx context.Context, c *Client) (any, error) { return c.GetTemplate(ctx, templateID) },
			reply: `{"id":"63188115d11d6db790c73c60","name":"vkyc","customerId":"627cdddff2e4e30487862ad1",
				"roles":{"agent":{"name":"agent","publishParams":{"allowed":["audio","video"]},"subscribeParams":{"subscribeToRoles":["agent","customer"]},"permissions":{"endRoom":true},"priority":1,"maxPeerCount":0}},
				"settings":{"region":"in","recording":null,"roomState":{"enabled":true,"messageInterval":5}},"createdAt":"2022-05-12T10:47:18.588Z"}`,
			wantMethod: "GET", wantPath: "/v2/templates/" + templateID,
			check: func(t *testing.T, got any) {
				tp := got.(*Template)
				if tp.ID != templateID || !tp.Roles["agent"].Permissions.EndRoom || tp.Settings.Recording != nil ||
					tp.Settings.RoomState == nil || !tp.Settings.RoomState.Enabled || tp.CreatedAt == nil {
					t.Errorf("template = %+v", tp)
				}
			},
		},
		{
			name: "create template",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateTemplate(ctx, Template{ID: "ignored", Name: "small", Roles: map[string]Role{"agent": {Name: "agent"}}})
			},
			reply:      `{"id":"63188115d11d6db790c73c60","name":"small","roles":{}}`,
			wantMethod: "POST", wantPath: "/v2/templates",
			wantBody: `{"name":"small","roles":{"agent":{"name":"agent","publishParams":{"allowed":[]},"subscribeParams":{"subscribeToRoles":[]},
				"permissions":{"endRoom":false,"removeOthers":false,"mute":false,"unmute":false,"changeRole":false,"sendRoomState":false,
				"pollRead":false,"pollWrite":false,"browserRecording":false,"rtmpStreaming":false,"hlsStreaming":false},"maxPeerCount":0}},"settings":{}}`,
		},
		{
			name: "update template",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdateTemplate(ctx, templateID, Template{Name: "small", Settings: TemplateSettings{Region: "in"}})
			},
			reply:      `{"id":"63188115d11d6db790c73c60","name":"small"}`,
			wantMethod: "POST", wantPath: "/v2/templates/" + templateID,
			wantBody: `{"name":"small","roles":{},"settings":{"region":"in"}}`,
		},
		{
			name:       "get template recordings",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.GetTemplateRecordings(ctx, templateID) },
			reply:      `[{"name":"vkyc-composite","role":"agent","compositeRecording":{"browserComposite":{"autoStart":true}},"trackRecording":{}}]`,
			wantMethod: "GET", wantPath: "/v2/templates/" + templateID + "/recordings",
			check: func(t *testing.T, got any) {
				rs := got.([]RecordingConfig)
				if len(rs) != 1 || !rs[0].CompositeRecording.BrowserComposite.AutoStart || rs[0].TrackRecording.Enabled {
					t.Errorf("recording configs = %+v", rs)
				}
			},
		},
		{
			name: "set template recordings",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetTemplateRecordings(ctx, templateID, []RecordingConfig{{Name: "r", Role: "agent", TrackRecording: &Toggle{}}})
			},
			reply:      `[{"name":"r","role":"agent","trackRecording":{}}]`,
			wantMethod: "POST", wantPath: "/v2/templates/" + templateID + "/recordings",
			wantBody: `[{"name":"r","role":"agent","trackRecording":{"enabled":false}}]`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
				writeJSON(w, status, tc.reply)
			})
			got, err := tc.call(context.Background(), f.client(t))
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tc.wantMethod || r.Path != tc.wantPath {
				t.Errorf("request = %s %s, want %s %s", r.Method, r.Path, tc.wantMethod, tc.wantPath)
			}
			wantQuery := tc.wantQuery
			if wantQuery == nil {
				wantQuery = url.Values{}
			}
			if !reflect.DeepEqual(r.Query, wantQuery) {
				t.Errorf("query = %v, want %v", r.Query, wantQuery)
			}
			if tc.wantBody == "" {
				if len(r.Body) != 0 {
					t.Errorf("unexpected body %s", r.Body)
				}
			} else {
				assertJSON(t, r.Body, tc.wantBody)
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
			}
			if r.Header.Get("Accept") != "application/json" {
				t.Errorf("Accept = %q", r.Header.Get("Accept"))
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestCreateRoomRefusesWhatHMSWouldReject(t *testing.T) {
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, http.StatusOK, roomJSON)
	})
	c := f.client(t)
	for name, req := range map[string]CreateRoomRequest{
		"name with space":    {Name: "kyc room"},
		"name with slash":    {Name: "kyc/1"},
		"unknown region":     {Name: "kyc-1", Region: "mars"},
		"duration too short": {Name: "kyc-1", MaxDurationSeconds: 119},
		"duration too long":  {Name: "kyc-1", MaxDurationSeconds: 43201},
		"bad template id":    {Name: "kyc-1", TemplateID: "../templates"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.CreateRoom(context.Background(), req); err == nil || IsRetryable(err) {
				t.Fatalf("err = %v, want a permanent refusal", err)
			}
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}
