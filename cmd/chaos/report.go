package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// reportInputs are the figures of the other checks that `make chaos` runs
// before the fault suite, as tab-separated files with a header line.
type reportInputs struct {
	hostile string // from TestHostileRequests (VKYC_HOSTILE_REPORT)
	fuzz    string // .run/fuzz/summary.tsv from scripts/fuzz.sh
	checks  string // name, command, result of the further tests scripts/chaos.sh ran
}

// writeReport writes docs/RELIABILITY.md. Every figure in it comes from
// this run or from the files of the runs named in it.
func writeReport(path string, res *suiteResult, in reportInputs, root string) error {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Reliability and security\n\n")
	w("Written by `make chaos` on %s from commit %s on a machine with %d CPUs. Do not edit by hand: run `make chaos` again.\n\n",
		res.Started.UTC().Format("2006-01-02 15:04 MST"), gitRevision(root), runtime.NumCPU())

	w("## Fault suite\n\n")
	set := res.Settings
	w("Each fault class ran its own batch of %d concurrent cases through the real API, worker and 100ms simulator (processes built with `go build`) ", set.casesPerClass)
	w("on PostgreSQL, MinIO and the Temporal dev server started by the driver (`cmd/chaos/`), while one fault class was injected; ")
	w("class 9 ran on the production topology of `make prod-local` instead (`scripts/prod-local.sh` on ports of its own: the real Temporal server on PostgreSQL, two workers, two API replicas behind HAProxy, which the cases and the simulator's webhooks went through). ")
	w("The cases follow scripts (approve: call, three captures, agent approves, recording verified, auditor approves; reject: the agent rejects; cancel: the bank cancels before the call) ")
	w("and retry as a careful client does: the same Idempotency-Key, while the answer is none, 429 or 5xx. The whole suite took %s.\n\n", res.Took.Round(time.Second))
	w("| # | fault | cases | completed as expected | stuck | duplicates | lost | slowest recovery |\n")
	w("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range res.Classes {
		rec := c.SlowestRecovery.Round(100 * time.Millisecond).String()
		if c.Continuous {
			rec += " ¹"
		}
		w("| %d | %s | %d | %d | %d | %d | %d | %s |\n", c.Class, c.Title, c.Cases, c.Completed, c.Stuck, c.Duplicates, c.Lost, rec)
	}
	w("\nWhat the columns count:\n\n")
	w("- **completed as expected**: the case ended in the status its script expects, in its first attempt (a cancelled case has none).\n")
	w("- **stuck**: not in a final status by the deadline (%s per batch).\n", set.caseDeadline)
	w("- **duplicates**: a 100ms room existing twice or for an attempt the case never had; two captures of one kind in one attempt; an object in the bucket that no capture points to; a webhook event applied twice to a case's event log; in the two-replica class, a webhook event signalled to its workflow more than once.\n")
	w("- **lost**: a capture answered 201 but missing from its case, or whose object is missing or differs; a verified recording missing from the bucket; an event chain that does not verify or lacks the final status; a database projection that disagrees with the log; a webhook event the simulator gave up on, or answered 200 but not in the inbox or not applied.\n")
	w("- **slowest recovery**: after an outage, the longest time from the component's return (process restarted, service started) until every case then in flight completed its next step. ")
	w("¹ For faults present the whole time (classes 3, 4 and 8) there is no return: the figure is the longest any case waited between two steps.\n\n")

	w("### What was injected\n\n")
	for _, c := range res.Classes {
		w("- %d. %s: %s (batch took %s).", c.Class, c.Key, strings.Join(c.Injected, "; "), c.Took.Round(time.Second))
		if len(c.Measured) > 0 {
			w(" %s.", strings.Join(c.Measured, "; "))
		}
		w("\n")
	}
	w("\n### Findings\n\n")
	found := false
	for _, c := range res.Classes {
		for _, p := range c.Problems {
			w("- class %d: %s\n", c.Class, p)
			found = true
		}
	}
	if !found {
		w("None: every case of every class ended as its script expects, with nothing stuck, duplicated or lost.\n")
	}

	w("\n## Hostile input\n\n")
	writeTable(&b, in.hostile, "`TestHostileRequests` (`api/requests_hostile_test.go`) sends each request to the API running on the real services and checks the status and that every table of the database, every object of the bucket and both cases' workflow views are unchanged afterwards.")

	w("\n## Fuzzing\n\n")
	writeTable(&b, in.fuzz, "The figures of the last `make fuzz` (`scripts/fuzz.sh`, one fuzzing worker per target). "+
		"The seed corpora in `testdata/fuzz/` (with every crashing input found, kept after the fix) run in every `go test`.")

	if kept := regressionInputs(root); len(kept) > 0 {
		w("\nCrashing inputs found by fuzzing, fixed and kept in the corpora: %s.\n", strings.Join(kept, ", "))
	}

	w("\n## Further checks of this run\n\n")
	writeTable(&b, in.checks, "")

	w("\n## Reproduce\n\n")
	w("```sh\n")
	w("make chaos                      # everything on this page; writes it (about %s here)\n", (res.Took + 2*time.Minute).Round(time.Minute))
	w("make fuzz                       # every fuzz target for FUZZTIME (default 5m); .run/fuzz/summary.tsv\n")
	w("go run ./cmd/chaos -classes 5 -cases 4 -keep    # one fault class; logs stay in the printed folder\n")
	w("go test -run TestShortFaultSuite ./cmd/chaos     # the short variant that runs in make test\n")
	w("go test -run TestHostileRequests ./api       # with the services of make services\n")
	w("go test -run TestWholeRunLogsAndStorage ./internal/testkit/e2e\n")
	w("```\n")
	return os.WriteFile(path, b.Bytes(), 0o644) // #nosec G306 -- documentation
}

// writeTable renders a tab-separated file as a Markdown table.
func writeTable(b *bytes.Buffer, path, intro string) {
	if intro != "" {
		b.WriteString(intro + "\n\n")
	}
	if path == "" {
		b.WriteString("_Not run in this `make chaos`._\n")
		return
	}
	data, err := os.ReadFile(path) // #nosec G304 -- a file named on our command line
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		fmt.Fprintf(b, "_No figures: %s could not be read (%v)._\n", path, err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i, line := range lines {
		cells := strings.Split(line, "\t")
		for j := range cells {
			cells[j] = strings.ReplaceAll(cells[j], "|", "\\|")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		if i == 0 {
			b.WriteString(strings.Repeat("|---", len(cells)) + "|\n")
		}
	}
}

func gitRevision(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output() // #nosec G204 -- git on the repository folder
	if err != nil {
		return "(unknown)"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 { // #nosec G204 -- git on the repository folder
		rev += " with uncommitted changes"
	}
	return rev
}

// regressionInputs lists the corpus files named regress-*: inputs that
// once failed a fuzz target and now run in every go test.
func regressionInputs(root string) []string {
	var out []string
	for _, pattern := range []string{"*/testdata/fuzz/*/regress-*", "*/*/testdata/fuzz/*/regress-*"} {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, f := range m {
			if rel, err := filepath.Rel(root, f); err == nil {
				out = append(out, "`"+rel+"`")
			}
		}
	}
	return out
}
