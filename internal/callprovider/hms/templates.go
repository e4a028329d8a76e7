package hms

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Template is a 100ms template: the roles, settings and recording
// configuration every room created from it inherits. Templates are the one
// camelCase resource of the API.
type Template struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name"`
	CustomerID string            `json:"customerId,omitempty"`
	Roles      map[string]Role   `json:"roles"`
	Settings   TemplateSettings  `json:"settings"`
	Recordings []RecordingConfig `json:"recordings,omitempty"`
	CreatedAt  *time.Time        `json:"createdAt,omitempty"`
	UpdatedAt  *time.Time        `json:"updatedAt,omitempty"`
}

// Role is what a peer of a role may publish, see and do.
type Role struct {
	Name            string          `json:"name"`
	PublishParams   PublishParams   `json:"publishParams"`
	SubscribeParams SubscribeParams `json:"subscribeParams"`
	Permissions     Permissions     `json:"permissions"`
	Priority        int             `json:"priority,omitempty"` // 1 (highest) .. 5
	// MaxPeerCount: 0 means no limit, -1 nobody. Always sent.
	MaxPeerCount int `json:"maxPeerCount"`
}

// Track kinds a role may publish.
const (
	TrackAudio     = "audio"
	TrackVideo     = "video"
	TrackScreen    = "screen"
	TrackSimulcast = "simulcast"
)

// PublishParams are the tracks a role publishes and their quality.
type PublishParams struct {
	Allowed   []string     `json:"allowed"`
	Audio     *AudioParams `json:"audio,omitempty"`
	Video     *VideoParams `json:"video,omitempty"`
	Screen    *VideoParams `json:"screen,omitempty"`
	Simulcast *Simulcast   `json:"simulcast,omitempty"`
}

// AudioParams: bitrate in kbps.
type AudioParams struct {
	BitRate int    `json:"bitRate,omitempty"`
	Codec   string `json:"codec,omitempty"`
}

// VideoParams: bitrate in kbps, size in pixels.
type VideoParams struct {
	BitRate   int    `json:"bitRate,omitempty"`
	Codec     string `json:"codec,omitempty"`
	FrameRate int    `json:"frameRate,omitempty"`
	Width     int    `json:"width,omitempty"`
	Height    int    `json:"height,omitempty"`
}

// Simulcast lists the layers published per track kind.
type Simulcast struct {
	Video  *SimulcastLayers `json:"video,omitempty"`
	Screen *SimulcastLayers `json:"screen,omitempty"`
}

// SimulcastLayers are at most three layers, "f" first.
type SimulcastLayers struct {
	Layers []SimulcastLayer `json:"layers"`
}

// SimulcastLayer is one encoding; rid is f, h or q.
type SimulcastLayer struct {
	RID                   string  `json:"rid"`
	ScaleResolutionDownBy float64 `json:"scaleResolutionDownBy"`
	MaxBitrate            int     `json:"maxBitrate,omitempty"`
	MaxFramerate          int     `json:"maxFramerate"`
}

// SubscribeParams are the roles a role sees and how its downlink degrades.
type SubscribeParams struct {
	SubscribeToRoles     []string              `json:"subscribeToRoles"`
	MaxSubsBitRate       int                   `json:"maxSubsBitRate,omitempty"`
	SubscribeDegradation *SubscribeDegradation `json:"subscribeDegradation,omitempty"`
}

// SubscribeDegradation turns on subscribe degradation (its presence does).
type SubscribeDegradation struct {
	PacketLossThreshold       int `json:"packetLossThreshold,omitempty"`
	DegradeGracePeriodSeconds int `json:"degradeGracePeriodSeconds,omitempty"`
	RecoverGracePeriodSeconds int `json:"recoverGracePeriodSeconds,omitempty"`
	// VideoAlwaysEnabled appears only in 100ms's vKYC guide ("Use the Update
	// Template API. The parameter required "videoAlwaysEnabled": true"), in
	// no schema; its placement here, inside subscribeDegradation, is our
	// reading of "turn on subscribe degradation ... with the option to not
	// turn video off" and is undocumented.
	VideoAlwaysEnabled bool `json:"videoAlwaysEnabled,omitempty"`
}

// Permissions of a role. Every flag is always sent: browserRecording,
// rtmpStreaming and hlsStreaming default to true at 100ms, so leaving a flag
// out would grant it.
type Permissions struct {
	EndRoom      bool `json:"endRoom"`
	RemoveOthers bool `json:"removeOthers"`
	Mute         bool `json:"mute"`
	Unmute       bool `json:"unmute"`
	ChangeRole   bool `json:"changeRole"`
	// SendRoomState is "receive room state like peer-count and peer-list":
	// the dashboard's "Receive preview room state".
	SendRoomState    bool `json:"sendRoomState"`
	PollRead         bool `json:"pollRead"`
	PollWrite        bool `json:"pollWrite"`
	BrowserRecording bool `json:"browserRecording"`
	RTMPStreaming    bool `json:"rtmpStreaming"`
	HLSStreaming     bool `json:"hlsStreaming"`
}

// TemplateSettings are template-wide settings.
type TemplateSettings struct {
	Region    string             `json:"region,omitempty"`
	Recording *RecordingSettings `json:"recording,omitempty"`
	RoomState *RoomStateSettings `json:"roomState,omitempty"`
}

// RecordingSettings: Enabled is SFU recording; Upload is the storage every
// recording of the template goes to (our bucket, not 100ms's).
type RecordingSettings struct {
	Enabled bool             `json:"enabled"`
	Upload  *RecordingUpload `json:"upload,omitempty"`
}

// RecordingUpload is a storage destination.
type RecordingUpload struct {
	Type        string             `json:"type"` // s3 | gs | oss | azure
	Location    string             `json:"location"`
	Prefix      string             `json:"prefix"`
	Options     *UploadOptions     `json:"options,omitempty"`
	Credentials *UploadCredentials `json:"credentials,omitempty"`
}

// UploadOptions of a storage destination.
type UploadOptions struct {
	Region string `json:"region,omitempty"`
}

// UploadCredentials are storage credentials in the template API's spelling.
type UploadCredentials struct {
	Key       string `json:"key"`
	SecretKey string `json:"secretKey"`
}

// String keeps the secret out of %v output.
func (c UploadCredentials) String() string { return "{key:" + c.Key + " secretKey:REDACTED}" }

// RoomStateSettings: room state is what a preview screen shows before join.
type RoomStateSettings struct {
	Enabled             bool `json:"enabled"`
	MessageInterval     int  `json:"messageInterval,omitempty"` // seconds, multiple of 5
	SendPeerList        bool `json:"sendPeerList"`
	StopRoomStateOnJoin bool `json:"stopRoomStateOnJoin"`
}

// RecordingConfig is the recording configuration of a template
// (POST /templates/{id}/recordings takes a list of exactly one).
type RecordingConfig struct {
	Name               string              `json:"name"`
	Role               string              `json:"role"`
	MaxDuration        int                 `json:"maxDuration,omitempty"`     // seconds
	PresignDuration    int                 `json:"presignDuration,omitempty"` // seconds
	CompositeRecording *CompositeRecording `json:"compositeRecording,omitempty"`
	TrackRecording     *Toggle             `json:"trackRecording,omitempty"`
	StreamRecording    *StreamRecording    `json:"streamRecording,omitempty"`
}

// CompositeRecording is the room-composite recording.
type CompositeRecording struct {
	BrowserComposite *BrowserComposite `json:"browserComposite,omitempty"`
	CustomComposite  *Toggle           `json:"customComposite,omitempty"`
}

// BrowserComposite records the room as a cloud browser sees it ("beam").
type BrowserComposite struct {
	AutoStart       bool `json:"autoStart"`
	AutoStopTimeout int  `json:"autoStopTimeout,omitempty"` // seconds after the last peer leaves
	Width           int  `json:"width,omitempty"`
	Height          int  `json:"height,omitempty"`
}

// StreamRecording records the HLS/RTMP stream.
type StreamRecording struct {
	Enabled bool `json:"enabled"`
	Width   int  `json:"width,omitempty"`
	Height  int  `json:"height,omitempty"`
}

// Toggle is an {"enabled": bool} object.
type Toggle struct {
	Enabled bool `json:"enabled"`
}

// CreateTemplate creates a template; a template of the same name is
// overwritten by 100ms.
func (c *Client) CreateTemplate(ctx context.Context, t Template) (*Template, error) {
	if err := checkTemplate(t); err != nil {
		return nil, err
	}
	return doAs[Template](ctx, c, http.MethodPost, "/templates", wireTemplate(t))
}

// GetTemplate fetches a template by id.
func (c *Client) GetTemplate(ctx context.Context, id string) (*Template, error) {
	if err := validID("template id", id); err != nil {
		return nil, err
	}
	return doAs[Template](ctx, c, http.MethodGet, "/templates/"+id, nil)
}

// UpdateTemplate overwrites the template entirely (100ms's update is a full
// overwrite, not a merge).
func (c *Client) UpdateTemplate(ctx context.Context, id string, t Template) (*Template, error) {
	if err := validID("template id", id); err != nil {
		return nil, err
	}
	if err := checkTemplate(t); err != nil {
		return nil, err
	}
	return doAs[Template](ctx, c, http.MethodPost, "/templates/"+id, wireTemplate(t))
}

// ApplyTemplate creates the template or overwrites the one of the same name,
// then sets its recording configuration through the dedicated endpoint. The
// recordings travel in the create body too, but that field is not in 100ms's
// documented create schema, and the auto-started composite recording is the
// one setting the engine cannot do without. Applying the same template twice
// changes nothing.
func (c *Client) ApplyTemplate(ctx context.Context, t Template) (*Template, error) {
	out, err := c.CreateTemplate(ctx, t)
	if err != nil {
		return nil, err
	}
	if len(t.Recordings) == 0 {
		return out, nil
	}
	if err := validID("template id", out.ID); err != nil {
		return nil, fmt.Errorf("hms: apply template %q: create answered without a usable id: %w", t.Name, err)
	}
	recs, err := c.SetTemplateRecordings(ctx, out.ID, t.Recordings)
	if err != nil {
		return nil, fmt.Errorf("hms: apply template %q: %w", t.Name, err)
	}
	out.Recordings = recs
	return out, nil
}

// GetTemplateRecordings returns the template's recording configuration.
func (c *Client) GetTemplateRecordings(ctx context.Context, id string) ([]RecordingConfig, error) {
	if err := validID("template id", id); err != nil {
		return nil, err
	}
	var out []RecordingConfig
	if err := c.do(ctx, http.MethodGet, "/templates/"+id+"/recordings", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// SetTemplateRecordings replaces the template's recording configuration.
func (c *Client) SetTemplateRecordings(ctx context.Context, id string, recs []RecordingConfig) ([]RecordingConfig, error) {
	if err := validID("template id", id); err != nil {
		return nil, err
	}
	if len(recs) != 1 {
		return nil, fmt.Errorf("%w: 100ms takes exactly one recording configuration, got %d", ErrInvalidArgument, len(recs))
	}
	var out []RecordingConfig
	if err := c.do(ctx, http.MethodPost, "/templates/"+id+"/recordings", nil, recs, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// wireTemplate is t as sent: the id goes in the path, never the body, and
// nil lists become empty ones, so that a role given no tracks or
// subscriptions has none instead of 100ms's defaults (which include
// screenshare).
func wireTemplate(t Template) Template {
	t.ID = ""
	roles := make(map[string]Role, len(t.Roles))
	for k, r := range t.Roles {
		if r.PublishParams.Allowed == nil {
			r.PublishParams.Allowed = []string{}
		}
		if r.SubscribeParams.SubscribeToRoles == nil {
			r.SubscribeParams.SubscribeToRoles = []string{}
		}
		roles[k] = r
	}
	t.Roles = roles
	return t
}

func checkTemplate(t Template) error {
	if !templateNamePattern.MatchString(t.Name) {
		return fmt.Errorf("%w: template name %q: allowed are a-z A-Z 0-9 space . - : _", ErrInvalidArgument, t.Name)
	}
	for key, r := range t.Roles {
		if r.Name != "" && r.Name != key {
			return fmt.Errorf("%w: template %q: role key %q names role %q", ErrInvalidArgument, t.Name, key, r.Name)
		}
	}
	return nil
}
