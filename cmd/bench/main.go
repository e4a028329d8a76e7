// Command bench measures the case engine as its users load it, each figure
// next to a baseline measured in the same run on the same machine (`make
// bench`). It prints figures; it is never a test and has no pass/fail exit
// status for a missed target.
//
// The engine runs as it does in production: the api, worker and simulator
// programs are built from this checkout with `go build` and started as child
// processes (so their memory is measured honestly, per process), against the
// real PostgreSQL, MinIO and Temporal dev server that scripts/services.sh
// starts. Each program carries a loopback-only pprof listener added at build
// time (internal/testkit/stack/pprofhook), idle unless a profile is taken. The baselines run
// from this process (plain inserts, direct PutObject, direct Temporal calls)
// and from a bare-workflow worker child (this binary with -role bare-worker).
//
//	scripts/services.sh run -- go run ./cmd/bench [-quick] [-only 1,3] [-profile worst|none|N]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
)

// sizes are the scenario sizes; the defaults are the issue's.
type sizes struct {
	Cases            int           `json:"cases"`
	CaseConcurrency  int           `json:"case_concurrency"`
	CapturesKiB      int           `json:"capture_kib"`
	Poll             time.Duration `json:"poll_ns"`
	Warmup           int           `json:"warmup_cases"`
	Webhooks         int           `json:"webhooks"`
	WebhookConc      int           `json:"webhook_concurrency"`
	SteadyFor        time.Duration `json:"steady_ns"`
	SteadyPoll       time.Duration `json:"steady_poll_ns"`
	Uploads1MiB      int           `json:"uploads_1mib"`
	Uploads8MiB      int           `json:"uploads_8mib"`
	UploadConc       int           `json:"upload_concurrency"`
	OpenCases        int           `json:"open_cases"`
	OpenBare         int           `json:"open_bare_workflows"`
	OpenConc         int           `json:"open_concurrency"`
	ListRequests     int           `json:"list_requests"`
	Reads            int           `json:"reads"`
	ReadConc         int           `json:"read_concurrency"`
	ProfileFor       time.Duration `json:"profile_ns"`
	ProfileCases     int           `json:"profile_cases"`
	ProfileOpenCases int           `json:"profile_open_cases"`
	ProdCases        int           `json:"real_server_cases"`
	ProdConcurrency  int           `json:"real_server_concurrency"`
}

func defaultSizes() sizes {
	return sizes{
		Cases: 200, CaseConcurrency: 50, CapturesKiB: 200, Poll: 50 * time.Millisecond, Warmup: 10,
		Webhooks: 20000, WebhookConc: 32,
		SteadyFor: 60 * time.Second, SteadyPoll: 20 * time.Millisecond,
		Uploads1MiB: 200, Uploads8MiB: 48, UploadConc: 8,
		OpenCases: 10000, OpenBare: 2000, OpenConc: 50, ListRequests: 300,
		Reads: 2000, ReadConc: 32,
		ProfileFor: 30 * time.Second, ProfileCases: 150, ProfileOpenCases: 1500,
		ProdCases: 100, ProdConcurrency: 20,
	}
}

func quickSizes() sizes {
	s := defaultSizes()
	s.Cases, s.CaseConcurrency, s.Warmup = 30, 10, 3
	s.Webhooks = 500
	s.SteadyFor = 15 * time.Second
	s.Uploads1MiB, s.Uploads8MiB = 24, 16
	s.OpenCases, s.OpenBare, s.ListRequests = 300, 300, 50
	s.Reads = 600
	s.ProfileFor, s.ProfileCases, s.ProfileOpenCases = 10*time.Second, 30, 300
	s.ProdCases, s.ProdConcurrency = 20, 5
	return s
}

type options struct {
	root, out, jsonOut string
	only               map[string]bool
	profile            string
	keep               bool
	overlay            string
	sz                 sizes
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-role" && os.Args[2] == "bare-worker" {
		bareWorkerMain()
		return
	}
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// sizeFlags registers the size flags into s with the defaults of d.
func sizeFlags(fs *flag.FlagSet, s *sizes, d sizes) {
	fs.IntVar(&s.Cases, "cases", d.Cases, "1: cases driven end to end")
	fs.IntVar(&s.CaseConcurrency, "case-concurrency", d.CaseConcurrency, "1: cases in flight")
	fs.IntVar(&s.CapturesKiB, "capture-kib", d.CapturesKiB, "1, 3: size of each of the 3 captures")
	fs.DurationVar(&s.Poll, "poll", d.Poll, "1: how often a driver re-reads a case it waits on")
	fs.IntVar(&s.Warmup, "warmup", d.Warmup, "1: cases run (and the baseline's) before measuring")
	fs.IntVar(&s.Webhooks, "webhooks", d.Webhooks, "2: webhook events posted (and rows inserted by the baseline)")
	fs.IntVar(&s.WebhookConc, "webhook-concurrency", d.WebhookConc, "2: requests in flight")
	fs.DurationVar(&s.SteadyFor, "steady", d.SteadyFor, "3: how long the steady load runs")
	fs.DurationVar(&s.SteadyPoll, "steady-poll", d.SteadyPoll, "3: how often a case is re-read while an effect is awaited")
	fs.IntVar(&s.Uploads1MiB, "uploads-1mib", d.Uploads1MiB, "4: 1 MiB uploads")
	fs.IntVar(&s.Uploads8MiB, "uploads-8mib", d.Uploads8MiB, "4: 8 MiB uploads")
	fs.IntVar(&s.UploadConc, "upload-concurrency", d.UploadConc, "4: uploads in flight")
	fs.IntVar(&s.OpenCases, "open", d.OpenCases, "5: cases started and left open")
	fs.IntVar(&s.OpenBare, "open-bare", d.OpenBare, "5: bare workflows started and left open by the baseline (fewer than -open to bound the run's time; figures are per workflow)")
	fs.IntVar(&s.OpenConc, "open-concurrency", d.OpenConc, "5: creates in flight")
	fs.IntVar(&s.ListRequests, "list-requests", d.ListRequests, "5: list requests timed")
	fs.IntVar(&s.Reads, "reads", d.Reads, "6: GET /v1/cases/{id} requests")
	fs.IntVar(&s.ReadConc, "read-concurrency", d.ReadConc, "6: reads in flight")
	fs.DurationVar(&s.ProfileFor, "profile-for", d.ProfileFor, "length of each CPU profile")
	fs.IntVar(&s.ProdCases, "real-cases", d.ProdCases, "7: cases on each Temporal server (real and dev)")
	fs.IntVar(&s.ProdConcurrency, "real-concurrency", d.ProdConcurrency, "7: cases in flight")
}

func parseFlags() (options, error) {
	d := defaultSizes()
	quick := flag.Bool("quick", false, "small sizes for development (overrides the size flags' defaults)")
	o := options{}
	flag.StringVar(&o.root, "root", ".", "the repository root (where go.mod is)")
	flag.StringVar(&o.out, "out", "docs/BENCHMARKS.md", "markdown report (written by a whole run; a -quick or -only run writes one only when this is given; empty: print only)")
	flag.StringVar(&o.jsonOut, "json", "docs/bench-results.json", "raw numbers (as -out)")
	only := flag.String("only", "", "comma-separated scenarios to run (1-7); default all")
	flag.StringVar(&o.profile, "profile", "worst", "after the run, profile a scenario again with pprof: worst, none, or 1-6")
	flag.BoolVar(&o.keep, "keep", false, "keep the benchmark's database and bucket")
	flag.StringVar(&o.overlay, "overlay", "", "extra `go build -overlay` file for the engine's programs (to try a change; the report says so)")
	var s sizes
	sizeFlags(flag.CommandLine, &s, d)
	flag.Parse()
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", flag.Args())
	}
	explicit := map[string]string{} // the flags given on the command line
	flag.Visit(func(f *flag.Flag) { explicit[f.Name] = f.Value.String() })
	// The committed report is the whole run's: a quick or partial run
	// prints its figures and writes files only where -out or -json say.
	if *quick || *only != "" {
		if _, ok := explicit["out"]; !ok {
			o.out = ""
		}
		if _, ok := explicit["json"]; !ok {
			o.jsonOut = ""
		}
	}
	base := d
	if *quick {
		// -quick changes the size flags' defaults; sizes given explicitly win.
		base = quickSizes()
		q := flag.NewFlagSet("quick", flag.ContinueOnError)
		sizeFlags(q, &s, base) // s takes the quick defaults
		for name, v := range explicit {
			if q.Lookup(name) != nil {
				if err := q.Set(name, v); err != nil {
					return o, err
				}
			}
		}
	}
	s.ProfileCases, s.ProfileOpenCases = base.ProfileCases, base.ProfileOpenCases
	for _, v := range []int{s.Cases, s.CaseConcurrency, s.CapturesKiB, s.Webhooks, s.WebhookConc, s.UploadConc,
		s.OpenCases, s.OpenBare, s.OpenConc, s.ListRequests, s.Reads, s.ReadConc, s.ProdCases, s.ProdConcurrency} {
		if v <= 0 {
			return o, fmt.Errorf("sizes and concurrencies must be positive")
		}
	}
	if s.Uploads1MiB < 0 || s.Uploads8MiB < 0 || s.Warmup < 0 {
		return o, fmt.Errorf("upload counts and warm-up must not be negative")
	}
	o.sz = s
	if *only != "" {
		o.only = map[string]bool{}
		for _, x := range strings.Split(*only, ",") {
			x = strings.TrimSpace(x)
			if len(x) != 1 || x < "1" || x > "7" {
				return o, fmt.Errorf("-only: %q is not a scenario 1-7", x)
			}
			o.only[x] = true
		}
		if o.only["3"] && !o.only["1"] {
			return o, fmt.Errorf("-only: scenario 3 runs at half the throughput of 1; add 1")
		}
		if o.only["6"] && !o.only["5"] {
			return o, fmt.Errorf("-only: scenario 6 reads the open cases of 5; add 5")
		}
	}
	switch o.profile {
	case "worst", "none", "1", "2", "3", "4", "5", "6":
	default:
		return o, fmt.Errorf("-profile: %q is not worst, none or 1-6", o.profile)
	}
	root, err := filepath.Abs(o.root)
	if err != nil {
		return o, err
	}
	o.root = root
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return o, fmt.Errorf("-root %s: no go.mod there", root)
	}
	return o, nil
}

func (o options) runs(scenario string) bool { return o.only == nil || o.only[scenario] }

func randomHex(n int) string { return apiclient.RandomHex(n) }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
