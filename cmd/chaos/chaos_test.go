package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tstack "github.com/vkyc-engine/vkyc/internal/testkit/stack"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// TestShortFaultSuite is the short variant of `make chaos` that runs in
// `make test`: every fault class with two cases on a stack of its own
// (its own PostgreSQL, MinIO and Temporal, so that stopping them never
// disturbs the other packages' tests). It needs the pinned tools that
// scripts/services.sh builds and a PostgreSQL installation: without them it
// is skipped on a developer's machine and fails under CI=true.
func TestShortFaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite is not short enough for -short")
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, tool := range []string{"minio", "temporal"} {
		if _, err := os.Stat(filepath.Join(root, ".cache", "bin", tool)); err != nil {
			missing = append(missing, tool+" (scripts/tools.sh builds it)")
		}
	}
	if _, err := tstack.PostgresBinDir(); err != nil {
		missing = append(missing, "PostgreSQL")
	}
	if len(missing) > 0 {
		msg := "the fault suite needs " + strings.Join(missing, ", ") + "; `make test` provides them"
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	// Class 9 (the production topology) runs in make chaos only: its first
	// run on a machine builds the Temporal server.
	res, err := runSuite(ctx, options{root: root, classes: devClassIDs(), settings: shortSettings(), log: log})
	if res != nil && res.WorkDir != "" {
		t.Logf("the processes' logs are in %s", res.WorkDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Classes) != len(devClassIDs()) {
		t.Fatalf("%d classes ran, want %d", len(res.Classes), len(devClassIDs()))
	}
	for _, c := range res.Classes {
		t.Logf("class %d %-16s cases %d completed %d stuck %d duplicates %d lost %d slowest recovery %s; %s",
			c.Class, c.Key, c.Cases, c.Completed, c.Stuck, c.Duplicates, c.Lost, c.SlowestRecovery.Round(100*time.Millisecond),
			strings.Join(c.Injected, "; "))
		if len(c.Injected) == 0 {
			t.Errorf("class %d injected nothing: the cases ended before the fault", c.Class)
		}
		for _, p := range c.Problems {
			t.Errorf("class %d (%s): %s", c.Class, c.Key, p)
		}
		if !c.ok() && len(c.Problems) == 0 {
			t.Errorf("class %d (%s): %d of %d completed", c.Class, c.Key, c.Completed, c.Cases)
		}
	}
}

// TestReportTables: the report renders tab-separated figures as Markdown
// tables and says so when a file is missing.
func TestReportTables(t *testing.T) {
	dir := t.TempDir()
	tsv := filepath.Join(dir, "h.tsv")
	if err := os.WriteFile(tsv, []byte("request\texpected\tresult\nSQL | pipe\t404 case_not_found\tpass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "R.md")
	res := &suiteResult{Started: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), Took: 90 * time.Second, Settings: shortSettings(),
		Classes: []*classResult{
			{Class: 1, Key: "worker-kill", Title: "worker killed", Cases: 2, Completed: 2, SlowestRecovery: 1234 * time.Millisecond, Injected: []string{"worker SIGKILLed 3 times"}},
			{Class: 3, Key: "hms-faults", Title: "100ms faults", Cases: 2, Completed: 1, Stuck: 1, Continuous: true, Problems: []string{"case x stuck"}},
		}}
	if err := writeReport(out, res, reportInputs{hostile: tsv}, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| 1 | worker killed | 2 | 2 | 0 | 0 | 0 | 1.2s |",
		"| 3 | 100ms faults | 2 | 1 | 1 | 0 | 0 | 0s ¹ |",
		"| request | expected | result |\n|---|---|---|\n| SQL \\| pipe | 404 case_not_found | pass |",
		"- class 3: case x stuck",
		"_Not run in this `make chaos`._",
		"worker SIGKILLed 3 times",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q:\n%s", want, b)
		}
	}
}

// testWriter sends the driver's log to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
