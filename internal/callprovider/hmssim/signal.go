package hmssim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Signalling for browsers: in simulator mode the two people's browsers send
// real WebRTC media to each other, peer to peer, and the simulator relays
// their offers, answers and ICE candidates over a WebSocket, as 100ms's SFU
// signals its SDK. Joining and leaving still go through /sim/v1/join and
// /sim/v1/leave, so the engine gets exactly the webhooks it gets from test
// drivers. A signalling socket that closes without the peer saying goodbye
// is a dropped connection: the peer leaves with "websocket closed", as on
// 100ms, after AbnormalLeaveDelay (the window in which a reconnect keeps it
// in the room).

// signalPing is how often the simulator checks that a browser is still
// there; a socket that misses a pong for signalPingTimeout is closed as a
// dropped connection.
var (
	signalPing        = 2 * time.Second
	signalPingTimeout = 3 * time.Second
)

const signalMaxMessage = 64 << 10 // an SDP offer is a few KiB

// signalMessage is one message on a signalling socket. Clients send hello
// (first, with the peer's auth token), offer, answer and candidate (with to),
// and bye before they leave; the simulator sends welcome (with the other
// peers already connected), peer-joined, peer-left, removed (the peer is out
// of the room: the session ended, or it was removed) and error, and
// forwards offers, answers and candidates with from.
type signalMessage struct {
	Type      string          `json:"type"`
	PeerID    string          `json:"peer_id,omitempty"`
	Token     string          `json:"token,omitempty"`
	To        string          `json:"to,omitempty"`
	From      string          `json:"from,omitempty"`
	SDP       json.RawMessage `json:"sdp,omitempty"`
	Candidate json.RawMessage `json:"candidate,omitempty"`
	Peers     []signalPeer    `json:"peers,omitempty"`
	Peer      *signalPeer     `json:"peer,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	Code      string          `json:"code,omitempty"`
}

type signalPeer struct {
	PeerID string `json:"peer_id"`
	Role   string `json:"role"`
	Name   string `json:"name"`
}

type signalConn struct {
	peer      signalPeer
	sessionID string
	send      chan signalMessage
	bye       atomic.Bool // the peer said goodbye, or was replaced or removed: not a drop
	done      chan struct{}
	closeOnce sync.Once
}

func (c *signalConn) close() { c.closeOnce.Do(func() { close(c.done) }) }

// enqueue never blocks: a browser that cannot keep up is disconnected.
func (c *signalConn) enqueue(m signalMessage) {
	select {
	case c.send <- m:
	default:
		c.close()
	}
}

type signalHub struct {
	mu    sync.Mutex
	conns map[string]*signalConn // by peer id
}

func newSignalHub() *signalHub { return &signalHub{conns: map[string]*signalConn{}} }

// register adds c, replacing an older socket of the same peer (a reconnect),
// and returns the other peers of its session that are connected.
func (h *signalHub) register(c *signalConn) []signalPeer {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old := h.conns[c.peer.PeerID]; old != nil {
		old.bye.Store(true) // replaced, not dropped
		old.close()
	}
	h.conns[c.peer.PeerID] = c
	others := []signalPeer{}
	for _, o := range h.conns {
		if o != c && o.sessionID == c.sessionID {
			others = append(others, o.peer)
			p := c.peer
			o.enqueue(signalMessage{Type: "peer-joined", Peer: &p})
		}
	}
	return others
}

// unregister removes c if it is still the peer's socket and tells the
// others; it reports whether it was.
func (h *signalHub) unregister(c *signalConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns[c.peer.PeerID] != c {
		return false
	}
	delete(h.conns, c.peer.PeerID)
	for _, o := range h.conns {
		if o.sessionID == c.sessionID {
			o.enqueue(signalMessage{Type: "peer-left", PeerID: c.peer.PeerID})
		}
	}
	return true
}

func (h *signalHub) relay(from *signalConn, m signalMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	to := h.conns[m.To]
	if to == nil || to.sessionID != from.sessionID {
		return // the other side left meanwhile; its peer-left is on the way
	}
	m.From, m.To, m.Token = from.peer.PeerID, "", ""
	to.enqueue(m)
}

// removed tells a peer's browser that it is out of the room. Called with
// the simulator's lock held: it only enqueues.
func (h *signalHub) removed(peerID, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.conns[peerID]; c != nil {
		c.bye.Store(true)
		c.enqueue(signalMessage{Type: "removed", PeerID: peerID, Reason: reason})
	}
}

// drop closes a peer's socket as a network failure would.
func (h *signalHub) drop(peerID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.conns[peerID]
	if c != nil {
		c.close()
	}
	return c != nil
}

// handleSignal serves one browser's signalling socket.
func (s *Server) handleSignal(w http.ResponseWriter, r *http.Request) {
	// Any origin: the page is served by the engine on another port, and the
	// peer's auth token in hello is what admits a socket.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // #nosec G402 -- origin check off on purpose; the token authenticates
	if err != nil {
		return
	}
	ws.SetReadLimit(signalMaxMessage)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	c, errMsg := s.signalHello(ctx, ws)
	if c == nil {
		_ = wsjson.Write(ctx, ws, errMsg)
		_ = ws.Close(websocket.StatusPolicyViolation, errMsg.Code)
		return
	}
	others := s.signals.register(c)
	s.log.Debug("hmssim signalling connected", "peer_id", c.peer.PeerID, "others", len(others))
	c.enqueue(signalMessage{Type: "welcome", PeerID: c.peer.PeerID, Peers: others})

	go s.signalWriter(ctx, ws, c)
	for {
		var m signalMessage
		if err := wsjson.Read(ctx, ws, &m); err != nil {
			break
		}
		switch m.Type {
		case "offer", "answer", "candidate":
			s.signals.relay(c, m)
		case "bye":
			c.bye.Store(true)
		}
	}
	c.close()
	_ = ws.CloseNow()
	if s.signals.unregister(c) && !c.bye.Load() {
		s.log.Info("hmssim signalling dropped", "peer_id", c.peer.PeerID)
		if err := s.leave(c.peer.PeerID, ReasonWebsocketClosed); err != nil {
			s.log.Debug("hmssim: leave after a drop", "peer_id", c.peer.PeerID, "err", err)
		}
	}
}

// signalHello reads the first message: the peer id from /sim/v1/join and
// the auth token it joined with.
func (s *Server) signalHello(ctx context.Context, ws *websocket.Conn) (*signalConn, signalMessage) {
	helloCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var m signalMessage
	if err := wsjson.Read(helloCtx, ws, &m); err != nil || m.Type != "hello" {
		return nil, signalMessage{Type: "error", Code: "hello_required", Reason: "send hello with peer_id and token first"}
	}
	claims, err := s.checkPeerToken(m.Token)
	if err != nil {
		return nil, signalMessage{Type: "error", Code: "invalid_token", Reason: "the auth token is not valid"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.peers[m.PeerID]
	switch {
	case p == nil || p.RoomID != claims.RoomID || p.UserID != claims.UserID:
		return nil, signalMessage{Type: "error", Code: "peer_not_found", Reason: "no such peer for this token"}
	case !p.present():
		return nil, signalMessage{Type: "error", Code: "peer_left", Reason: "the peer has left the room: " + p.LeaveReason}
	}
	// A reconnect within AbnormalLeaveDelay keeps the peer in the room.
	p.disconnecting = false
	c := &signalConn{
		peer:      signalPeer{PeerID: p.ID, Role: p.Role, Name: p.Name},
		sessionID: p.SessionID, send: make(chan signalMessage, 64), done: make(chan struct{}),
	}
	return c, signalMessage{}
}

// signalWriter sends queued messages and pings; it closes the socket when
// the browser stops answering, which the reader then sees as a drop.
func (s *Server) signalWriter(ctx context.Context, ws *websocket.Conn, c *signalConn) {
	t := time.NewTicker(signalPing)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = ws.CloseNow()
			return
		case <-c.done:
			// Flush what is queued (a removed notice), then close.
		flush:
			for {
				select {
				case m := <-c.send:
					wctx, cancel := context.WithTimeout(ctx, time.Second)
					_ = wsjson.Write(wctx, ws, m)
					cancel()
				default:
					break flush
				}
			}
			_ = ws.CloseNow()
			return
		case m := <-c.send:
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := wsjson.Write(wctx, ws, m)
			cancel()
			if err != nil {
				_ = ws.CloseNow()
				return
			}
			if m.Type == "removed" {
				c.close()
			}
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, signalPingTimeout)
			err := ws.Ping(pctx)
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				_ = ws.CloseNow()
				return
			}
		}
	}
}

// handleDrop closes a peer's signalling socket as a network failure would:
// the browser sees its connection go and tries to reconnect; the peer leaves
// with "websocket closed" unless the reconnect comes within
// AbnormalLeaveDelay.
func (s *Server) handleDrop(r *http.Request) (any, error) {
	var req struct {
		PeerID string `json:"peer_id"`
	}
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if !s.signals.drop(req.PeerID) {
		return nil, errorf(http.StatusNotFound, "peer has no signalling connection", "peer_id "+req.PeerID)
	}
	return map[string]string{"peer_id": req.PeerID}, nil
}

// cors lets the engine's pages (another origin) call the participant API.
// The simulator is a development tool and these endpoints are authorized
// by the peer's token, so any origin may call them.
func cors(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Content-Type")
		hd.Set("Access-Control-Max-Age", "600")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h(w, r)
	}
}
