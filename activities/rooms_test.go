package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

const caseID = "5b7f4c1e-2d3a-4e5f-8a9b-0c1d2e3f4a5b"

func TestCreateRoomIsIdempotent(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	a := &activities.Activities{HMS: s.client}
	ctx := context.Background()

	first := mustCreateRoom(ctx, t, a, 2)
	again := mustCreateRoom(ctx, t, a, 2)
	if first.ID == "" || again != first || first.Name != kyc.RoomName(caseID, 2) {
		t.Fatalf("first %+v, again %+v", first, again)
	}
	other, err := a.CreateRoom(ctx, activities.CreateRoomInput{CaseID: caseID, Attempt: 3})
	if err != nil || other.ID == first.ID {
		t.Fatalf("attempt 3 room %+v, err %v", other, err)
	}
	room, err := s.client.GetRoom(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !room.Enabled || room.Description != "vKYC case "+caseID+" attempt 2" {
		t.Fatalf("room %+v", room)
	}
}

func TestEndAndDisableRoom(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	a := &activities.Activities{HMS: s.client}
	ctx := context.Background()
	room := mustCreateRoom(ctx, t, a, 1)

	// No session yet: nothing to end, and that is not an error.
	if err := a.EndRoom(ctx, activities.EndRoomInput{RoomID: room.ID, Reason: "kyc attempt closed", Lock: true}); err != nil {
		t.Fatalf("end room without session: %v", err)
	}

	// A running session is ended, and lock disables the room.
	s.join(t, room.ID, "customer")
	if _, err := s.client.GetActiveRoom(ctx, room.ID); err != nil {
		t.Fatalf("room not active after a join: %v", err)
	}
	if err := a.EndRoom(ctx, activities.EndRoomInput{RoomID: room.ID, Reason: "kyc attempt closed", Lock: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.GetActiveRoom(ctx, room.ID); !hms.IsNotFound(err) {
		t.Fatalf("room still active after end-room: %v", err)
	}
	if err := a.EndRoom(ctx, activities.EndRoomInput{RoomID: room.ID, Reason: "again", Lock: true}); err != nil {
		t.Fatalf("second end room: %v", err)
	}

	other := mustCreateRoom(ctx, t, a, 2)
	for range 2 { // idempotent
		if err := a.DisableRoom(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.client.GetRoom(ctx, other.ID)
	if err != nil || got.Enabled {
		t.Fatalf("room after disable: %+v, %v", got, err)
	}
	// A room 100ms does not know is as closed as can be.
	if err := a.DisableRoom(ctx, "0123456789abcdef01234567"); err != nil {
		t.Fatalf("disable unknown room: %v", err)
	}
}

// mustCreateRoom creates the room of the case's attempt or fails t.
func mustCreateRoom(ctx context.Context, t *testing.T, a *activities.Activities, attempt int) activities.RoomInfo {
	t.Helper()
	room, err := a.CreateRoom(ctx, activities.CreateRoomInput{CaseID: caseID, Attempt: attempt})
	if err != nil {
		t.Fatal(err)
	}
	return room
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		t.Fatalf("want an application error, got %T: %v", err, err)
	}
	return app
}

// 100ms errors become application errors the retry policies understand.
func TestHMSErrorClasses(t *testing.T) {
	tests := []struct {
		name      string
		fault     hmssim.EndpointFault
		errType   string
		retryable bool
		delay     time.Duration
	}{
		{"503 with Retry-After", hmssim.EndpointFault{ErrorRate: 1, Status: 503, RetryAfter: 7 * time.Second},
			activities.ErrHMSTransient, true, 7 * time.Second},
		{"500", hmssim.EndpointFault{ErrorRate: 1, Status: 500}, activities.ErrHMSTransient, true, 0},
		{"429", hmssim.EndpointFault{ErrorRate: 1, Status: 429, RetryAfter: 2 * time.Second},
			activities.ErrHMSTransient, true, 2 * time.Second},
		{"400", hmssim.EndpointFault{ErrorRate: 1, Status: 400}, activities.ErrHMSPermanent, false, 0},
		{"404", hmssim.EndpointFault{ErrorRate: 1, Status: 404}, activities.ErrHMSPermanent, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, hmssim.Config{Faults: hmssim.Faults{
				Endpoints: map[string]hmssim.EndpointFault{"POST /v2/rooms": tc.fault},
			}})
			a := &activities.Activities{HMS: s.client}
			_, err := a.CreateRoom(context.Background(), activities.CreateRoomInput{CaseID: caseID, Attempt: 1})
			app := appError(t, err)
			if app.Type() != tc.errType || app.NonRetryable() == tc.retryable || app.NextRetryDelay() != tc.delay {
				t.Fatalf("got type %s non-retryable %v delay %s: %v", app.Type(), app.NonRetryable(), app.NextRetryDelay(), err)
			}
			if !strings.Contains(app.Error(), kyc.RoomName(caseID, 1)) {
				t.Fatalf("error lacks the room: %v", app)
			}
		})
	}
}

func TestUnknownTemplateIsPermanent(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	a := &activities.Activities{HMS: s.client, TemplateID: "0123456789abcdef01234567"}
	_, err := a.CreateRoom(context.Background(), activities.CreateRoomInput{CaseID: caseID, Attempt: 1})
	if app := appError(t, err); app.Type() != activities.ErrHMSPermanent || !app.NonRetryable() {
		t.Fatalf("got %v", err)
	}
}

// The retry policies must stop on exactly the permanent error types.
func TestRetryPoliciesListPermanentTypes(t *testing.T) {
	tests := []struct {
		name   string
		policy *temporal.RetryPolicy
		types  []string
	}{
		{"hms", activities.HMSOptions().RetryPolicy, []string{activities.ErrHMSPermanent}},
		{"storage", activities.StorageOptions().RetryPolicy,
			[]string{activities.ErrRecordingBadPath, activities.ErrRecordingWrongBucket, activities.ErrRecordingEmpty, activities.ErrRecordingAccessDenied}},
		{"save", activities.SaveOptions().RetryPolicy, []string{activities.ErrCaseEventConflict, activities.ErrCaseInvalid}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.policy
			if p.InitialInterval <= 0 || p.BackoffCoefficient < 1 || p.MaximumInterval < p.InitialInterval {
				t.Fatalf("policy %+v", p)
			}
			if strings.Join(p.NonRetryableErrorTypes, ",") != strings.Join(tc.types, ",") {
				t.Fatalf("non-retryable %v, want %v", p.NonRetryableErrorTypes, tc.types)
			}
		})
	}
	if activities.HMSOptions().StartToCloseTimeout <= 0 || activities.StorageOptions().StartToCloseTimeout <= 0 ||
		activities.SaveOptions().StartToCloseTimeout <= 0 {
		t.Fatal("every option needs a StartToCloseTimeout")
	}
}
