package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Scenario 1: cases end to end through the API at a fixed concurrency,
// against the bare workflow of the same shape on the same server.

// caseRun is what every run of whole cases reports, the engine's and the
// bare workflow's; embedded, its fields stay where they were in the JSON.
type caseRun struct {
	N              int     `json:"n"`
	Concurrency    int     `json:"concurrency"`
	Completed      int     `json:"completed"`
	Failed         int     `json:"failed"`
	WallSeconds    float64 `json:"wall_seconds"`
	CasesPerSecond float64 `json:"cases_per_second"`
	Duration       summary `json:"case_duration"`
}

// newCaseRun is the run of n cases on conc goroutines, of which the ones
// in durations completed, in wall time.
func newCaseRun(n, conc int, durations []time.Duration, wall time.Duration) caseRun {
	return caseRun{
		N: n, Concurrency: conc, Completed: len(durations), Failed: n - len(durations),
		WallSeconds: round(wall.Seconds(), 3), CasesPerSecond: round(float64(len(durations))/wall.Seconds(), 3),
		Duration: summarize(durations),
	}
}

type casesRaw struct {
	caseRun
	DurationsMS  []float64          `json:"case_durations_ms"`
	Capture      summary            `json:"capture_request"`
	Decision     summary            `json:"decision_request"`
	Audit        summary            `json:"audit_request"`
	StepMeanMS   map[string]float64 `json:"step_mean_ms"`
	ReadsPerCase float64            `json:"case_reads_per_case"`
	Errors       map[string]int     `json:"errors,omitempty"`
	CPUSeconds   map[string]float64 `json:"cpu_seconds"`
}

type bareRaw struct {
	Script     string       `json:"script"`
	Counts     scriptCounts `json:"counts"`
	ScriptFrom string       `json:"script_from_workflow"`
	caseRun
	Errors     map[string]int     `json:"errors,omitempty"`
	CPUSeconds map[string]float64 `json:"cpu_seconds"`
	FirstID    string             `json:"-"`
}

// histories counts the history events of the case the script came from and
// of one bare case, once both have finished.
func (b *bench) histories(ctx context.Context, engineID, bareID string) map[string]map[string]int {
	out := map[string]map[string]int{}
	for name, id := range map[string]string{"engine_case": engineID, "bare_case": bareID} {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := b.tc.GetWorkflow(wctx, id, "").Get(wctx, nil)
		cancel()
		if err != nil {
			continue
		}
		if h, err := historyOf(ctx, b.tc, id); err == nil {
			out[name] = h
		}
	}
	return out
}

func (b *bench) newCaseDriver(poll time.Duration, hooks *hookProxy) (*caseDriver, error) {
	set, err := captureSet(b.o.sz.CapturesKiB << 10)
	if err != nil {
		return nil, err
	}
	d := &caseDriver{c: b.client, poll: poll, timeout: 2 * time.Minute, hooks: hooks}
	for _, s := range set {
		f, err := apiclient.NewCaptureUpload(s)
		if err != nil {
			return nil, err
		}
		d.captures = append(d.captures, f)
	}
	return d, nil
}

type casesRun struct {
	results []caseResult
	wall    time.Duration
	errs    errorCount
}

func (r *casesRun) completed() []caseResult {
	var out []caseResult
	for _, c := range r.results {
		if c.err == nil {
			out = append(out, c)
		}
	}
	return out
}

// runCases drives n cases on conc goroutines; each goroutine is one agent
// and has its own auditor.
func (b *bench) runCases(ctx context.Context, d *caseDriver, n, conc int) *casesRun {
	r := &casesRun{results: make([]caseResult, n)}
	r.wall = runPool(n, conc, func(w, i int) {
		res := d.run(ctx, fmt.Sprintf("bench-agent-%d", w), fmt.Sprintf("bench-auditor-%d", w))
		r.results[i] = res
		r.errs.add(res.err)
	})
	return r
}

func (r *casesRun) raw(n, conc int) casesRaw {
	done := r.completed()
	var durs, caps, dec, aud []time.Duration
	steps := map[string]float64{}
	for _, c := range done {
		for k, v := range c.steps {
			steps[k] += ms(v) / float64(len(done))
		}
		durs = append(durs, c.duration)
		caps = append(caps, c.captures...)
		dec = append(dec, c.decision)
		aud = append(aud, c.audit)
	}
	return casesRaw{
		caseRun: newCaseRun(n, conc, durs, r.wall), DurationsMS: msList(durs),
		Capture: summarize(caps), Decision: summarize(dec), Audit: summarize(aud), Errors: r.errs.snapshot(),
		StepMeanMS: roundMap(steps),
	}
}

func (b *bench) scenarioCases(ctx context.Context) error {
	sz := b.o.sz
	d, err := b.newCaseDriver(sz.Poll, nil)
	if err != nil {
		return err
	}
	if sz.Warmup > 0 {
		logf("1: %d warm-up cases", sz.Warmup)
		b.runCases(ctx, d, sz.Warmup, min(sz.Warmup, sz.CaseConcurrency))
		b.settle(ctx)
	}
	logf("1: %d cases at concurrency %d", sz.Cases, sz.CaseConcurrency)
	b.meter.begin()
	reads := b.client.Reads()
	batchStart := time.Now()
	run := b.runCases(ctx, d, sz.Cases, sz.CaseConcurrency)
	batchEnd := time.Now()
	engine := run.raw(sz.Cases, sz.CaseConcurrency)
	engine.CPUSeconds = b.meter.since()
	engine.ReadsPerCase = round(float64(b.client.Reads()-reads)/float64(sz.Cases), 1)
	logf("1: engine %.2f cases/s, %d failed", engine.CasesPerSecond, engine.Failed)
	if engine.Completed == 0 {
		b.report.Raw["1_engine"] = engine
		return fmt.Errorf("no case completed: %v", engine.Errors)
	}
	b.throughput = engine.CasesPerSecond

	from, err := b.finishedCase(ctx, run.completed())
	if err != nil {
		return err
	}
	script := minimalShape
	b.bareScript = script
	b.settle(ctx)
	bare := b.runBareCases(ctx, script, sz.Cases, sz.CaseConcurrency, sz.Warmup)
	bare.ScriptFrom = "the KYC procedure's minimal shape (cmd/bench/scenario_cases.go)"
	logf("1: bare %.2f cases/s, %d failed", bare.CasesPerSecond, bare.Failed)
	b.report.Raw["1_engine"] = engine
	b.report.Raw["1_bare"] = bare
	hist := b.histories(ctx, from, bare.FirstID)
	b.report.Raw["1_history_events"] = hist
	b.report.Raw["1_engine_lags"] = b.lags(ctx, batchStart, batchEnd, run.completed())
	b.slowestTimelines(ctx, run.completed())

	c := bare.Counts
	b.report.add(row{
		Scenario: "1", Figure: fmt.Sprintf("Case throughput, %d cases at concurrency %d", sz.Cases, sz.CaseConcurrency),
		Value: fmt.Sprintf("%.2f cases/s (%d failed)", engine.CasesPerSecond, engine.Failed),
		Baseline: fmt.Sprintf("%.2f bare workflows of the minimal shape/s (%d activities, %d signals, %d updates; %d failed)",
			bare.CasesPerSecond, c.Activities, c.Signals, c.Updates, bare.Failed),
		ratio: ratioOf(engine.CasesPerSecond, bare.CasesPerSecond), higherBetter: true, Target: "—",
	})
	b.report.add(row{
		Scenario: "1", Figure: "Case duration p50 / p95 / p99",
		Value:    fmt.Sprintf("%s / %s / %s", secs(engine.Duration.P50), secs(engine.Duration.P95), secs(engine.Duration.P99)),
		Baseline: fmt.Sprintf("%s / %s / %s", secs(bare.Duration.P50), secs(bare.Duration.P95), secs(bare.Duration.P99)),
		ratio:    ratioOf(engine.Duration.P99, bare.Duration.P99), Target: "—",
	})
	all := func(cpu map[string]float64) (sum float64) {
		for _, v := range cpu {
			sum += v
		}
		return sum
	}
	perEngine := perCase(all(engine.CPUSeconds)-engine.CPUSeconds["bare-worker"], engine.Completed)
	engineTW := perCase(engine.CPUSeconds["temporal"]+engine.CPUSeconds["worker"], engine.Completed)
	bareTW := perCase(bare.CPUSeconds["temporal"]+bare.CPUSeconds["bare-worker"], bare.Completed)
	b.report.add(row{
		Scenario: "1", Figure: "CPU-seconds per case, all processes",
		Value: fmt.Sprintf("%.3f (%s)", perEngine, cpuParts(engine.CPUSeconds, engine.Completed)),
		met:   yes(perEngine > 0 && perEngine <= 0.35), Target: "≤ 0.35",
	})
	b.report.add(row{
		Scenario: "1", Figure: "CPU-seconds per case, Temporal and the worker",
		Value: fmt.Sprintf("%.3f", engineTW), Baseline: fmt.Sprintf("%.3f (Temporal and the bare worker)", bareTW),
		ratio: ratioOf(engineTW, bareTW), need: 1.2, Target: "≤ 1.2 × baseline",
	})
	if h := hist["engine_case"]; h != nil {
		kb := float64(h["SIZE_BYTES"]) / 1024
		b.report.add(row{
			Scenario: "1", Figure: "History of an approved case: events / size",
			Value: fmt.Sprintf("%d events / %.1f KB", h["TOTAL"], kb), Baseline: fmt.Sprintf("%d events (bare)", hist["bare_case"]["TOTAL"]),
			met: yes(h["TOTAL"] <= 90 && kb <= 40), Target: "≤ 90 events and ≤ 40 KB",
		})
	}
	return nil
}

// minimalShape is the baseline's script, written from the domain rather
// than read from the engine's history (which would hide the engine's extra
// work): start; create room; two joins; recording started; three capture
// updates; decision update; two leaves; recording success; verify
// recording; audit update; end room.
const minimalShape = "A" + "SS" + "S" + "UUU" + "U" + "SS" + "S" + "A" + "U" + "A"

// cpuParts lists a run's CPU-seconds per case by process.
func cpuParts(cpu map[string]float64, n int) string {
	keys := slices.Sorted(maps.Keys(cpu))
	var parts []string
	for _, k := range keys {
		if k != "bare-worker" && cpu[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.3f", k, perCase(cpu[k], n)))
		}
	}
	return strings.Join(parts, ", ")
}

// finishedCase is the first completed case whose workflow has finished:
// its history is the one reported.
func (b *bench) finishedCase(ctx context.Context, done []caseResult) (string, error) {
	for _, c := range done {
		wid := kyc.WorkflowID(c.id)
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := b.tc.GetWorkflow(wctx, wid, "").Get(wctx, nil)
		cancel()
		if err != nil {
			logf("1: workflow %s did not finish cleanly: %v", wid, err)
			continue
		}
		return wid, nil
	}
	return "", errNoCase
}

func (b *bench) runBareCases(ctx context.Context, script string, n, conc, warmup int) bareRaw {
	prefix := "bench-bare-" + randomHex(4)
	if warmup > 0 {
		runPool(warmup, min(warmup, conc), func(_, i int) {
			_ = runBare(ctx, b.tc, b.bareQueue, fmt.Sprintf("%s-warm-%d", prefix, i), script)
		})
		b.settle(ctx)
	}
	var durs samples
	var errs errorCount
	b.meter.begin()
	wall := runPool(n, conc, func(_, i int) {
		t := time.Now()
		if err := runBare(ctx, b.tc, b.bareQueue, fmt.Sprintf("%s-%d", prefix, i), script); err != nil {
			errs.add(err)
			return
		}
		durs.add(time.Since(t))
	})
	cpu := b.meter.since()
	return bareRaw{
		FirstID: prefix + "-0",
		Script:  script, Counts: countScript(script), caseRun: newCaseRun(n, conc, durs.all(), wall),
		Errors: errs.snapshot(), CPUSeconds: cpu,
	}
}

func secs(msv float64) string { return fmt.Sprintf("%.2f s", msv/1000) }

func roundMap(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = round(v, 1)
	}
	return out
}

// lagRaw is where a case's time goes inside the engine, read from the
// database after the batch: how long webhooks waited in the inbox before
// their signal was delivered, and how long after the case was created its
// room existed.
type lagRaw struct {
	InboxDispatch summary `json:"inbox_received_to_delivered"`
	FirstTask     summary `json:"case_row_to_first_workflow_task"`
	RoomCreated   summary `json:"case_created_to_room_created"`
}

func (b *bench) lags(ctx context.Context, from, to time.Time, cases []caseResult) lagRaw {
	ids := make([]string, 0, len(cases))
	for _, c := range cases {
		ids = append(ids, c.id)
	}
	return lagRaw{
		InboxDispatch: summarize(b.seconds(ctx, `SELECT extract(epoch FROM updated_at - received_at) FROM webhook_inbox
			WHERE state = 'done' AND received_at >= $1 AND received_at < $2`, from, to)),
		RoomCreated: summarize(b.seconds(ctx, `SELECT extract(epoch FROM r.at - c.at) FROM case_events c
			JOIN case_events r ON r.case_id = c.case_id AND r.type = 'room_created'
			WHERE c.type = 'case_created' AND c.case_id = ANY($1)`, ids)),
		FirstTask: summarize(b.seconds(ctx, `SELECT extract(epoch FROM e.at - c.created_at) FROM cases c
			JOIN case_events e ON e.case_id = c.id AND e.seq = 1 WHERE c.id = ANY($1)`, ids)),
	}
}

// seconds runs a query whose one column is a number of seconds; a failed
// query gives no figures rather than failing the run.
func (b *bench) seconds(ctx context.Context, q string, args ...any) []time.Duration {
	var out []time.Duration
	rows, err := b.pg.Query(ctx, q, args...)
	if err != nil {
		return nil
	}
	defer rows.Close()
	for rows.Next() {
		var s float64
		if rows.Scan(&s) == nil {
			out = append(out, time.Duration(s*float64(time.Second)))
		}
	}
	return out
}

// slowestTimelines writes the histories of the three slowest cases to the
// run's directory (timeline-<case>.txt).
func (b *bench) slowestTimelines(ctx context.Context, done []caseResult) {
	slices.SortFunc(done, func(x, y caseResult) int { return cmp.Compare(y.duration, x.duration) })
	for _, c := range done[:min(3, len(done))] {
		path := filepath.Join(b.dir, "timeline-"+c.id+".txt")
		if err := writeTimeline(ctx, b.tc, kyc.WorkflowID(c.id), path); err != nil {
			logf("1: timeline of %s: %v", c.id, err)
		}
	}
}
