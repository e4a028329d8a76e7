package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// The Temporal dev server is a separate program with no pprof listener; when
// Linux perf is installed, its CPU is sampled during the profile and each
// sample is put in the category of the server operation on its stack.

// temporalCategories map a substring of a stack frame to what the server was
// doing; the first match wins, most specific first.
var temporalCategories = []struct{ name, frame string }{
	{"workflow task completed (commands, history, mutable state)", "RespondWorkflowTaskCompleted"},
	{"workflow task started", "RecordWorkflowTaskStarted"},
	{"workflow task polls and matching", "PollWorkflowTaskQueue"},
	{"activity task polls", "PollActivityTaskQueue"},
	{"activity started/completed", "RecordActivityTaskStarted"},
	{"activity started/completed", "RespondActivityTaskCompleted"},
	{"signals", "SignalWorkflowExecution"},
	{"queries", "QueryWorkflow"},
	{"queries", "RespondQueryTaskCompleted"},
	{"updates", "UpdateWorkflowExecution"},
	{"updates", "PollWorkflowExecutionUpdate"},
	{"workflow starts", "StartWorkflowExecution"},
	{"history reads", "GetWorkflowExecutionHistory"},
	{"visibility: search attribute upserts", "processUpsertExecution"},
	{"visibility: start and close records", "processStartExecution"},
	{"visibility: start and close records", "processCloseExecution"},
	{"visibility: other", "visibilityQueueTaskExecutor"},
	{"transfer and timer queues", "transferQueue"},
	{"transfer and timer queues", "timerQueue"},
	{"matching: task queue persistence", "service/matching."},
	{"garbage collection", "gcBgMarkWorker"},
	{"garbage collection", "gcDrain"},
	{"metrics", "tally"},
}

type perfShare struct {
	Category string  `json:"category"`
	Percent  float64 `json:"percent"`
}

// perfRecord samples pid for d into path; it returns a func that waits for
// the recording to end.
func perfRecord(ctx context.Context, pid int, d time.Duration, path string) (func() error, error) {
	if _, err := exec.LookPath("perf"); err != nil || pid == 0 {
		return nil, fmt.Errorf("perf not installed or Temporal's pid unknown")
	}
	// #nosec G204 -- perf on the Temporal server's pid, into our work directory
	cmd := exec.CommandContext(ctx, "perf", "record", "-q", "-e", "cpu-clock", "-F", "199", "-g",
		"-p", fmt.Sprint(pid), "-o", path, "--", "sleep", fmt.Sprint(int(d.Seconds())))
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd.Wait, nil
}

// perfShares reads a perf recording and returns the share of samples per
// category, largest first.
func perfShares(ctx context.Context, path string) ([]perfShare, int, error) {
	cmd := exec.CommandContext(ctx, "perf", "script", "-i", path, "-F", "comm,ip,sym") // #nosec G204 -- a recording in our work directory
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	counts := map[string]int{}
	total := 0
	var stack []string
	flush := func() {
		if len(stack) == 0 {
			return
		}
		total++
		cat := "other (gRPC transport, scheduler, persistence below the handlers)"
	match:
		for _, c := range temporalCategories {
			for _, f := range stack {
				if strings.Contains(f, c.frame) {
					cat = c.name
					break match
				}
			}
		}
		counts[cat]++
		stack = stack[:0]
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
		case line[0] != ' ' && line[0] != '\t':
			flush()
		default:
			stack = append(stack, line)
		}
	}
	flush()
	if err := cmd.Wait(); err != nil {
		return nil, 0, fmt.Errorf("perf script: %w", err)
	}
	var shares []perfShare
	for k, v := range counts {
		shares = append(shares, perfShare{k, round(100*float64(v)/float64(max(total, 1)), 1)})
	}
	sort.Slice(shares, func(i, j int) bool { return shares[i].Percent > shares[j].Percent })
	return shares, total, nil
}
