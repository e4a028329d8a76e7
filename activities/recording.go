package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
)

// VerifyRecording checks the recording 100ms announced against what our
// bucket holds: it must be there, in our bucket, non-empty, and its SHA-256
// is computed from the stored bytes, not taken from anyone's word.
func (a *Activities) VerifyRecording(ctx context.Context, in VerifyRecordingInput) (RecordingCheck, error) {
	bucket, key, err := blob.ParseS3URL(in.Path)
	if err != nil {
		return RecordingCheck{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("recording of case %s attempt %d: %v", in.CaseID, in.Attempt, err), ErrRecordingBadPath, nil)
	}
	if bucket != a.Blob.Bucket() {
		return RecordingCheck{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("recording of case %s attempt %d is in bucket %q, not in ours", in.CaseID, in.Attempt, bucket),
			ErrRecordingWrongBucket, nil)
	}
	// From the start: the storage client retries a slow Stat internally,
	// and a try that misses its heartbeat uses up one of the attempts a
	// missing recording is given.
	stop := heartbeatWhile(ctx, verifyHeartbeatEvery)
	defer stop()
	info, err := a.Blob.Stat(ctx, key)
	if err != nil {
		return RecordingCheck{}, a.missingOrTransient(ctx, in, key, err)
	}
	if info.Size == 0 {
		return RecordingCheck{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("recording %s of case %s attempt %d is empty", key, in.CaseID, in.Attempt), ErrRecordingEmpty, nil)
	}
	sum, size, err := a.Blob.Checksum(ctx, key)
	if err != nil {
		return RecordingCheck{}, a.missingOrTransient(ctx, in, key, err)
	}
	a.log().InfoContext(ctx, "recording verified", "case_id", in.CaseID, "attempt", in.Attempt, "key", key, "size", size)
	return RecordingCheck{Bucket: bucket, Key: key, Size: size, SHA256: sum, ETag: info.ETag}, nil
}

// verifyHeartbeatEvery is well inside StorageOptions' HeartbeatTimeout.
const verifyHeartbeatEvery = 5 * time.Second

// heartbeatWhile heartbeats every interval until the returned stop is
// called. Reading a long recording through SHA-256 takes a while; without
// heartbeats, a worker that dies meanwhile leaves the attempt unnoticed
// until StartToCloseTimeout (the fault suite found a case waiting on that),
// with them Temporal retries it on another worker within the heartbeat
// timeout.
func heartbeatWhile(ctx context.Context, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// missingOrTransient classifies a storage error. A missing object may only be
// lagging behind 100ms's webhook, so it is retried for a few attempts before
// it becomes final; any other storage failure is ours and always retryable.
func (a *Activities) missingOrTransient(ctx context.Context, in VerifyRecordingInput, key string, err error) error {
	msg := fmt.Sprintf("recording %s of case %s attempt %d: %v", key, in.CaseID, in.Attempt, err)
	if errors.Is(err, blob.ErrAccessDenied) {
		// Our own bucket refuses us: no retry fixes a policy, and the
		// attempt cannot be approved without its recording.
		a.log().ErrorContext(ctx, "alert: the bucket refuses access to a recording",
			"case_id", in.CaseID, "attempt", in.Attempt, "key", key, "error", err)
		activity.GetMetricsHandler(ctx).Counter(MetricRecordingAccessDenied).Inc(1)
		return temporal.NewNonRetryableApplicationError(msg, ErrRecordingAccessDenied, err)
	}
	if !errors.Is(err, blob.ErrNotFound) {
		return temporal.NewApplicationErrorWithCause(msg, ErrStorageTransient, err)
	}
	if activity.GetInfo(ctx).Attempt >= RecordingMissingAttempts {
		return temporal.NewNonRetryableApplicationError(msg, ErrRecordingMissing, err)
	}
	return temporal.NewApplicationErrorWithCause(msg, ErrRecordingMissing, err)
}

// FindRecording asks 100ms for the completed room-composite recording of a
// room (and session, when known): the fallback when the webhook is late.
func (a *Activities) FindRecording(ctx context.Context, in FindRecordingInput) (FoundRecording, error) {
	if in.RoomID == "" {
		// Without a room the filter would list the whole workspace's
		// recordings, and any of them could be taken for this call's.
		return FoundRecording{}, temporal.NewNonRetryableApplicationError("find recording: room id is required", ErrHMSPermanent, nil)
	}
	recs, err := a.HMS.ListRecordings(ctx, hms.RecordingFilter{RoomID: in.RoomID, SessionID: in.SessionID})
	if err != nil {
		return FoundRecording{}, hmsError("list recordings of room "+in.RoomID, err)
	}
	var best *hms.Recording
	var bestAsset hms.RecordingAsset
	for i := range recs {
		r := &recs[i]
		asset, ok := r.RoomCompositeAsset()
		if r.Status != hms.RecordingStatusCompleted || !ok || asset.Path == "" {
			continue
		}
		if in.SessionID != "" && r.SessionID != "" && r.SessionID != in.SessionID {
			continue
		}
		// The latest one: a session normally has one recording, but a
		// restarted recorder leaves an earlier, shorter file.
		if best == nil || r.CreatedAt.After(best.CreatedAt) {
			best, bestAsset = r, asset
		}
	}
	if best == nil {
		return FoundRecording{}, nil
	}
	return FoundRecording{
		Found: true, ID: best.ID, Status: best.Status, Path: bestAsset.Path,
		Size: bestAsset.Size, Duration: bestAsset.Duration,
	}, nil
}
