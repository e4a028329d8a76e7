package hms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Webhook event types the engine knows. Other types are decoded and kept.
const (
	EventSessionOpen      = "session.open.success"
	EventSessionClose     = "session.close.success"
	EventPeerJoin         = "peer.join.success"
	EventPeerLeave        = "peer.leave.success"
	EventPeerJoinFailure  = "peer.join.failure"
	EventRoomEnd          = "room.end.success"
	EventBeamStarted      = "beam.started.success"
	EventBeamStopped      = "beam.stopped.success"
	EventBeamRecording    = "beam.recording.success"
	EventBeamFailure      = "beam.failure"
	EventRecordingSuccess = "recording.success" // SFU recording
	EventRecordingFailed  = "recording.failed"  // SFU recording; not "recording.failure"
)

// KnownEventTypes lists the event types above.
var KnownEventTypes = []string{
	EventSessionOpen, EventSessionClose, EventPeerJoin, EventPeerLeave, EventPeerJoinFailure,
	EventRoomEnd, EventBeamStarted, EventBeamStopped, EventBeamRecording, EventBeamFailure,
	EventRecordingSuccess, EventRecordingFailed,
}

// ErrInvalidEvent marks a webhook body that is not an event at all.
var ErrInvalidEvent = errors.New("hms: invalid webhook event")

// Event is a 100ms webhook event. Delivery is at least once: duplicates
// share the same ID.
type Event struct {
	Version   string
	ID        string
	AppID     string // missing in some events
	AccountID string
	Timestamp time.Time // second precision; zero if absent or unreadable
	Type      string
	IsReplay  bool
	Data      EventData
	// RawData is data exactly as received. When set, it is what MarshalJSON
	// writes, so a decoded event is forwarded without losing fields the
	// engine does not model.
	RawData json.RawMessage
}

// EventData is the union of the data fields of the events the engine reads.
// Sizes in bytes, durations in seconds, times in UTC (zero when absent or
// unreadable). A string field sent as a JSON object (user_data, at times)
// holds that object as canonical JSON text. RecordingPresignedURL and
// ChatRecordingPresignedURL are bearer URLs, UserName and UserData may be
// personal data: never log them.
type EventData struct {
	RoomID                    string `json:"room_id,omitempty"`
	RoomName                  string `json:"room_name,omitempty"`
	SessionID                 string `json:"session_id,omitempty"`
	TemplateID                string `json:"template_id,omitempty"`
	PeerID                    string `json:"peer_id,omitempty"`
	UserID                    string `json:"user_id,omitempty"`
	UserName                  string `json:"user_name,omitempty"`
	UserData                  string `json:"user_data,omitempty"`
	Role                      string `json:"role,omitempty"`
	PeerType                  string `json:"type,omitempty"` // regular | sip
	Reason                    string `json:"reason,omitempty"`
	Message                   string `json:"message,omitempty"`
	Error                     string `json:"error,omitempty"` // recording.failed
	ErrorMessage              string `json:"error_message,omitempty"`
	ErrorType                 string `json:"error_type,omitempty"`
	ErrorCode                 int64  `json:"error_code,omitempty"`
	Source                    string `json:"source,omitempty"`
	BeamID                    string `json:"beam_id,omitempty"`
	JobID                     string `json:"job_id,omitempty"`
	RecordingID               string `json:"recording_id,omitempty"`
	RecordingEnabled          bool   `json:"recording_enabled,omitempty"`
	RecordingPath             string `json:"recording_path,omitempty"`
	RecordingPresignedURL     string `json:"recording_presigned_url,omitempty"`
	ChatRecordingPath         string `json:"chat_recording_path,omitempty"`
	ChatRecordingPresignedURL string `json:"chat_recording_presigned_url,omitempty"`
	MeetingURL                string `json:"meeting_url,omitempty"`
	LockRoom                  bool   `json:"lock_room,omitempty"`

	Size            int64 `json:"size,omitempty"`
	Duration        int64 `json:"duration,omitempty"`
	SessionDuration int64 `json:"session_duration,omitempty"`
	MaxWidth        int64 `json:"max_width,omitempty"`
	MaxHeight       int64 `json:"max_height,omitempty"`

	JoinedAt         time.Time `json:"joined_at,omitzero"`
	LeftAt           time.Time `json:"left_at,omitzero"`
	SessionStartedAt time.Time `json:"session_started_at,omitzero"`
	SessionStoppedAt time.Time `json:"session_stopped_at,omitzero"`
	CreatedAt        time.Time `json:"created_at,omitzero"`
	StartedAt        time.Time `json:"started_at,omitzero"`
	StoppedAt        time.Time `json:"stopped_at,omitzero"`
}

// DecodeEvent decodes a webhook body. It is tolerant of everything 100ms has
// been seen to send (see EventData.UnmarshalJSON) and fails only, with
// ErrInvalidEvent, for a body that is not a JSON object, has no id or no
// type, or whose data is not an object. Unknown event types are kept.
func DecodeEvent(body []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		if errors.Is(err, ErrInvalidEvent) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	if err := checkIDType(e.ID, e.Type); err != nil {
		return nil, err
	}
	return &e, nil
}

// checkIDType is the last of DecodeEvent's refusals: an event needs both.
func checkIDType(id, typ string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("%w: no id", ErrInvalidEvent)
	}
	if strings.TrimSpace(typ) == "" {
		return fmt.Errorf("%w: no type", ErrInvalidEvent)
	}
	return nil
}

// splitEvent reads a webhook body into its top-level fields and its data
// object's fields (nil when data is absent or null), with data as received.
// It refuses what DecodeEvent refuses besides a missing id or type.
func splitEvent(b []byte) (top, data map[string]json.RawMessage, rawData json.RawMessage, err error) {
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: not a JSON object: %v", ErrInvalidEvent, err)
	}
	if top == nil {
		return nil, nil, nil, fmt.Errorf("%w: null", ErrInvalidEvent)
	}
	raw := bytes.TrimSpace(top["data"])
	if len(raw) == 0 || string(raw) == "null" {
		return top, nil, nil, nil
	}
	if raw[0] != '{' {
		return nil, nil, nil, fmt.Errorf("%w: data is not an object", ErrInvalidEvent)
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: data: %v", ErrInvalidEvent, err)
	}
	return top, data, raw, nil
}

// Envelope is what routing a webhook needs: the event's id and type and the
// room it is about.
type Envelope struct {
	ID       string
	Type     string
	RoomName string
}

// DecodeEnvelope accepts and refuses exactly the bodies DecodeEvent does and
// reads the same id, type and room name, without converting the rest of the
// data (webhook intake stores the body as received; the dispatcher decodes
// it whole).
func DecodeEnvelope(body []byte) (Envelope, error) {
	top, data, _, err := splitEvent(body)
	if err != nil {
		return Envelope{}, err
	}
	env := Envelope{ID: scalarString(top["id"]), Type: scalarString(top["type"]), RoomName: flexString(data["room_name"])}
	if err := checkIDType(env.ID, env.Type); err != nil {
		return Envelope{}, err
	}
	return env, nil
}

// Known reports whether the event's type is one of KnownEventTypes.
func (e *Event) Known() bool {
	for _, t := range KnownEventTypes {
		if e.Type == t {
			return true
		}
	}
	return false
}

// UnmarshalJSON decodes the envelope tolerantly; only data that is present
// and not an object (or null) is an error.
func (e *Event) UnmarshalJSON(b []byte) error {
	m, data, raw, err := splitEvent(b)
	if err != nil {
		return err
	}
	ev := Event{
		Version:   flexString(m["version"]),
		ID:        scalarString(m["id"]),
		AppID:     flexString(m["app_id"]),
		AccountID: flexString(m["account_id"]),
		Timestamp: flexTime(m["timestamp"]),
		Type:      scalarString(m["type"]),
		IsReplay:  flexBool(m["is_replay"]),
	}
	if data != nil {
		ev.Data.setFields(data)
		ev.RawData = append(json.RawMessage(nil), raw...)
	}
	*e = ev
	return nil
}

// eventWire is the envelope as 100ms sends it.
type eventWire struct {
	Version   string          `json:"version,omitempty"`
	ID        string          `json:"id"`
	AppID     string          `json:"app_id,omitempty"`
	AccountID string          `json:"account_id,omitempty"`
	Timestamp time.Time       `json:"timestamp"`
	Type      string          `json:"type"`
	IsReplay  bool            `json:"is_replay,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// MarshalJSON writes the envelope as 100ms sends it, with RawData as data
// when set and Data otherwise.
func (e Event) MarshalJSON() ([]byte, error) {
	data := e.RawData
	if len(data) == 0 {
		d, err := json.Marshal(e.Data)
		if err != nil {
			return nil, err
		}
		data = d
	}
	return json.Marshal(eventWire{
		Version:   e.Version,
		ID:        e.ID,
		AppID:     e.AppID,
		AccountID: e.AccountID,
		Timestamp: e.Timestamp,
		Type:      e.Type,
		IsReplay:  e.IsReplay,
		Data:      data,
	})
}

// UnmarshalJSON reads every field tolerantly: numbers may be JSON numbers,
// floats or numeric strings; booleans may be strings or 0/1; strings may be
// objects (kept as JSON text); times are RFC3339 with any fractional
// precision, Go's zero time included. Unknown fields are ignored and a
// field that cannot mean anything is left zero.
func (d *EventData) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	d.setFields(m)
	return nil
}

// setFields sets d from the fields of a data object.
func (d *EventData) setFields(m map[string]json.RawMessage) {
	*d = EventData{}
	// One pass over the fields sent (a dozen or so) rather than over every
	// field the engine knows: webhook intake decodes each event, and lookup
	// tables built per call were most of that decoding's allocations.
	for key, raw := range m {
		if dst := d.stringField(key); dst != nil {
			*dst = flexString(raw)
			continue
		}
		if dst := d.intField(key); dst != nil {
			*dst = flexInt(raw)
			continue
		}
		if dst := d.timeField(key); dst != nil {
			*dst = flexTime(raw)
			continue
		}
		switch key {
		case "recording_enabled":
			d.RecordingEnabled = flexBool(raw)
		case "lock_room":
			d.LockRoom = flexBool(raw)
		}
	}
}

func (d *EventData) stringField(key string) *string {
	switch key {
	case "room_id":
		return &d.RoomID
	case "room_name":
		return &d.RoomName
	case "session_id":
		return &d.SessionID
	case "template_id":
		return &d.TemplateID
	case "peer_id":
		return &d.PeerID
	case "user_id":
		return &d.UserID
	case "user_name":
		return &d.UserName
	case "user_data":
		return &d.UserData
	case "role":
		return &d.Role
	case "type":
		return &d.PeerType
	case "reason":
		return &d.Reason
	case "message":
		return &d.Message
	case "error":
		return &d.Error
	case "error_message":
		return &d.ErrorMessage
	case "error_type":
		return &d.ErrorType
	case "source":
		return &d.Source
	case "beam_id":
		return &d.BeamID
	case "job_id":
		return &d.JobID
	case "recording_id":
		return &d.RecordingID
	case "recording_path":
		return &d.RecordingPath
	case "recording_presigned_url":
		return &d.RecordingPresignedURL
	case "chat_recording_path":
		return &d.ChatRecordingPath
	case "chat_recording_presigned_url":
		return &d.ChatRecordingPresignedURL
	case "meeting_url":
		return &d.MeetingURL
	}
	return nil
}

func (d *EventData) intField(key string) *int64 {
	switch key {
	case "error_code":
		return &d.ErrorCode
	case "size":
		return &d.Size
	case "duration":
		return &d.Duration
	case "session_duration":
		return &d.SessionDuration
	case "max_width":
		return &d.MaxWidth
	case "max_height":
		return &d.MaxHeight
	}
	return nil
}

func (d *EventData) timeField(key string) *time.Time {
	switch key {
	case "joined_at":
		return &d.JoinedAt
	case "left_at":
		return &d.LeftAt
	case "session_started_at":
		return &d.SessionStartedAt
	case "session_stopped_at":
		return &d.SessionStoppedAt
	case "created_at":
		return &d.CreatedAt
	case "started_at":
		return &d.StartedAt
	case "stopped_at":
		return &d.StoppedAt
	}
	return nil
}

// scalarString reads an identifier: a JSON string, or a number as its text.
// Objects, arrays, booleans and null mean "absent".
func scalarString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' || raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		return flexString(raw)
	}
	return ""
}
