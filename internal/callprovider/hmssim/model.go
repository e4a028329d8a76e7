package hmssim

import (
	"encoding/json"
	"time"
)

// The simulator's state. Every field is guarded by Server.mu.

type roomWebhook struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

type room struct {
	ID, Name, Description, TemplateID, Region string
	Enabled                                   bool
	RecordingInfo                             json.RawMessage
	Size, MaxDurationSeconds                  int
	LargeRoom                                 bool
	Webhook                                   *roomWebhook
	CreatedAt, UpdatedAt                      time.Time

	active *session // the open session, nil when none
}

type session struct {
	ID, RoomID           string
	seq                  uint64 // creation order, the dice index for recording faults
	Active               bool
	CreatedAt, UpdatedAt time.Time
	StoppedAt            time.Time
	peers                []*peer
	recordings           []*recording
	closeGen             int // bumped to cancel a pending delayed close
}

type peer struct {
	ID, SessionID, RoomID, Name, UserID, Role, Metadata string
	JoinedAt                                            time.Time
	LeftAt                                              time.Time
	LeaveReason                                         string
	disconnecting                                       bool // abnormal leave announced later
}

func (p *peer) present() bool { return p.LeftAt.IsZero() }

// Recording statuses, as the 100ms recordings API reports them.
const (
	recStarting       = "starting"
	recRunning        = "running"
	recStopping       = "stopping"
	recPostProcessing = "post_processing"
	recCompleted      = "completed"
	recFailed         = "failed"
)

type recording struct {
	ID, RoomID, SessionID, Status string
	MeetingURL                    string
	Width, Height                 int
	AudioOnly                     bool
	StartedBy, StoppedBy          string
	CreatedAt, UpdatedAt          time.Time
	StartedAt, StoppedAt          *time.Time
	StopReason                    string
	ErrorType                     string
	asset                         *asset
	sessionSeq                    uint64
}

type asset struct {
	ID, Type, Status, Bucket, Key string
	Size, Duration                int64
	CreatedAt                     time.Time
}

func (a *asset) path() string { return "s3://" + a.Bucket + "/" + a.Key }

func (r *recording) active() bool { return r.Status == recStarting || r.Status == recRunning }

type template struct {
	ID, Name             string
	doc                  map[string]json.RawMessage // the full camelCase document as last written
	CreatedAt, UpdatedAt time.Time
}

// JSON views of the objects, with 100ms's field names.

type roomJSON struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	Enabled            bool            `json:"enabled"`
	Description        string          `json:"description"`
	CustomerID         string          `json:"customer_id"`
	AppID              string          `json:"app_id"`
	RecordingInfo      json.RawMessage `json:"recording_info,omitempty"`
	TemplateID         string          `json:"template_id"`
	Template           string          `json:"template"`
	Region             string          `json:"region"`
	Size               int             `json:"size,omitempty"`
	MaxDurationSeconds int             `json:"max_duration_seconds,omitempty"`
	LargeRoom          bool            `json:"large_room"`
	Webhook            *roomWebhookOut `json:"webhook,omitempty"`
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
	Active             bool            `json:"active"`
}

// roomWebhookOut never echoes the headers: their values are secrets.
type roomWebhookOut struct {
	URL string `json:"url"`
}

type sessionPeerJSON struct {
	ID        string    `json:"id"`
	SessionID string    `json:"session_id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	UserID    string    `json:"user_id"`
	JoinedAt  time.Time `json:"joined_at"`
	LeftAt    time.Time `json:"left_at"` // 100ms shows Go's zero time for peers still in
}

type sessionJSON struct {
	ID         string                     `json:"id"`
	CustomerID string                     `json:"customer_id"`
	AppID      string                     `json:"app_id"`
	RoomID     string                     `json:"room_id"`
	Active     bool                       `json:"active"`
	Peers      map[string]sessionPeerJSON `json:"peers"`
	CreatedAt  time.Time                  `json:"created_at"`
	UpdatedAt  time.Time                  `json:"updated_at"`
}

type activePeerJSON struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	UserID   string    `json:"user_id"`
	Metadata string    `json:"metadata"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

type enabledFlag struct {
	Enabled bool `json:"enabled"`
}

type activeSessionJSON struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Peers     []string  `json:"peers"`
	Recording struct {
		SFU     enabledFlag `json:"sfu"`
		Browser enabledFlag `json:"browser"`
	} `json:"recording"`
	Streaming struct {
		HLS  enabledFlag `json:"hls"`
		RTMP enabledFlag `json:"rtmp"`
	} `json:"streaming"`
}

type activeRoomJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	CustomerID string            `json:"customer_id"`
	AppID      string            `json:"app_id"`
	Session    activeSessionJSON `json:"session"`
}

type resolutionJSON struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

type assetJSON struct {
	ID        string    `json:"id"`
	RoomID    string    `json:"room_id"`
	SessionID string    `json:"session_id"`
	JobID     string    `json:"job_id"`
	Type      string    `json:"type"`
	Path      string    `json:"path"`
	Status    string    `json:"status"`
	Size      int64     `json:"size"`
	Duration  int64     `json:"duration"`
	Metadata  any       `json:"metadata"`
	CreatedAt time.Time `json:"created_at"`
}

type recordingJSON struct {
	ID              string      `json:"id"`
	RoomID          string      `json:"room_id"`
	SessionID       string      `json:"session_id"`
	Status          string      `json:"status"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	StartedAt       *time.Time  `json:"started_at"`
	StoppedAt       *time.Time  `json:"stopped_at"`
	MeetingURL      string      `json:"meeting_url"`
	StartedBy       string      `json:"started_by"`
	StoppedBy       string      `json:"stopped_by"`
	AssetTypes      []string    `json:"asset_types"`
	RecordingAssets []assetJSON `json:"recording_assets"` // null until the file exists, as on 100ms
}

func (s *Server) roomView(r *room) roomJSON {
	out := roomJSON{
		ID: r.ID, Name: r.Name, Enabled: r.Enabled, Description: r.Description,
		CustomerID: s.cfg.CustomerID, AppID: s.cfg.AppID, RecordingInfo: r.RecordingInfo,
		TemplateID: r.TemplateID, Region: r.Region, Size: r.Size,
		MaxDurationSeconds: r.MaxDurationSeconds, LargeRoom: r.LargeRoom,
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt), Active: r.active != nil,
	}
	if t := s.templates[r.TemplateID]; t != nil {
		out.Template = t.Name
	}
	if r.Webhook != nil {
		out.Webhook = &roomWebhookOut{URL: r.Webhook.URL}
	}
	return out
}

func (s *Server) sessionView(ss *session) sessionJSON {
	out := sessionJSON{
		ID: ss.ID, CustomerID: s.cfg.CustomerID, AppID: s.cfg.AppID, RoomID: ss.RoomID,
		Active: ss.Active, Peers: make(map[string]sessionPeerJSON, len(ss.peers)),
		CreatedAt: utc(ss.CreatedAt), UpdatedAt: utc(ss.UpdatedAt),
	}
	for _, p := range ss.peers {
		out.Peers[p.ID] = sessionPeerJSON{
			ID: p.ID, SessionID: p.SessionID, Name: p.Name, Role: p.Role, UserID: p.UserID,
			JoinedAt: utc(p.JoinedAt), LeftAt: utc(p.LeftAt),
		}
	}
	return out
}

func (s *Server) recordingView(r *recording) recordingJSON {
	out := recordingJSON{
		ID: r.ID, RoomID: r.RoomID, SessionID: r.SessionID, Status: r.Status,
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt),
		StartedAt: utcPtr(r.StartedAt), StoppedAt: utcPtr(r.StoppedAt),
		MeetingURL: r.MeetingURL, StartedBy: r.StartedBy, StoppedBy: r.StoppedBy,
		AssetTypes: []string{"room-composite"},
	}
	if r.asset != nil {
		out.RecordingAssets = []assetJSON{s.assetView(r, r.asset)}
	}
	return out
}

func (s *Server) assetView(r *recording, a *asset) assetJSON {
	return assetJSON{
		ID: a.ID, RoomID: r.RoomID, SessionID: r.SessionID, JobID: r.ID, Type: a.Type,
		Path: a.path(), Status: a.Status, Size: a.Size, Duration: a.Duration,
		Metadata:  map[string]any{"resolution": resolutionJSON{Width: r.Width, Height: r.Height}},
		CreatedAt: utc(a.CreatedAt),
	}
}
