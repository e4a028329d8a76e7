package inbox

import (
	"time"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/workflows"
)

// Convert reduces a webhook event to what the workflow needs. It copies ids,
// roles, reasons and recording facts only: user_name and user_data (the
// customer's name, app metadata) and presigned URLs never reach Temporal.
func Convert(ev *hms.Event) workflows.HMSEvent {
	d := ev.Data
	return workflows.HMSEvent{
		ID:            ev.ID,
		Type:          ev.Type,
		RoomID:        d.RoomID,
		RoomName:      d.RoomName,
		SessionID:     d.SessionID,
		PeerID:        d.PeerID,
		UserID:        d.UserID,
		Role:          d.Role,
		Reason:        d.Reason,
		ErrorType:     d.ErrorType,
		RecordingID:   d.RecordingID,
		RecordingPath: d.RecordingPath,
		Size:          d.Size,
		Duration:      d.Duration,
		At:            eventTime(ev),
	}
}

// eventTime is when the event happened: the moment the event is about when
// its data says (a join, a leave, the end of a session), else the envelope's
// timestamp, which has only second precision.
func eventTime(ev *hms.Event) time.Time {
	d := ev.Data
	var at time.Time
	switch ev.Type {
	case hms.EventPeerJoin:
		at = d.JoinedAt
	case hms.EventPeerLeave:
		at = d.LeftAt
	case hms.EventSessionOpen:
		at = d.SessionStartedAt
	case hms.EventSessionClose:
		at = d.SessionStoppedAt
	case hms.EventBeamStarted:
		at = d.StartedAt
	case hms.EventBeamStopped, hms.EventBeamRecording:
		at = d.StoppedAt
	}
	if at.IsZero() {
		at = ev.Timestamp
	}
	return at.UTC()
}
