package outbound_test

import (
	"testing"

	"github.com/vkyc-engine/vkyc/internal/outbound/message"
	"github.com/vkyc-engine/vkyc/workflows"
)

// TestLogTypesAreTheWorkflows: the store turns the workflow's events into
// messages by their type names, so these must stay the workflow's.
func TestLogTypesAreTheWorkflows(t *testing.T) {
	for _, tc := range [][2]string{
		{message.LogStatusChanged, workflows.EventStatusChanged},
		{message.LogCaptureAdded, workflows.EventCaptureAdded},
		{message.LogRecordingVerified, workflows.EventRecordingChecked},
	} {
		if tc[0] != tc[1] {
			t.Errorf("message takes log events of type %q, the workflow records %q", tc[0], tc[1])
		}
	}
}
