package activities_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
)

// verify runs VerifyRecording as Temporal runs it (it reads its attempt).
func verify(t *testing.T, a *activities.Activities, path string) (activities.RecordingCheck, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.VerifyRecording, activities.VerifyRecordingInput{CaseID: caseID, Attempt: 1, Path: path})
	if err != nil {
		return activities.RecordingCheck{}, err
	}
	var check activities.RecordingCheck
	if err := val.Get(&check); err != nil {
		t.Fatal(err)
	}
	return check, nil
}

func TestVerifyRecording(t *testing.T) {
	b := newBucket(t)
	a := &activities.Activities{Blob: b.blob}
	body := make([]byte, 3<<20+17) // more than one read buffer
	for i := range body {
		body[i] = byte(i * 7)
	}
	sum := sha256.Sum256(body)
	b.put(t, "rec/beam/room1/20260302/Rec-room1-1.mp4", body)
	b.put(t, "rec/empty.mp4", nil)

	check, err := verify(t, a, "s3://"+b.name+"/rec/beam/room1/20260302/Rec-room1-1.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if check.Bucket != b.name || check.Key != "rec/beam/room1/20260302/Rec-room1-1.mp4" ||
		check.Size != int64(len(body)) || check.SHA256 != hex.EncodeToString(sum[:]) || check.ETag == "" {
		t.Fatalf("check %+v", check)
	}

	tests := []struct {
		name, path, errType string
		retryable           bool
	}{
		{"wrong bucket", "s3://someone-elses-bucket/rec/beam/room1/x.mp4", activities.ErrRecordingWrongBucket, false},
		{"not s3", "https://example.com/rec.mp4", activities.ErrRecordingBadPath, false},
		{"empty", "s3://" + b.name + "/rec/empty.mp4", activities.ErrRecordingEmpty, false},
		{"missing, first try", "s3://" + b.name + "/rec/not-yet.mp4", activities.ErrRecordingMissing, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(t, a, tc.path)
			app := appError(t, err)
			if app.Type() != tc.errType || app.NonRetryable() == tc.retryable {
				t.Fatalf("got %s non-retryable=%v: %v", app.Type(), app.NonRetryable(), err)
			}
		})
	}
}

// A recording that stays missing is retried under StorageOptions for
// RecordingMissingAttempts tries, then fails for good.
func TestVerifyRecordingMissingGivesUp(t *testing.T) {
	b := newBucket(t)
	a := &activities.Activities{Blob: b.blob}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(a)
	attempts := 0
	env.SetOnActivityStartedListener(func(*activity.Info, context.Context, converter.EncodedValues) { attempts++ })
	verifyOnce := func(ctx workflow.Context, path string) error {
		ctx = workflow.WithActivityOptions(ctx, activities.StorageOptions())
		return workflow.ExecuteActivity(ctx, a.VerifyRecording,
			activities.VerifyRecordingInput{CaseID: caseID, Attempt: 1, Path: path}).Get(ctx, nil)
	}
	env.RegisterWorkflow(verifyOnce)
	env.ExecuteWorkflow(verifyOnce, "s3://"+b.name+"/rec/never.mp4")
	app := appError(t, env.GetWorkflowError())
	if app.Type() != activities.ErrRecordingMissing || !app.NonRetryable() {
		t.Fatalf("got %v", app)
	}
	if attempts != activities.RecordingMissingAttempts {
		t.Fatalf("%d attempts, want %d", attempts, activities.RecordingMissingAttempts)
	}
}

// FindRecording finds what the simulated 100ms recorded and uploaded to our
// bucket, and VerifyRecording accepts it.
func TestFindAndVerifySimulatedRecording(t *testing.T) {
	b := newBucket(t)
	store, err := hmssim.NewMinIOStore(b.s3.Endpoint, b.s3.AccessKey, b.s3.SecretKey, false)
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, hmssim.Config{Storage: store, Bucket: b.name, Prefix: "recordings",
		RecordingStartDelay: 10 * time.Millisecond, RecordingReadyDelay: 10 * time.Millisecond})
	a := &activities.Activities{HMS: s.client, Blob: b.blob}
	ctx := context.Background()
	room := mustCreateRoom(ctx, t, a, 1)
	if found, err := a.FindRecording(ctx, activities.FindRecordingInput{RoomID: room.ID}); err != nil || found.Found {
		t.Fatalf("before any call: %+v, %v", found, err)
	}
	if _, err := a.FindRecording(ctx, activities.FindRecordingInput{}); appError(t, err).Type() != activities.ErrHMSPermanent {
		t.Fatalf("without a room: %v", err)
	}

	agent, customer := s.join(t, room.ID, "agent"), s.join(t, room.ID, "customer")
	// The room has no template, so the simulator auto-starts the recording
	// on the first join, as the vKYC template does.
	var rec hms.Recording
	waitFor(t, "recording running", func() bool {
		recs, err := s.client.ListRecordings(ctx, hms.RecordingFilter{RoomID: room.ID})
		if err != nil || len(recs) != 1 {
			return false
		}
		rec = recs[0]
		return rec.Status == hms.RecordingStatusRunning
	})
	time.Sleep(1100 * time.Millisecond) // a recording of at least a second
	s.leave(t, agent)
	s.leave(t, customer)

	var found activities.FoundRecording
	waitFor(t, "recording completed", func() bool {
		found, err = a.FindRecording(ctx, activities.FindRecordingInput{RoomID: room.ID, SessionID: rec.SessionID})
		return err == nil && found.Found
	})
	if found.ID != rec.ID || found.Status != hms.RecordingStatusCompleted || found.Size <= 0 || found.Path == "" {
		t.Fatalf("found %+v", found)
	}
	check, err := verify(t, a, found.Path)
	if err != nil {
		t.Fatal(err)
	}
	if check.Size != found.Size || len(check.SHA256) != 64 {
		t.Fatalf("check %+v, found %+v", check, found)
	}
	// Another session's recording is not this one.
	other, err := a.FindRecording(ctx, activities.FindRecordingInput{RoomID: room.ID, SessionID: "0123456789abcdef01234567"})
	if err != nil || other.Found {
		t.Fatalf("other session: %+v, %v", other, err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
