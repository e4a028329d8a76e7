package hms

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Session is one continuous call in a room. A peer who rejoins gets a new
// peer id; user_id stays.
type Session struct {
	ID         string                 `json:"id"`
	RoomID     string                 `json:"room_id"`
	CustomerID string                 `json:"customer_id,omitempty"`
	Active     bool                   `json:"active"`
	Peers      map[string]SessionPeer `json:"peers"` // by peer id
	CreatedAt  time.Time              `json:"created_at"`
	UpdatedAt  time.Time              `json:"updated_at"`
}

// SessionPeer is a peer of a session; LeftAt is nil while the peer is in.
type SessionPeer struct {
	ID        string     `json:"id"`
	SessionID string     `json:"session_id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	UserID    string     `json:"user_id"`
	JoinedAt  time.Time  `json:"joined_at"`
	LeftAt    *time.Time `json:"left_at,omitempty"`
}

// SessionFilter narrows ListSessions.
type SessionFilter struct {
	RoomID string
	Active *bool
}

// ListSessions returns every session matching f, following all pages.
func (c *Client) ListSessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	q := url.Values{}
	setFilter(q, "room_id", f.RoomID)
	setFlagFilter(q, "active", f.Active)
	return listAll[Session](ctx, c, "/sessions", q)
}

// GetSession fetches a session with its peers.
func (c *Client) GetSession(ctx context.Context, id string) (*Session, error) {
	if err := validID("session id", id); err != nil {
		return nil, err
	}
	return doAs[Session](ctx, c, http.MethodGet, "/sessions/"+id, nil)
}

// UnmarshalJSON maps the Go zero time that 100ms sends for a peer still in
// the session ("0001-01-01T00:00:00Z") to a nil LeftAt, so that callers can
// test LeftAt != nil without mistaking present peers for departed ones.
func (p *SessionPeer) UnmarshalJSON(b []byte) error {
	type plain SessionPeer
	var raw struct {
		plain
		LeftAt json.RawMessage `json:"left_at"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*p = SessionPeer(raw.plain)
	p.LeftAt = nil
	if t := flexTime(raw.LeftAt); !t.IsZero() {
		p.LeftAt = &t
	}
	return nil
}
