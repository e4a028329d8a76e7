package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// row is one line of the table. ratio is engine/baseline; higherBetter says
// which way is good. need is the ratio the target asks for (0 when the
// target is not a ratio); met is set by the scenario when the target is not
// a ratio.
type row struct {
	Scenario string  `json:"scenario"`
	Figure   string  `json:"figure"`
	Value    string  `json:"value"`
	Baseline string  `json:"baseline"`
	Ratio    float64 `json:"ratio,omitempty"`
	// RatioMeaning says how to read Ratio.
	RatioMeaning string `json:"ratio_meaning,omitempty"`
	Target       string `json:"target"`
	Met          string `json:"met"`
	// TemporalStore is the Temporal dev server's SQLite mode behind the
	// figure, or "—" when Temporal plays no part in it.
	TemporalStore string `json:"temporal_store"`

	ratio        float64
	profileHint  string
	higherBetter bool
	need         float64
	met          *bool
}

func ratioOf(engine, baseline float64) float64 {
	if baseline <= 0 || engine < 0 {
		return 0
	}
	return engine / baseline
}

func yes(b bool) *bool { return &b }

type report struct {
	Title         string            `json:"title"`
	Command       string            `json:"command"`
	StartedAt     time.Time         `json:"started_at"`
	WallSeconds   float64           `json:"wall_seconds"`
	Machine       machine           `json:"machine"`
	Setup         map[string]string `json:"setup"`
	Sizes         sizes             `json:"sizes"`
	Rows          []row             `json:"rows"`
	Failures      map[string]string `json:"failures,omitempty"`
	Raw           map[string]any    `json:"raw"`
	Profile       *profileResult    `json:"profile,omitempty"`
	temporalStore string
	start         time.Time
}

func newReport(o options) *report {
	cmd := os.Getenv("BENCH_COMMAND")
	if cmd == "" {
		cmd = "go run ./cmd/bench " + strings.Join(os.Args[1:], " ")
	}
	return &report{
		Title: "vKYC engine benchmarks", Command: strings.TrimSpace(cmd), StartedAt: time.Now().UTC(),
		Machine: describeMachine(), Setup: map[string]string{}, Sizes: o.sz, Raw: map[string]any{},
		Failures: map[string]string{}, start: time.Now(),
	}
}

func (r *report) add(x row) {
	if x.ratio > 0 {
		x.Ratio = round(x.ratio, 3)
		if x.higherBetter {
			x.RatioMeaning = "engine/baseline, higher is better"
		} else {
			x.RatioMeaning = "engine/baseline, lower is better"
		}
	}
	switch {
	case x.need > 0 && x.higherBetter:
		ok := x.ratio >= x.need
		x.met = &ok
	case x.need > 0:
		ok := x.ratio > 0 && x.ratio <= x.need
		x.met = &ok
	}
	switch {
	case x.met == nil:
		x.Met = "—"
	case *x.met:
		x.Met = "yes"
	default:
		x.Met = "**no**"
	}
	if x.TemporalStore == "" {
		x.TemporalStore = r.temporalStore
	}
	r.Rows = append(r.Rows, x)
	fmt.Fprintf(os.Stderr, "  %s | %s | %s | %s | %s | %s | %s\n", x.Scenario, x.Figure, x.Value, x.Baseline, ratioCell(x), x.Target, x.Met)
}

func (r *report) failed(scenario string, err error) { r.Failures[scenario] = err.Error() }

// setup records how the stack was configured, read from the running
// processes where possible rather than assumed.
func (r *report) setup(b *bench) {
	tcmd := cmdline(b.svc.TemporalPID)
	mode := "SQLite file, journal mode unknown (Temporal's pid not given)"
	if tcmd != "" {
		journal, sync := "default (DELETE)", "default (FULL)"
		if strings.Contains(tcmd, "journal_mode=WAL") {
			journal = "WAL"
		}
		if strings.Contains(tcmd, "synchronous=NORMAL") {
			sync = "NORMAL"
		}
		store := "SQLite file"
		if !strings.Contains(tcmd, "--db-filename") {
			store = "SQLite in memory"
		}
		mode = fmt.Sprintf("%s, journal_mode=%s, synchronous=%s", store, journal, sync)
		r.temporalStore = "SQLite " + journal
	}
	if strings.Contains(tcmd, "system.enableActivityEagerExecution=true") {
		mode += ", eager activity execution on"
	}
	r.Setup["temporal"] = "dev server (temporal server start-dev), " + mode
	if r.temporalStore == "" {
		r.temporalStore = "SQLite (mode unknown)"
	}
	var fsync, syncCommit, version string
	ctx := context.Background()
	_ = b.pg.QueryRow(ctx, "SHOW fsync").Scan(&fsync)
	_ = b.pg.QueryRow(ctx, "SHOW synchronous_commit").Scan(&syncCommit)
	_ = b.pg.QueryRow(ctx, "SHOW server_version").Scan(&version)
	r.Setup["postgres"] = fmt.Sprintf("PostgreSQL %s (fsync=%s, synchronous_commit=%s, as scripts/services.sh starts it), a database of the run's own", version, fsync, syncCommit)
	r.Setup["minio"] = "MinIO (scripts/tools.sh pinned version), single drive, a bucket of the run's own"
	r.Setup["simulator"] = fmt.Sprintf("100ms simulator, recording start and ready delays %s each (zero would mean the 2 s / 9 s defaults)", simStartDelay)
	r.Setup["engine"] = "api, worker and simulator built with `go build` from this checkout and run as child processes " +
		"(LOG_LEVEL=info, the production default; engine's default pool and worker sizes); " +
		"webhooks pass through a forwarding proxy in the bench process that times their 200s"
	if b.o.overlay != "" {
		r.Setup["engine"] += "; **built with the extra overlay " + b.o.overlay + "**"
	}
	r.Setup["baselines"] = "run from the bench process (pgx inserts, minio-go PutObject, Temporal SDK calls) and a bare-workflow worker " +
		"child process with the engine's worker options"
}

func (r *report) finish() {
	r.WallSeconds = round(time.Since(r.start).Seconds(), 1)
	r.Machine.LoadEnd = loadAverage()
}

func ratioCell(x row) string {
	if x.ratio <= 0 {
		return "—"
	}
	arrow := "↓ better"
	if x.higherBetter {
		arrow = "↑ better"
	}
	return fmt.Sprintf("%.2f (%s)", x.ratio, arrow)
}

func (r *report) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "# %s\n\n", r.Title)
	b.WriteString("Generated by `make bench` (cmd/bench/, scripts/bench.sh); do not edit by hand. Raw numbers: " +
		"[bench-results.json](bench-results.json).\n\n")
	fmt.Fprintf(&b, "- **Command:** `%s`\n", r.Command)
	fmt.Fprintf(&b, "- **Machine:** %d cores (%s), %d MiB memory, Linux %s, %s\n", m.Cores, m.CPU, m.MemoryMiB, m.Kernel, m.GoVersion)
	fmt.Fprintf(&b, "- **Load average** (1/5/15 min) at start %s, at end %s; run took %.0f s, started %s\n",
		loads(m.LoadStart), loads(m.LoadEnd), r.WallSeconds, r.StartedAt.Format(time.RFC3339))
	for _, k := range []string{"temporal", "postgres", "minio", "simulator", "engine", "baselines"} {
		if v := r.Setup[k]; v != "" {
			fmt.Fprintf(&b, "- **%s:** %s\n", k, v)
		}
	}
	b.WriteString("\nRatio is engine ÷ baseline, both measured in this run on this machine; the arrow says which way is " +
		"better. Latencies are nearest-rank percentiles. \"Temporal\" is the Temporal store behind the figure.\n\n")
	b.WriteString("| # | figure | value | baseline | ratio | target | met? | Temporal |\n|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", x.Scenario, esc(x.Figure), esc(x.Value),
			esc(x.Baseline), ratioCell(x), esc(x.Target), x.Met, x.TemporalStore)
	}
	if len(r.Failures) > 0 {
		b.WriteString("\n**Scenarios that failed:**\n\n")
		for id, msg := range r.Failures {
			fmt.Fprintf(&b, "- %s: %s\n", id, esc(msg))
		}
	}
	b.WriteString(methodNotes)
	if cpu := r.cpuTable(); cpu != "" {
		b.WriteString(cpu)
	}
	if r.Profile != nil {
		b.WriteString(r.Profile.markdown())
	}
	return b.String()
}

// cpuTable shows where each measured phase spent its CPU time.
func (r *report) cpuTable() string {
	type phase struct {
		name string
		cpu  map[string]float64
		wall float64
	}
	var phases []phase
	for _, k := range []string{"1_engine", "1_bare", "2_engine", "2_baseline", "3_engine", "4_engine_8mib", "7_dev_server", "7_real_server", "5_engine", "5_bare", "6_engine", "6_baseline"} {
		raw, ok := r.Raw[k]
		if !ok {
			continue
		}
		cpu, wall := cpuOf(raw)
		if cpu != nil {
			phases = append(phases, phase{k, cpu, wall})
		}
	}
	if len(phases) == 0 {
		return ""
	}
	cols := []string{"api", "worker", "simulator", "bare-worker", "temporal", "postgres", "minio", "bench"}
	var b strings.Builder
	b.WriteString("\n## CPU seconds per process in each measured phase\n\n")
	b.WriteString("From /proc/<pid>/stat. PostgreSQL counts its postmaster and the backends alive at the end of the phase " +
		"(a lower bound). The machine has " + fmt.Sprint(r.Machine.Cores) + " cores: wall × cores is the CPU available.\n\n")
	b.WriteString("| phase | wall s | " + strings.Join(cols, " | ") + " |\n|---|---|" + strings.Repeat("---|", len(cols)) + "\n")
	for _, p := range phases {
		fmt.Fprintf(&b, "| %s | %.1f |", p.name, p.wall)
		for _, c := range cols {
			fmt.Fprintf(&b, " %.1f |", p.cpu[c])
		}
		b.WriteString("\n")
	}
	return b.String()
}

func cpuOf(raw any) (map[string]float64, float64) {
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, 0
	}
	var v struct {
		CPU  map[string]float64 `json:"cpu_seconds"`
		Wall float64            `json:"wall_seconds"`
		// Scenario 5 meters CPU until every room exists.
		Window float64 `json:"all_rooms_created_seconds"`
	}
	if json.Unmarshal(b, &v) != nil {
		return nil, 0
	}
	if v.Window > 0 {
		return v.CPU, v.Window
	}
	return v.CPU, v.Wall
}

func loads(l []float64) string {
	if len(l) == 0 {
		return "unknown"
	}
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = fmt.Sprintf("%.2f", v)
	}
	return strings.Join(s, " / ")
}

func esc(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func (r *report) write(o options) error {
	md := r.markdown()
	fmt.Println(md)
	if o.out != "" {
		path := filepath.Join(o.root, o.out)
		if filepath.IsAbs(o.out) {
			path = o.out
		}
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil { // #nosec G306 -- documentation
			return fmt.Errorf("write %s: %w", path, err)
		}
		logf("wrote %s", path)
	}
	if o.jsonOut != "" {
		path := filepath.Join(o.root, o.jsonOut)
		if filepath.IsAbs(o.jsonOut) {
			path = o.jsonOut
		}
		js, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, append(js, '\n'), 0o644); err != nil { // #nosec G306 -- documentation
			return fmt.Errorf("write %s: %w", path, err)
		}
		logf("wrote %s", path)
	}
	return nil
}

// worst is the row furthest below (or least above) its ratio target.
func (r *report) worst() (row, bool) {
	var best row
	found := false
	score := math.Inf(1)
	for _, x := range r.Rows {
		if x.need <= 0 || x.ratio <= 0 {
			continue
		}
		if s := x.ratio / x.need; s < score {
			best, score, found = x, s, true
		}
	}
	return best, found
}

const methodNotes = `
## How each figure is measured

1. **Case throughput.** Each of the concurrent drivers runs whole cases one after another through the API and the
   simulator's participant API: create, the agent's and the customer's join tokens, both join, wait for ` + "`in_call`" + `,
   three captures (face, ID front, ID back, valid JPEG/PNG files padded to the capture size), the agent's approval,
   both leave, wait until the recording is verified and the case awaits audit, the auditor's approval. A case ends at
   the audit's answer. Waits re-read ` + "`GET /v1/cases/{id}`" + ` at the poll interval. Throughput is completed
   cases over the wall time of the batch, after warm-up cases. **Baseline:** a bare workflow of the KYC procedure's
   minimal shape, written down from the domain (cmd/bench/scenario_cases.go): start; create room; two joins;
   recording started; three capture updates; decision update; two leaves; recording success; verify recording; audit
   update; end room. Its activities do nothing, and a driver sends its signals and updates (waiting for each update's
   result, as the API does) with the same concurrency, against the same Temporal server. The history row compares
   an approved case's history with the bare workflow's; CPU-seconds come from /proc of each process over the batch.
2. **Webhook intake.** Valid 100ms events (peer joins and leaves, session opens and closes, each with a fresh event id,
   six per case as in a session, for rooms named like ours whose cases do not exist) posted with the webhook secret.
   The dispatcher runs alongside as in production: it reads the rows back, looks up the round's case ids (one query)
   and marks the events of cases that have no row ignored without signalling Temporal (delivery to live cases is
   what 3 measures). The API writes concurrent events to the inbox in shared INSERT statements (group commit; each 200
   still follows its own row's commit). **Baseline:** the same rows (same columns, SHA-256 of the body, ON CONFLICT
   DO NOTHING) inserted one per statement with pgx into a copy of the inbox table
   (` + "`LIKE webhook_inbox INCLUDING ALL`" + `) in the same database at the same concurrency.
3. **Steady load.** Cases start at fixed intervals at half the throughput of 1 for the given time, driven as in 1 but
   re-reading the case every steady-poll interval while an effect is awaited. A webhook's effect time is from the
   API's 200 to the webhook (noted by the forwarding proxy) to the first ` + "`GET /v1/cases/{id}`" + ` answer showing it
   (peer joins: the participant joined; ` + "`beam.recording.success`" + `: recording reported or verified); the poll
   interval bounds its resolution. **Baseline:** during the same window a probe sends a signal to a bare workflow and
   queries it at the same interval until the signal shows, and sends it an update waiting for completion.
4. **Capture upload.** Cases brought to ` + "`in_call`" + `, then uploads of one image size at the given concurrency,
   each checked (size and SHA-256 in the answer), sent as the agent's console sends them: the image as the body with
   its Content-Type, Content-Length, ` + "`?kind=`" + `, X-Content-SHA256 and an Idempotency-Key. **Baseline:** the
   same bytes posted at the same concurrency to a bare streaming proxy in the bench process (an HTTP handler passing
   the request body to PutObject with its Content-Length; no auth, hashing, content check, database row or
   workflow): the best a design that passes the bytes through an HTTP service can expect on this machine, since any
   API does this work and more on the same cores. **Reference:** minio-go PutObject of the same bytes to the same
   bucket at the same concurrency. The API's peak RSS growth is VmHWM (reset through clear_refs) minus VmRSS before.
   The CPU row divides each process's CPU-seconds over the batch by the uploads: what Temporal and the worker spend
   is the workflow's acceptance of the capture (its update, save and answer), a fixed cost whatever the size.
5. **Open cases at rest.** Cases created through the API and left waiting for participants (each has its room).
   Worker RSS is read once the worker is idle. **Baselines:** bare workflows of scenario 1's script started directly
   (they run their leading activities and wait for a signal) on the bare worker, whose RSS is read the same way;
   the list's SQL run directly with pgx.
6. **Read path.** ` + "`GET /v1/cases/{id}`" + ` of random open cases of 5 (the API answers from the projection in
   PostgreSQL). **Baseline:** the case row by primary key, every column, with pgx. For comparison, the workflow
   query the API used to make for each read, sent directly with the Temporal SDK.
7. **The real Temporal server.** The cases of 1 (same driver, same simulator, bucket and PostgreSQL instance), a
   batch on the dev server that every other scenario uses, then the same batch on the Temporal server of
   ` + "`deploy/versions.env`" + ` with PostgreSQL persistence and SQL visibility, set up and started by
   ` + "`scripts/temporal-server.sh`" + ` as ` + "`make prod-local`" + ` does (compose's config template, settings, dynamic
   config, namespace and search attributes), its databases on the run's PostgreSQL, with an API and a worker of its
   own (database of their own). Each batch follows warm-up cases. CPU seconds per case add up the API, worker,
   simulator, Temporal server, PostgreSQL (postmaster and the backends alive at the end) and MinIO over the batch,
   divided by the completed cases. **Baseline:** the dev-server batch.
`
