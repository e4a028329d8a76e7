package hmssim

import (
	"errors"
	"log/slog"
	"time"
)

// Config is the simulated 100ms workspace. Zero durations take the defaults
// documented on each field; only AccessKey and AppSecret are required.
type Config struct {
	// AccessKey and AppSecret are the workspace credentials: management and
	// peer tokens must be HS256-signed with AppSecret and carry AccessKey.
	AccessKey, AppSecret string
	// AppID and CustomerID appear in room objects and webhook envelopes
	// (CustomerID as account_id). Random 24-hex ids when empty.
	AppID, CustomerID string
	// WebhookURL is the workspace webhook; a room's own webhook{url,headers}
	// replaces both the URL and the headers for that room's events.
	WebhookURL string
	// WebhookHeaders are secret headers sent unchanged with every delivery.
	WebhookHeaders map[string]string
	// HMACSecret, when set, adds x-100ms-signature = hex(HMAC-SHA256(secret, body)).
	HMACSecret string

	// RecordingStartDelay is how long an auto-started recording stays
	// "starting" after the first join. Default 2s (the seed guide's figure).
	RecordingStartDelay time.Duration
	// RecordingReadyDelay is the time from the end of a recording to its
	// file being uploaded and beam.recording.success sent. Default 9s (p50).
	RecordingReadyDelay time.Duration
	// AbnormalLeaveDelay delays peer.leave.success for abrupt disconnects
	// (100ms waits about 60s for a reconnect). Default 0.
	AbnormalLeaveDelay time.Duration
	// SessionCloseDelay is how long a session stays open after its last peer
	// leaves; a join in that window keeps the session. Default 0.
	SessionCloseDelay time.Duration
	// RetrySchedule is the wait before each webhook retry, measured from the
	// previous try. nil means {1s, 3s, 10s} as 100ms does; an empty non-nil
	// slice means a single try.
	RetrySchedule []time.Duration
	// WebhookTimeout bounds one delivery attempt. Default 10s.
	WebhookTimeout time.Duration

	// Storage is where recording files are really written; nil makes every
	// recording end in beam.failure UPLOAD_ERROR.
	Storage RecordingStore
	// Bucket and Prefix place recordings at
	// s3://<bucket>/<prefix>/beam/<room_id>/<yyyymmdd>/Rec-<room_id>-<epoch>.mp4.
	// A template's settings.recording.upload{location,prefix} overrides them,
	// as the template's storage configuration does on 100ms.
	Bucket, Prefix string

	Faults Faults
	Logger *slog.Logger
}

// Defaults applied by New.
const (
	DefaultRecordingStartDelay = 2 * time.Second
	DefaultRecordingReadyDelay = 9 * time.Second
	DefaultWebhookTimeout      = 10 * time.Second
)

// DefaultRetrySchedule is 100ms's documented webhook retry spacing.
var DefaultRetrySchedule = []time.Duration{1 * time.Second, 3 * time.Second, 10 * time.Second}

func (c Config) withDefaults() (Config, error) {
	if c.AccessKey == "" || c.AppSecret == "" {
		return c, errors.New("hmssim: AccessKey and AppSecret are required")
	}
	if c.AppID == "" {
		c.AppID = newObjectID()
	}
	if c.CustomerID == "" {
		c.CustomerID = newObjectID()
	}
	if c.RecordingStartDelay <= 0 {
		c.RecordingStartDelay = DefaultRecordingStartDelay
	}
	if c.RecordingReadyDelay <= 0 {
		c.RecordingReadyDelay = DefaultRecordingReadyDelay
	}
	if c.AbnormalLeaveDelay < 0 {
		c.AbnormalLeaveDelay = 0
	}
	if c.SessionCloseDelay < 0 {
		c.SessionCloseDelay = 0
	}
	if c.RetrySchedule == nil {
		c.RetrySchedule = DefaultRetrySchedule
	}
	c.RetrySchedule = append([]time.Duration(nil), c.RetrySchedule...)
	if c.WebhookTimeout <= 0 {
		c.WebhookTimeout = DefaultWebhookTimeout
	}
	headers := make(map[string]string, len(c.WebhookHeaders))
	for k, v := range c.WebhookHeaders {
		headers[k] = v
	}
	c.WebhookHeaders = headers
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if err := c.Faults.validate(); err != nil {
		return c, err
	}
	return c, nil
}
