package hmssim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
)

type sigMsg struct {
	Type   string          `json:"type"`
	PeerID string          `json:"peer_id,omitempty"`
	Token  string          `json:"token,omitempty"`
	To     string          `json:"to,omitempty"`
	From   string          `json:"from,omitempty"`
	SDP    json.RawMessage `json:"sdp,omitempty"`
	Peers  []struct {
		PeerID string `json:"peer_id"`
		Role   string `json:"role"`
	} `json:"peers,omitempty"`
	Reason string `json:"reason,omitempty"`
	Code   string `json:"code,omitempty"`
}

type sigClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func (s *sim) signal(t *testing.T, peerID, token string) *sigClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/sim/v1/signal", nil)
	if err != nil {
		t.Fatalf("dial signalling: %v", err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	c := &sigClient{t: t, ws: ws}
	c.send(sigMsg{Type: "hello", PeerID: peerID, Token: token})
	return c
}

func (c *sigClient) send(m sigMsg) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wsjson.Write(ctx, c.ws, m); err != nil {
		c.t.Fatalf("send %s: %v", m.Type, err)
	}
}

func (c *sigClient) read() sigMsg {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var m sigMsg
	if err := wsjson.Read(ctx, c.ws, &m); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

// TestSignalling relays offers between two joined peers, turns a dropped
// socket into "websocket closed" and a goodbye into nothing.
func TestSignalling(t *testing.T) {
	t.Parallel()
	s := newSim(t, hmssim.Config{})
	room := s.createRoom(t, map[string]any{"name": "kyc-signal-a1"})
	agentTok, custTok := peerToken(t, room.ID, "agent", "agent-1"), peerToken(t, room.ID, "customer", "customer-1")
	join := func(tok string) string {
		status, b := do(t, http.MethodPost, s.URL+"/sim/v1/join", "", map[string]string{"token": tok, "name": "x"})
		if status != http.StatusOK {
			t.Fatalf("join: %d %s", status, b)
		}
		var j joined
		_ = json.Unmarshal(b, &j)
		return j.PeerID
	}
	agent, cust := join(agentTok), join(custTok)

	// A wrong token or an unknown peer is refused.
	if m := s.signal(t, agent, custTok).read(); m.Type != "error" || m.Code != "peer_not_found" {
		t.Fatalf("hello with another peer's token: %+v", m)
	}

	a := s.signal(t, agent, agentTok)
	if m := a.read(); m.Type != "welcome" || len(m.Peers) != 0 {
		t.Fatalf("first welcome %+v", m)
	}
	c := s.signal(t, cust, custTok)
	if m := c.read(); m.Type != "welcome" || len(m.Peers) != 1 || m.Peers[0].PeerID != agent || m.Peers[0].Role != "agent" {
		t.Fatalf("second welcome %+v", m)
	}
	if m := a.read(); m.Type != "peer-joined" {
		t.Fatalf("agent got %+v, want peer-joined", m)
	}
	c.send(sigMsg{Type: "offer", To: agent, SDP: json.RawMessage(`{"type":"offer","sdp":"v=0"}`)})
	if m := a.read(); m.Type != "offer" || m.From != cust || string(m.SDP) != `{"type":"offer","sdp":"v=0"}` {
		t.Fatalf("relayed offer %+v", m)
	}

	// The customer's socket drops: the customer leaves with websocket
	// closed and the agent hears of it.
	if status, b := do(t, http.MethodPost, s.URL+"/sim/v1/drop", "", map[string]string{"peer_id": cust}); status != http.StatusOK {
		t.Fatalf("drop: %d %s", status, b)
	}
	if m := a.read(); m.Type != "peer-left" || m.PeerID != cust {
		t.Fatalf("agent got %+v, want peer-left", m)
	}
	eventually(t, "customer left with websocket closed", 5*time.Second, func() bool {
		return leaveReason(s, cust) == hmssim.ReasonWebsocketClosed
	})

	// A goodbye before closing is a normal leave, not a drop.
	a.send(sigMsg{Type: "bye"})
	s.leave(t, agent, hmssim.ReasonClientRequest)
	_ = a.ws.Close(websocket.StatusNormalClosure, "")
	time.Sleep(100 * time.Millisecond)
	if r := leaveReason(s, agent); r != hmssim.ReasonClientRequest {
		t.Fatalf("agent left with %q, want client request", r)
	}

	// CORS for the engine's pages.
	req, _ := http.NewRequest(http.MethodOptions, s.URL+"/sim/v1/join", nil)
	req.Header.Set("Origin", "http://127.0.0.1:1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func leaveReason(s *sim, peerID string) string {
	for _, ss := range s.State().Sessions {
		for _, p := range ss.Peers {
			if p.ID == peerID {
				return p.LeaveReason
			}
		}
	}
	return ""
}

// TestSignallingReconnect: a browser back within AbnormalLeaveDelay stays in
// the room; the engine ending the room tells the browser it was removed.
func TestSignallingReconnect(t *testing.T) {
	t.Parallel()
	s := newSim(t, hmssim.Config{AbnormalLeaveDelay: 700 * time.Millisecond})
	room := s.createRoom(t, map[string]any{"name": "kyc-signal-a2"})
	tok := peerToken(t, room.ID, "customer", "customer-2")
	status, b := do(t, http.MethodPost, s.URL+"/sim/v1/join", "", map[string]string{"token": tok, "name": "x"})
	if status != http.StatusOK {
		t.Fatalf("join: %d %s", status, b)
	}
	var j joined
	_ = json.Unmarshal(b, &j)

	c := s.signal(t, j.PeerID, tok)
	c.read() // welcome
	if status, b := do(t, http.MethodPost, s.URL+"/sim/v1/drop", "", map[string]string{"peer_id": j.PeerID}); status != http.StatusOK {
		t.Fatalf("drop: %d %s", status, b)
	}
	time.Sleep(200 * time.Millisecond)
	back := s.signal(t, j.PeerID, tok)
	if m := back.read(); m.Type != "welcome" {
		t.Fatalf("reconnect got %+v", m)
	}
	time.Sleep(time.Second) // past the delay
	if r := leaveReason(s, j.PeerID); r != "" {
		t.Fatalf("the peer left (%q) although it reconnected in time", r)
	}

	s.api(t, http.MethodPost, "/v2/active-rooms/"+room.ID+"/end-room", map[string]any{"reason": "done", "lock": true}, nil)
	if m := back.read(); m.Type != "removed" || m.Reason != hmssim.ReasonServerRemovedPeer {
		t.Fatalf("after end-room the browser got %+v, want removed", m)
	}
}
