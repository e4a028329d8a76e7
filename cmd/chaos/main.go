// Command chaos is the fault suite: it starts PostgreSQL, MinIO, the
// Temporal dev server and the engine's API, worker and 100ms simulator as
// child processes on loopback ports of their own, drives batches of KYC
// cases through them while injecting one fault class at a time (SIGKILLed
// worker or API, 100ms API errors, webhook duplicates and reordering,
// database, object storage and Temporal outages) and checks that every case
// ended as its script expects with nothing stuck, duplicated or lost.
//
//	go run ./cmd/chaos                        all eight classes (8: the production topology of make prod-local)
//	go run ./cmd/chaos -short                 the variant of `make test`
//	go run ./cmd/chaos -classes 1,minio-stop -cases 4 -keep
//	go run ./cmd/chaos -report docs/RELIABILITY.md -hostile h.tsv -fuzz .run/fuzz/summary.tsv
//
// `make chaos` (scripts/chaos.sh) runs the other checks first and writes
// docs/RELIABILITY.md. The exit status is 1 when any class found a problem.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func run() error {
	short := flag.Bool("short", false, "the short variant: 2 cases per class, shorter outages")
	cases := flag.Int("cases", 0, "cases per class (default 24, or 2 with -short)")
	only := flag.String("classes", "", "fault classes to run, by number or key (default all)")
	report := flag.String("report", "", "write the Markdown report here (e.g. docs/RELIABILITY.md)")
	hostile := flag.String("hostile", "", "tab-separated hostile-input results to include in the report")
	fuzz := flag.String("fuzz", "", "tab-separated fuzzing summary to include in the report")
	checks := flag.String("checks", "", "tab-separated results of further checks to include in the report")
	work := flag.String("work", "", "work folder (default: a temporary one, removed when all passed)")
	keep := flag.Bool("keep", false, "keep the work folder with the processes' logs")
	seed := flag.Uint64("seed", 1, "seed of the fault timing and the simulator's faults")
	timeout := flag.Duration("timeout", time.Hour, "give up after this long")
	flag.Parse()

	set := fullSettings()
	if *short {
		set = shortSettings()
	}
	if *cases > 0 {
		set.casesPerClass = *cases
	}
	set.seed = *seed
	list, err := parseClasses(*only)
	if err != nil {
		return err
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	res, err := runSuite(ctx, options{root: root, workDir: *work, keep: *keep, classes: list, settings: set, log: log})
	if res != nil && res.WorkDir != "" {
		log.Info("logs of the processes", "folder", res.WorkDir)
	}
	if err != nil {
		return err
	}
	printTable(res)
	if *report != "" {
		if err := writeReport(*report, res, reportInputs{hostile: *hostile, fuzz: *fuzz, checks: *checks}, root); err != nil {
			return fmt.Errorf("write %s: %w", *report, err)
		}
		log.Info("report written", "path", *report)
	}
	if !res.ok() {
		return fmt.Errorf("the fault suite found problems (see above)")
	}
	return nil
}

func printTable(res *suiteResult) {
	fmt.Printf("\n%-3s %-18s %5s %9s %5s %10s %4s %16s\n", "#", "class", "cases", "completed", "stuck", "duplicates", "lost", "slowest recovery")
	for _, c := range res.Classes {
		fmt.Printf("%-3d %-18s %5d %9d %5d %10d %4d %16s\n", c.Class, c.Key, c.Cases, c.Completed, c.Stuck, c.Duplicates, c.Lost,
			c.SlowestRecovery.Round(100*time.Millisecond))
	}
	fmt.Printf("suite took %s\n", res.Took.Round(time.Second))
}
