package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Scenario 5: many cases started and left waiting for their participants:
// how long they take to start, what they cost the worker in memory, and how
// the list query behaves over them.

type openRaw struct {
	N               int                `json:"n"`
	Concurrency     int                `json:"concurrency"`
	Failed          int                `json:"failed"`
	WallSeconds     float64            `json:"wall_seconds"`
	PerSecond       float64            `json:"creates_per_second"`
	AllReadySeconds float64            `json:"all_rooms_created_seconds"`
	RoomsCreated    int64              `json:"rooms_created"`
	CreateLatency   summary            `json:"create_latency"`
	RSSBeforeKiB    int64              `json:"worker_rss_before_kib"`
	RSSAfterKiB     int64              `json:"worker_rss_after_kib"`
	RSSPerCaseKiB   float64            `json:"worker_rss_per_case_kib"`
	ListLatency     summary            `json:"list_latency,omitempty"`
	ListRows        int                `json:"list_rows,omitempty"`
	Errors          map[string]int     `json:"errors,omitempty"`
	CPUSeconds      map[string]float64 `json:"cpu_seconds"`
}

func (b *bench) scenarioOpen(ctx context.Context) error {
	sz := b.o.sz
	eng, ids, err := b.openEngineCases(ctx, sz.OpenCases, sz.OpenConc)
	if err != nil {
		return err
	}
	b.openCases = ids
	eng.ListLatency, eng.ListRows = b.listLatency(ctx, sz.ListRequests)
	sqlLat := b.listSQLLatency(ctx, sz.ListRequests)
	b.report.Raw["5_engine"] = eng
	b.report.Raw["5_list_sql"] = sqlLat

	bare := b.openBare(ctx, sz.OpenBare, sz.OpenConc)
	b.report.Raw["5_bare"] = bare

	b.report.add(row{
		Scenario: "5", Figure: fmt.Sprintf("Start %d cases (POST /v1/cases at concurrency %d) and let each create its room", sz.OpenCases, sz.OpenConc),
		Value: fmt.Sprintf("%.0f s (%.0f creates/s; %d of %d rooms after %.0f s; %d failed)",
			eng.WallSeconds, eng.PerSecond, eng.RoomsCreated, eng.N-eng.Failed, eng.AllReadySeconds, eng.Failed),
		Baseline: fmt.Sprintf("%d bare workflows started directly: %.0f s (%.0f starts/s; idle after %.0f s)", bare.N, bare.WallSeconds, bare.PerSecond, bare.AllReadySeconds),
		ratio:    ratioOf(eng.PerSecond, bare.PerSecond), higherBetter: true, Target: "—",
	})
	total := float64(eng.RSSAfterKiB) / 1024
	b.report.add(row{
		Scenario: "5", Figure: fmt.Sprintf("Worker RSS with %d open cases", sz.OpenCases),
		Value:    fmt.Sprintf("%.0f MiB total, %.1f KiB per open case (%.0f MiB before)", total, eng.RSSPerCaseKiB, float64(eng.RSSBeforeKiB)/1024),
		Baseline: fmt.Sprintf("%.1f KiB per open bare workflow (%d open: %.0f MiB total)", bare.RSSPerCaseKiB, bare.N, float64(bare.RSSAfterKiB)/1024),
		ratio:    ratioOf(eng.RSSPerCaseKiB, bare.RSSPerCaseKiB), Target: fmt.Sprintf("%d open cases on one worker < 1 GiB RSS", sz.OpenCases),
		met: yes(eng.RSSAfterKiB < 1<<20 && eng.Failed == 0),
	})
	b.report.add(row{
		Scenario: "5", Figure: fmt.Sprintf("GET /v1/cases?status=waiting_for_participants&limit=100 with %d open rows, p50 / p99 (%d requests, one at a time)", sz.OpenCases, sz.ListRequests),
		Value:    fmt.Sprintf("%.1f / %.1f ms (%d cases per page)", eng.ListLatency.P50, eng.ListLatency.P99, eng.ListRows),
		Baseline: fmt.Sprintf("%.1f / %.1f ms the list's SQL with pgx", sqlLat.P50, sqlLat.P99),
		ratio:    ratioOf(eng.ListLatency.P99, sqlLat.P99), Target: "—", TemporalStore: "—",
	})
	return nil
}

// count fills in what the starts come to: latencies (one per start that
// succeeded), wall time, errors, and the worker's memory per workflow left
// open (opened of them).
func (r *openRaw) count(latencies []time.Duration, wall time.Duration, errs *errorCount, opened int) {
	r.Failed, r.WallSeconds = r.N-len(latencies), round(wall.Seconds(), 2)
	r.PerSecond = round(float64(len(latencies))/wall.Seconds(), 1)
	r.CreateLatency, r.Errors = summarize(latencies), errs.snapshot()
	if opened > 0 {
		r.RSSPerCaseKiB = round(float64(r.RSSAfterKiB-r.RSSBeforeKiB)/float64(opened), 2)
	}
}

func (b *bench) openEngineCases(ctx context.Context, n, conc int) (openRaw, []string, error) {
	b.settle(ctx)
	r := openRaw{N: n, Concurrency: conc}
	r.RSSBeforeKiB, _, _ = memKiB(b.worker.PID())
	ids := make([]string, n)
	var lat samples
	var errs errorCount
	logf("5: creating %d cases", n)
	b.meter.begin()
	start := time.Now()
	wall := runPool(n, conc, func(_, i int) {
		t := time.Now()
		v, err := b.client.CreateCase(ctx, b.client.service(), apiclient.NewKey(),
			apiclient.NewCase{Customer: kyc.Customer{Reference: fmt.Sprintf("BENCH-OPEN-%d-%s", i, randomHex(3)), Name: "Bench Open"}})
		if err != nil {
			errs.add(err)
			return
		}
		ids[i] = v.ID
		lat.add(time.Since(t))
	})
	created := make([]string, 0, n)
	for _, id := range ids {
		if id != "" {
			created = append(created, id)
		}
	}
	// Ready once every case has its room in the projection (the
	// workflow's first activities ran) and the worker is idle; both waits
	// are bounded so that the run ends in reasonable time on a busy
	// machine, and the figure says how many rooms existed.
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		_ = b.pg.QueryRow(ctx, "SELECT count(*) FROM attempts WHERE case_id = ANY($1) AND room_id <> ''", created).Scan(&r.RoomsCreated)
		if r.RoomsCreated >= int64(len(created)) {
			break
		}
		_ = sleepCtx(ctx, 500*time.Millisecond)
	}
	r.AllReadySeconds = round(time.Since(start).Seconds(), 2)
	r.CPUSeconds = b.meter.since()
	b.settleWithin(ctx, time.Minute)
	r.RSSAfterKiB, _, _ = memKiB(b.worker.PID())
	r.count(lat.all(), wall, &errs, len(created))
	logf("5: %d created in %.0f s, rooms ready after %.0f s, worker RSS %d → %d MiB",
		len(created), r.WallSeconds, r.AllReadySeconds, r.RSSBeforeKiB>>10, r.RSSAfterKiB>>10)
	if len(created) == 0 {
		return r, nil, fmt.Errorf("no case created: %v", r.Errors)
	}
	return r, created, nil
}

func (b *bench) listLatency(ctx context.Context, n int) (summary, int) {
	var lat []time.Duration
	rows := 0
	tok := b.client.service()
	for range n {
		var page struct {
			Cases []kyc.CaseView `json:"cases"`
		}
		t := time.Now()
		_, err := b.client.Call(ctx, http.MethodGet, "/v1/cases?status=waiting_for_participants&limit=100", tok, nil, "", &page)
		if err != nil {
			logf("5: list: %v", err)
			continue
		}
		lat = append(lat, time.Since(t))
		rows = len(page.Cases)
	}
	return summarize(lat), rows
}

// listSQLLatency runs the list's query (the same filter, order and page
// size plus one, over the same table) directly, reading every column.
func (b *bench) listSQLLatency(ctx context.Context, n int) summary {
	var lat []time.Duration
	const q = `SELECT * FROM cases WHERE status = $1 ORDER BY created_at DESC, id DESC LIMIT 101`
	for range n {
		t := time.Now()
		rows, err := b.pg.Query(ctx, q, string(kyc.StatusWaitingForParticipants))
		if err != nil {
			continue
		}
		for rows.Next() {
			_, _ = rows.Values()
		}
		rows.Close()
		if rows.Err() == nil {
			lat = append(lat, time.Since(t))
		}
	}
	return summarize(lat)
}

// openBare starts n bare workflows (scenario 1's script: they run its
// leading activities and wait for their first signal) on the bare worker.
func (b *bench) openBare(ctx context.Context, n, conc int) openRaw {
	b.settle(ctx)
	r := openRaw{N: n, Concurrency: conc}
	script := b.bareScript
	if script == "" {
		script = "LALS" // scenario 1 did not run: the shape of a case's start
	}
	r.RSSBeforeKiB, _, _ = memKiB(b.bareWorker.PID())
	var lat samples
	var errs errorCount
	prefix := "bench-open-bare-" + randomHex(4)
	logf("5: starting %d bare workflows", n)
	b.meter.begin()
	start := time.Now()
	wall := runPool(n, conc, func(_, i int) {
		t := time.Now()
		if _, err := b.tc.ExecuteWorkflow(ctx, bareStartOptions(fmt.Sprintf("%s-%d", prefix, i), b.bareQueue), bareWorkflowName, script); err != nil {
			errs.add(err)
			return
		}
		lat.add(time.Since(t))
	})
	b.settle(ctx)
	r.AllReadySeconds = round(time.Since(start).Seconds(), 2)
	r.CPUSeconds = b.meter.since()
	r.RSSAfterKiB, _, _ = memKiB(b.bareWorker.PID())
	r.count(lat.all(), wall, &errs, r.N-r.Failed)
	logf("5: bare: %d started in %.0f s, worker RSS %d → %d MiB", r.N-r.Failed, r.WallSeconds, r.RSSBeforeKiB>>10, r.RSSAfterKiB>>10)
	return r
}
