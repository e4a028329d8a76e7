package activities

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Application error types the activities return. They are stable names: the
// workflow and the retry policies below match on them.
const (
	ErrHMSPermanent          = "HMSPermanent"          // 100ms refused the request itself (400, 404, 422)
	ErrHMSTransient          = "HMSTransient"          // 100ms or the network failed; worth retrying
	ErrRecordingBadPath      = "RecordingBadPath"      // not an s3://bucket/key we can read
	ErrRecordingWrongBucket  = "RecordingWrongBucket"  // the recording is not in our bucket
	ErrRecordingMissing      = "RecordingMissing"      // no object at the announced path
	ErrRecordingEmpty        = "RecordingEmpty"        // the object has no bytes
	ErrRecordingAccessDenied = "RecordingAccessDenied" // our bucket refuses our credentials
	ErrStorageTransient      = "StorageTransient"      // object storage failed; worth retrying
	ErrCaseEventConflict     = "CaseEventConflict"     // the store holds a different event at a sequence number
	ErrCaseInvalid           = "CaseInvalid"           // the store refuses the view or events as malformed
	ErrStoreTransient        = "StoreTransient"        // the database failed; worth retrying
	ErrTemporal              = "Temporal"              // a call to the Temporal service failed
)

// Alert metrics, counted through the Temporal SDK's metrics handler (the
// worker serves them on /metrics): each needs a person.
const (
	MetricRecordingAccessDenied = "kyc_recording_access_denied"
	MetricCaseSaveRefused       = "kyc_case_save_refused"
	MetricCaseLogDiverged       = "kyc_case_log_diverged"
)

// TemporalOptions are for activities that call the Temporal service itself
// (CancelRequest): a short read, retried for two minutes.
func TemporalOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Minute,
		RetryPolicy:            doubling(time.Second, 20*time.Second),
	}
}

// HMSOptions are for CreateRoom, EndRoom, DisableRoom and FindRecording.
// 100ms calls answer in well under a second; 30 s per try covers a slow
// answer plus the client's own 15 s timeout. Transient failures are retried
// for up to 30 minutes (the default join timeout: a room that cannot be made
// by then is useless), honouring Retry-After through NextRetryDelay.
func HMSOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 30 * time.Minute,
		RetryPolicy:            doubling(time.Second, time.Minute, ErrHMSPermanent),
	}
}

// HMSLocalOptions are for CreateRoom and CloseRoom run as local activities,
// inside the workflow task: a few quick tries within 20 seconds, after
// which the workflow makes the call again as a regular activity under
// HMSOptions. 100ms's own refusals are final here too.
func HMSLocalOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 20 * time.Second,
		RetryPolicy:            doubling(500*time.Millisecond, 4*time.Second, ErrHMSPermanent),
	}
}

// RecordingMissingAttempts is how many tries VerifyRecording gives an object
// that is not there yet (storage can lag 100ms's webhook); with StorageOptions'
// backoff that is about three minutes before it gives up with a non-retryable
// RecordingMissing.
const RecordingMissingAttempts = 7

// StorageOptions are for VerifyRecording. Reading a 30-minute recording
// through SHA-256 takes seconds, so 10 minutes per try is generous; the
// activity heartbeats while it reads, so a try lost with its worker is
// retried after HeartbeatTimeout rather than after those 10 minutes. A storage
// outage is our fault, not the customer's: it is retried without limit (the
// workflow stops waiting when the attempt no longer needs the result), while
// the verdicts about the object itself are final.
func StorageOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy:         doubling(2*time.Second, time.Minute, RecordingVerdicts...),
	}
}

// RecordingVerdicts are VerifyRecording's final answers about the object
// itself; every other failure is storage's, or the object's lag.
var RecordingVerdicts = []string{ErrRecordingBadPath, ErrRecordingWrongBucket, ErrRecordingEmpty, ErrRecordingAccessDenied}

// StorageLocalOptions are for VerifyRecording run as a local activity,
// inside the workflow task: 20 seconds for the whole check, storage's blips
// retried (the case's saves wait for it meanwhile). An object not there yet
// (no retry here), a recording too long to read in that time or a storage
// outage is then checked again by a regular activity under StorageOptions.
func StorageLocalOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout:    20 * time.Second,
		ScheduleToCloseTimeout: 20 * time.Second,
		RetryPolicy:            doubling(time.Second, 4*time.Second, slices.Concat(RecordingVerdicts, []string{ErrRecordingMissing})...),
	}
}

// SaveActivityOptions are for SaveCase run as a regular activity: the
// case's last save, whose task completes the workflow (see
// workflows.runSaves for why). A save is one short transaction; 10 s per
// try bounds how long a try lost with a killed worker holds the case (and
// the update waiting for it) before Temporal retries it. A database outage
// is retried for 10 minutes with backoff up to a minute; the workflow then
// pauses and starts over, so the log is never given up on. A conflict or
// invalid data needs a person and is not retried.
func SaveActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy:            saveRetryPolicy(200 * time.Millisecond),
	}
}

// SaveOptions are for SaveCase run as a local activity, every save but the
// last: it is on the path of every change the API reads back, and a local
// activity saves the three history events and the task-queue round trip of
// a regular one. Failures are retried for 10 minutes (a local activity's
// ScheduleToCloseTimeout would otherwise default to its
// StartToCloseTimeout); retries with a backoff above the workflow task
// timeout become workflow timers, which keeps the worker's slot free while
// the database is down. The workflow starts over after that, so the
// projection is never given up on.
func SaveOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy:            saveRetryPolicy(500 * time.Millisecond),
	}
}

// saveRetryPolicy is SaveCase's: doubling from initial up to a minute, and
// never again after a refusal (the store holds other events at those
// sequence numbers, or rejects the data).
func saveRetryPolicy(initial time.Duration) *temporal.RetryPolicy {
	return doubling(initial, time.Minute, ErrCaseEventConflict, ErrCaseInvalid)
}

// doubling is the retry policy of every activity: waits doubling from
// initial up to longest, and no retry after an error of the types final.
func doubling(initial, longest time.Duration, final ...string) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        initial,
		BackoffCoefficient:     2,
		MaximumInterval:        longest,
		NonRetryableErrorTypes: final,
	}
}
