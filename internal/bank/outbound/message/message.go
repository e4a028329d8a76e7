// Package message is what the engine tells the bank about its cases: the
// outbound webhook messages made from the case event log, and their
// signatures per the Standard Webhooks specification
// (https://www.standardwebhooks.com), made with the specification's Go
// library. It has no dependencies on the store, so that the store can turn
// the events it appends into messages inside the same transaction.
package message

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// Message types the bank receives.
const (
	TypeStatusChanged     = "case.status_changed"
	TypeCaptureAdded      = "case.capture_added"
	TypeRecordingVerified = "case.recording_verified"
)

// Types lists every message type.
var Types = []string{TypeStatusChanged, TypeCaptureAdded, TypeRecordingVerified}

// Case event log types that become messages: the case's own names.
const (
	LogStatusChanged     = core.EventStatusChanged
	LogCaptureAdded      = core.EventCaptureAdded
	LogRecordingVerified = core.EventRecordingChecked
)

// typeOf maps a log event type to its message type.
var typeOf = map[string]string{
	LogStatusChanged:     TypeStatusChanged,
	LogCaptureAdded:      TypeCaptureAdded,
	LogRecordingVerified: TypeRecordingVerified,
}

// Relevant reports whether a log event of this type becomes a message.
func Relevant(logType string) bool { _, ok := typeOf[logType]; return ok }

// InitialStatus is a case's status before its first status change.
const InitialStatus = kyc.StatusWaitingForParticipants

// LogEvent is what a message is made from: one appended case event.
type LogEvent struct {
	CaseID string
	Seq    int64
	Type   string
	At     time.Time
	Data   json.RawMessage
}

// Message is one webhook message: ID is its webhook-id (the same for every
// endpoint and every attempt, so the bank deduplicates by it) and Payload
// the exact bytes that are signed and sent.
type Message struct {
	ID      string
	Type    string
	CaseID  string
	Seq     int64
	Payload []byte
}

// ID is the webhook-id of a case's event: stable, since the log never
// renumbers an event.
func ID(caseID string, seq int64) string { return "msg_" + caseID + "_" + strconv.FormatInt(seq, 10) }

// Payload is the JSON body, in the shape the Standard Webhooks specification
// recommends: type, timestamp (when the event happened) and data.
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// Data carries ids, the bank's customer reference, statuses and facts about
// captures and recordings; never names, contacts, free-text reasons, object
// keys or URLs.
type Data struct {
	CaseID            string     `json:"case_id"`
	CustomerReference string     `json:"customer_reference"`
	Seq               int64      `json:"seq"`
	Status            kyc.Status `json:"status"`
	Attempt           int        `json:"attempt,omitempty"`
	// PreviousStatus and StatusReason: case.status_changed. The reason is
	// given only when it is a code (max_attempts_reached, ...): a reason an
	// agent or auditor typed may hold anything.
	PreviousStatus kyc.Status `json:"previous_status,omitempty"`
	StatusReason   string     `json:"status_reason,omitempty"`
	// case.capture_added
	CaptureID   string          `json:"capture_id,omitempty"`
	CaptureKind kyc.CaptureKind `json:"capture_kind,omitempty"`
	// case.capture_added and case.recording_verified
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// case.recording_verified
	RecordingID     string `json:"recording_id,omitempty"`
	DurationSeconds int64  `json:"duration_seconds,omitempty"`
}

var reasonCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// StatusAfter returns the status a status_changed event's data moves to, or
// "" if data is not one.
func StatusAfter(data json.RawMessage) kyc.Status {
	var d core.EventData
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	return d.To
}

// Build makes the messages of a batch of appended events of one case, in
// order. status is the case's status before the first event (InitialStatus
// if the log has no status change before it).
func Build(customerRef string, status kyc.Status, events []LogEvent) ([]Message, error) {
	var out []Message
	for _, e := range events {
		typ, ok := typeOf[e.Type]
		if !ok {
			continue
		}
		var d core.EventData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, fmt.Errorf("message: event %d of case %s: %w", e.Seq, e.CaseID, err)
		}
		data := Data{CaseID: e.CaseID, CustomerReference: customerRef, Seq: e.Seq, Status: status, Attempt: d.Attempt}
		switch e.Type {
		case LogStatusChanged:
			status = d.To
			data.Status, data.PreviousStatus = d.To, d.From
			if reasonCode.MatchString(d.Reason) {
				data.StatusReason = d.Reason
			}
		case LogCaptureAdded:
			data.CaptureID, data.CaptureKind, data.Size, data.SHA256 = d.CaptureID, d.Kind, d.Size, d.SHA256
		case LogRecordingVerified:
			data.RecordingID, data.Size, data.SHA256, data.DurationSeconds = d.RecordingID, d.Size, d.SHA256, d.Duration
		}
		body, err := json.Marshal(Payload{Type: typ, Timestamp: e.At.UTC(), Data: data})
		if err != nil {
			return nil, fmt.Errorf("message: event %d of case %s: %w", e.Seq, e.CaseID, err)
		}
		out = append(out, Message{ID: ID(e.CaseID, e.Seq), Type: typ, CaseID: e.CaseID, Seq: e.Seq, Payload: body})
	}
	return out, nil
}
