package hms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// RecordingInfo is a room's SFU recording setting. Leave it nil on create so
// that the room follows its template's recording configuration.
type RecordingInfo struct {
	Enabled    bool        `json:"enabled"`
	UploadInfo *UploadInfo `json:"upload_info,omitempty"`
}

// UploadInfo is a room-level storage destination.
type UploadInfo struct {
	Type        string             `json:"type"` // s3 | gs | oss
	Location    string             `json:"location"`
	Prefix      string             `json:"prefix,omitempty"`
	Options     *UploadOptions     `json:"options,omitempty"`
	Credentials *UploadInfoSecrets `json:"credentials,omitempty"`
}

// UploadInfoSecrets are storage credentials in the room API's spelling
// ("secret"; the template API spells it "secretKey").
type UploadInfoSecrets struct {
	Key    string `json:"key"`
	Secret string `json:"secret"`
}

// String keeps the secret out of %v output.
func (s UploadInfoSecrets) String() string { return "{key:" + s.Key + " secret:REDACTED}" }

// RoomWebhook replaces the workspace webhook for one room.
type RoomWebhook struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

// CreateRoomRequest is the body of POST /rooms. Create is an upsert by name.
type CreateRoomRequest struct {
	Name               string         `json:"name,omitempty"`
	Description        string         `json:"description,omitempty"`
	TemplateID         string         `json:"template_id,omitempty"`
	Region             string         `json:"region,omitempty"` // in | us | eu | auto
	RecordingInfo      *RecordingInfo `json:"recording_info,omitempty"`
	Size               int            `json:"size,omitempty"`
	MaxDurationSeconds int            `json:"max_duration_seconds,omitempty"` // 120..43200
	Webhook            *RoomWebhook   `json:"webhook,omitempty"`
}

// Room is a 100ms room.
type Room struct {
	ID                 string         `json:"id"`
	Name               string         `json:"name"`
	Enabled            bool           `json:"enabled"`
	Description        string         `json:"description,omitempty"`
	CustomerID         string         `json:"customer_id,omitempty"`
	AppID              string         `json:"app_id,omitempty"`
	TemplateID         string         `json:"template_id,omitempty"`
	Region             string         `json:"region,omitempty"`
	RecordingInfo      *RecordingInfo `json:"recording_info,omitempty"`
	Size               int            `json:"size,omitempty"`
	MaxDurationSeconds int            `json:"max_duration_seconds,omitempty"`
	LargeRoom          bool           `json:"large_room,omitempty"`
	Webhook            *RoomWebhook   `json:"webhook,omitempty"`
	CreatedAt          time.Time      `json:"created_at"`
	UpdatedAt          time.Time      `json:"updated_at"`
}

// RoomFilter narrows ListRooms.
type RoomFilter struct {
	Name    string
	Enabled *bool
}

// CreateRoom creates the room, or returns (and updates) the room of that name.
func (c *Client) CreateRoom(ctx context.Context, req CreateRoomRequest) (*Room, error) {
	if req.Name != "" && !roomNamePattern.MatchString(req.Name) {
		return nil, fmt.Errorf("%w: room name %q: allowed are a-z A-Z 0-9 . - : _", ErrInvalidArgument, req.Name)
	}
	switch req.Region {
	case "", "in", "us", "eu", "auto":
	default:
		return nil, fmt.Errorf("%w: region %q", ErrInvalidArgument, req.Region)
	}
	if d := req.MaxDurationSeconds; d != 0 && (d < 120 || d > 43200) {
		return nil, fmt.Errorf("%w: max_duration_seconds %d outside 120..43200", ErrInvalidArgument, d)
	}
	if req.TemplateID != "" {
		if err := validID("template id", req.TemplateID); err != nil {
			return nil, err
		}
	}
	return doAs[Room](ctx, c, http.MethodPost, "/rooms", req)
}

// GetRoom fetches a room by id.
func (c *Client) GetRoom(ctx context.Context, id string) (*Room, error) {
	if err := validID("room id", id); err != nil {
		return nil, err
	}
	return doAs[Room](ctx, c, http.MethodGet, "/rooms/"+id, nil)
}

// DisableRoom disables a room: nobody can join a later session. A session
// in progress is not ended (see EndRoom).
func (c *Client) DisableRoom(ctx context.Context, id string) (*Room, error) {
	if err := validID("room id", id); err != nil {
		return nil, err
	}
	body := struct {
		Enabled bool `json:"enabled"`
	}{false}
	return doAs[Room](ctx, c, http.MethodPost, "/rooms/"+id, body)
}

// ListRooms returns every room matching f, following all pages.
func (c *Client) ListRooms(ctx context.Context, f RoomFilter) ([]Room, error) {
	q := url.Values{}
	setFilter(q, "name", f.Name)
	setFlagFilter(q, "enabled", f.Enabled)
	return listAll[Room](ctx, c, "/rooms", q)
}

// ActiveRoom is a room with a session in progress.
type ActiveRoom struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	CustomerID string        `json:"customer_id,omitempty"`
	Session    ActiveSession `json:"session"`
}

// ActiveSession is the session in progress of an active room.
type ActiveSession struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Peers     []string  `json:"peers"` // peer ids
}

// ActivePeer is a peer in the session in progress.
type ActivePeer struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	UserID   string    `json:"user_id"`
	Metadata string    `json:"metadata,omitempty"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

// GetActiveRoom returns the room's session in progress; a 404 (IsNotFound)
// means no session is active.
func (c *Client) GetActiveRoom(ctx context.Context, roomID string) (*ActiveRoom, error) {
	if err := validID("room id", roomID); err != nil {
		return nil, err
	}
	return doAs[ActiveRoom](ctx, c, http.MethodGet, "/active-rooms/"+roomID, nil)
}

// ListActivePeers returns the peers of the session in progress, by peer id.
func (c *Client) ListActivePeers(ctx context.Context, roomID string) (map[string]ActivePeer, error) {
	if err := validID("room id", roomID); err != nil {
		return nil, err
	}
	var out struct {
		Peers map[string]ActivePeer `json:"peers"`
	}
	if err := c.do(ctx, http.MethodGet, "/active-rooms/"+roomID+"/peers", nil, nil, &out); err != nil {
		return nil, err
	}
	if out.Peers == nil {
		out.Peers = map[string]ActivePeer{}
	}
	return out.Peers, nil
}

// EndRoom ends the session in progress for everyone; lock also disables the
// room so nobody can start a new session in it.
//
// 100ms does not document the answer when no session is active; a 404 is
// taken to mean the session has already ended, so EndRoom is idempotent and
// an activity retried after a lost answer succeeds. With lock, a caller that
// must be sure the room is disabled even then should also call DisableRoom.
func (c *Client) EndRoom(ctx context.Context, roomID, reason string, lock bool) error {
	if err := validID("room id", roomID); err != nil {
		return err
	}
	body := struct {
		Reason string `json:"reason,omitempty"`
		Lock   bool   `json:"lock"`
	}{reason, lock}
	err := c.do(ctx, http.MethodPost, "/active-rooms/"+roomID+"/end-room", nil, body, nil)
	var api *APIError
	if errors.As(err, &api) && api.Status == http.StatusNotFound {
		return nil
	}
	return err
}
