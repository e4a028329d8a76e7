package hms

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Recording statuses, in lifecycle order.
const (
	RecordingStatusStarting       = "starting"
	RecordingStatusRunning        = "running"
	RecordingStatusStopping       = "stopping"
	RecordingStatusPostProcessing = "post_processing"
	RecordingStatusCompleted      = "completed"
	RecordingStatusFailed         = "failed"
)

// AssetTypeRoomComposite is the asset type of the composite video file.
const AssetTypeRoomComposite = "room-composite"

// StartRecordingRequest is the optional body of a room-composite start.
type StartRecordingRequest struct {
	MeetingURL string      `json:"meeting_url,omitempty"`
	Resolution *Resolution `json:"resolution,omitempty"`
	AudioOnly  bool        `json:"audio_only,omitempty"`
}

// Resolution of a composite recording, in pixels.
type Resolution struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Recording is a room-composite ("beam") recording job.
type Recording struct {
	ID              string           `json:"id"`
	RoomID          string           `json:"room_id"`
	SessionID       string           `json:"session_id"`
	Status          string           `json:"status"`
	MeetingURL      string           `json:"meeting_url,omitempty"`
	StartedBy       string           `json:"started_by,omitempty"`
	StoppedBy       string           `json:"stopped_by,omitempty"`
	AssetTypes      []string         `json:"asset_types,omitempty"`
	CreatedAt       time.Time        `json:"created_at"`
	UpdatedAt       *time.Time       `json:"updated_at,omitempty"`
	StartedAt       *time.Time       `json:"started_at"`
	StoppedAt       *time.Time       `json:"stopped_at"`
	RecordingAssets []RecordingAsset `json:"recording_assets"`
}

// RecordingAsset is one output file of a recording.
type RecordingAsset struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"` // room-composite, chat, ...
	Path      string    `json:"path"` // s3://bucket/key
	Status    string    `json:"status"`
	Size      int64     `json:"size"`     // bytes
	Duration  int64     `json:"duration"` // seconds
	CreatedAt time.Time `json:"created_at"`
}

// UnmarshalJSON accepts size and duration as numbers, numeric strings or
// floats, and tolerates a malformed created_at, as 100ms's payloads vary.
func (a *RecordingAsset) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*a = RecordingAsset{
		ID:        flexString(m["id"]),
		Type:      flexString(m["type"]),
		Path:      flexString(m["path"]),
		Status:    flexString(m["status"]),
		Size:      flexInt(m["size"]),
		Duration:  flexInt(m["duration"]),
		CreatedAt: flexTime(m["created_at"]),
	}
	return nil
}

// RecordingFilter narrows ListRecordings.
type RecordingFilter struct {
	RoomID, SessionID, Status string
}

// StartRecording starts the room-composite recording of the room's session.
func (c *Client) StartRecording(ctx context.Context, roomID string, req StartRecordingRequest) (*Recording, error) {
	if err := validID("room id", roomID); err != nil {
		return nil, err
	}
	return doAs[Recording](ctx, c, http.MethodPost, "/recordings/room/"+roomID+"/start", req)
}

// StopRecording stops every recording of the room; they come back "stopping".
func (c *Client) StopRecording(ctx context.Context, roomID string) ([]Recording, error) {
	if err := validID("room id", roomID); err != nil {
		return nil, err
	}
	// The answer uses the list envelope, but a room has a handful of
	// recordings at most, so the first page is the whole answer.
	var p page[Recording]
	if err := c.do(ctx, http.MethodPost, "/recordings/room/"+roomID+"/stop", nil, struct{}{}, &p); err != nil {
		return nil, err
	}
	return p.Data, nil
}

// GetRecording fetches a recording with its assets.
func (c *Client) GetRecording(ctx context.Context, id string) (*Recording, error) {
	if err := validID("recording id", id); err != nil {
		return nil, err
	}
	return doAs[Recording](ctx, c, http.MethodGet, "/recordings/"+id, nil)
}

// ListRecordings returns every recording matching f, following all pages.
func (c *Client) ListRecordings(ctx context.Context, f RecordingFilter) ([]Recording, error) {
	q := url.Values{}
	setFilter(q, "room_id", f.RoomID)
	setFilter(q, "session_id", f.SessionID)
	setFilter(q, "status", f.Status)
	return listAll[Recording](ctx, c, "/recordings", q)
}

// RoomCompositeAsset returns the recording's composite video asset, if any.
func (r *Recording) RoomCompositeAsset() (RecordingAsset, bool) {
	for _, a := range r.RecordingAssets {
		if a.Type == AssetTypeRoomComposite {
			return a, true
		}
	}
	return RecordingAsset{}, false
}
