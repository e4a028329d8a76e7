package workflows

// What a Temporal worker of the case engine registers and how it is sized,
// shared by the worker program and by the tests that run a worker
// in-process.

import (
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/vkyc-engine/vkyc/activities"
)

// RegisterWorker registers the case workflow under its stable name and
// every activity method of a (by method name, which is how the workflow
// calls them).
func RegisterWorker(w worker.Registry, a *activities.Activities) {
	Register(w)
	w.RegisterActivity(a)
}

// Limits of one worker process. The workflow's side effects are short calls
// to 100ms, the database and object storage, except VerifyRecording, which
// streams a whole recording through SHA-256; the activity limit keeps a burst
// of recordings from starving the database pool (10 connections by default)
// and the network.
const (
	MaxConcurrentActivities      = 32
	MaxConcurrentLocalActivities = 32 // SaveCase; each holds a database connection for a few ms
	MaxConcurrentWorkflowTasks   = 32
	// WorkflowTaskPollers is twice the SDK's default: every update waits
	// for the workflow task after its save, and with two pollers (shared by
	// the sticky and the normal queue) those tasks waited 45 ms (p50) to
	// 100 ms (p90) to be picked up in the upload benchmark. With 4, case
	// throughput in the benchmark rose from about 3.4 to 3.9 per second.
	// Autoscaled pollers (up to 16) were tried and cut it to a third.
	WorkflowTaskPollers = 4
	// StopTimeout is how long Stop lets running activities finish before
	// cancelling them; a cancelled activity is retried by another worker, so
	// this only shortens a deploy, it never loses work. Container platforms
	// must allow more than this between SIGTERM and SIGKILL.
	StopTimeout = 30 * time.Second
)

// WorkerOptions are the worker options of the case engine.
func WorkerOptions() worker.Options {
	return worker.Options{
		MaxConcurrentActivityExecutionSize:      MaxConcurrentActivities,
		MaxConcurrentLocalActivityExecutionSize: MaxConcurrentLocalActivities,
		MaxConcurrentWorkflowTaskExecutionSize:  MaxConcurrentWorkflowTasks,
		MaxConcurrentWorkflowTaskPollers:        WorkflowTaskPollers,
		WorkerStopTimeout:                       StopTimeout,
	}
}
