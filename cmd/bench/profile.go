package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/testkit/stack"
)

// After the measured run, the scenario with the worst ratio (or the one
// asked for) runs again for a while with CPU profiles of the api, worker and
// simulator taken through their pprof hooks. The figures in the table never
// come from a profiled run.

type profileResult struct {
	Scenario   string             `json:"scenario"`
	Why        string             `json:"why"`
	Load       string             `json:"load"`
	Seconds    float64            `json:"seconds"`
	Files      map[string]string  `json:"files"`
	Top        map[string]string  `json:"top"`
	CPUSeconds map[string]float64 `json:"cpu_seconds"`
	// TemporalShares is where the Temporal server's CPU went (Linux perf).
	TemporalShares  []perfShare `json:"temporal_cpu_shares,omitempty"`
	TemporalSamples int         `json:"temporal_perf_samples,omitempty"`
	Errors          []string    `json:"errors,omitempty"`
}

func (b *bench) profileAfter(ctx context.Context) {
	target, why, hint := b.o.profile, "asked for with -profile", ""
	switch target {
	case "none":
		return
	case "worst":
		w, ok := b.report.worst()
		if !ok {
			return
		}
		target, hint = w.Scenario, w.profileHint
		why = fmt.Sprintf("worst ratio against its target: %q at %.2f (target %.2f)", w.Figure, w.ratio, w.need)
	}
	if !b.o.runs(target) || (target == "6" && len(b.openCases) == 0) {
		return
	}
	logf("profiling scenario %s for %s (%s)", target, b.o.sz.ProfileFor, why)
	pr := &profileResult{Scenario: target, Why: why, Files: map[string]string{}, Top: map[string]string{}}
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	procs := []*stack.Process{b.api, b.worker, b.sim}
	bins := map[string]string{"api": b.eng.Bin(stack.API), "worker": b.eng.Bin(stack.Worker), "simulator": b.eng.Bin(stack.Simulator)}
	profiling := make(chan struct{})
	go func() {
		defer close(profiling)
		var pw sync.WaitGroup
		for _, p := range procs {
			pw.Go(func() {
				path := filepath.Join(b.dir, "cpu-"+target+"-"+p.Name+".pprof")
				err := profileCPU(ctx, p, b.o.sz.ProfileFor, path)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					pr.Errors = append(pr.Errors, err.Error())
					return
				}
				pr.Files[p.Name] = path
			})
		}
		pw.Wait()
	}()
	perfPath := filepath.Join(b.dir, "perf-temporal-"+target+".data")
	perfDone, perfErr := perfRecord(ctx, b.svc.TemporalPID, b.o.sz.ProfileFor, perfPath)
	if perfErr != nil {
		pr.Errors = append(pr.Errors, "Temporal server not sampled: "+perfErr.Error())
	}
	// A meter of its own: the load's phases reset the scenarios' meter.
	meter := newCPUMeter(b.meter.groups)
	meter.begin()
	start := time.Now()
	wg.Go(func() { pr.Load = b.profileLoad(pctx, target, hint, profiling) })
	<-profiling
	if perfDone != nil {
		if err := perfDone(); err != nil {
			pr.Errors = append(pr.Errors, "perf record: "+err.Error())
		} else if shares, n, err := perfShares(ctx, perfPath); err != nil {
			pr.Errors = append(pr.Errors, err.Error())
		} else {
			pr.TemporalShares, pr.TemporalSamples = shares, n
		}
	}
	stop()
	wg.Wait()
	pr.Seconds = round(time.Since(start).Seconds(), 1)
	pr.CPUSeconds = meter.since()
	for name, path := range pr.Files {
		top, err := pprofTop(ctx, b.o.root, bins[name], path)
		if err != nil {
			pr.Errors = append(pr.Errors, err.Error())
			continue
		}
		pr.Top[name] = top
	}
	b.report.Profile = pr
	b.settleWithin(ctx, time.Minute)
}

// profileLoad drives the scenario's engine side until profiling ends.
// hint narrows the load where a scenario has several figures (the upload
// size of scenario 4).
func (b *bench) profileLoad(ctx context.Context, scenario, hint string, until <-chan struct{}) string {
	sz := b.o.sz
	var stopped atomic.Bool
	go func() {
		<-until
		stopped.Store(true)
	}()
	keepGoing := func() bool { return !stopped.Load() && ctx.Err() == nil }
	var done atomic.Int64
	switch scenario {
	case "1", "3":
		d, err := b.newCaseDriver(sz.Poll, nil)
		if err != nil {
			return err.Error()
		}
		var wg sync.WaitGroup
		for w := range sz.CaseConcurrency {
			wg.Go(func() {
				for keepGoing() {
					// In-flight cases finish after the profile ends.
					if r := d.run(context.WithoutCancel(ctx), fmt.Sprintf("bench-agent-%d", w), fmt.Sprintf("bench-auditor-%d", w)); r.err == nil {
						done.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return fmt.Sprintf("%d cases completed at concurrency %d", done.Load(), sz.CaseConcurrency)
	case "2":
		for keepGoing() {
			r := b.postWebhooks(ctx, webhookEvents(sz.WebhookConc*20, randomHex(12)), sz.WebhookConc)
			done.Add(int64(r.N - r.Failed))
		}
		return fmt.Sprintf("%d webhooks at concurrency %d", done.Load(), sz.WebhookConc)
	case "4":
		d, err := b.newCaseDriver(sz.Poll, nil)
		if err != nil {
			return err.Error()
		}
		size := 8 << 20
		if hint == "1mib" {
			size = 1 << 20
		}
		sample, err := jpegOfSize(size)
		if err != nil {
			return err.Error()
		}
		f, err := apiclient.NewCaptureUpload(sample)
		if err != nil {
			return err.Error()
		}
		var wg sync.WaitGroup
		for w := range sz.UploadConc {
			wg.Go(func() {
				agent := fmt.Sprintf("bench-profile-uploader-%d", w)
				for keepGoing() {
					id, err := d.caseInCall(ctx, agent)
					if err != nil {
						return
					}
					for range capturesPerCase {
						if !keepGoing() {
							break
						}
						if _, _, err := b.client.Upload(ctx, b.client.token(agent, kyc.RoleAgent), id, apiclient.NewKey(), f); err != nil {
							break
						}
						done.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return fmt.Sprintf("%d uploads of %d MiB at concurrency %d", done.Load(), size>>20, sz.UploadConc)
	case "5":
		for keepGoing() && done.Load() < int64(sz.ProfileOpenCases) {
			r, _, _ := b.openEngineCases(ctx, min(500, sz.ProfileOpenCases), sz.OpenConc)
			done.Add(int64(r.N - r.Failed))
		}
		return fmt.Sprintf("%d cases created at concurrency %d", done.Load(), sz.OpenConc)
	case "6":
		for keepGoing() {
			r := b.timed(1000, sz.ReadConc, func(_, _ int) error {
				_, err := b.client.Case(ctx, b.client.service(), b.openCases[int(done.Load())%len(b.openCases)])
				return err
			})
			done.Add(int64(r.N - r.Failed))
		}
		return fmt.Sprintf("%d reads at concurrency %d", done.Load(), sz.ReadConc)
	}
	<-until
	return "no load"
}

func pprofTop(ctx context.Context, root, bin, path string) (string, error) {
	var out strings.Builder
	for _, mode := range [][]string{{"-top", "-nodecount=20"}, {"-top", "-cum", "-nodecount=30"}} {
		args := append([]string{"tool", "pprof"}, mode...)
		cmd := exec.CommandContext(ctx, "go", append(args, bin, path)...) // #nosec G204 -- go tool pprof on a binary and profile of this run
		cmd.Dir = root
		b, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("go tool pprof %s: %w: %s", path, err, b)
		}
		out.Write(b)
		out.WriteString("\n")
	}
	return out.String(), nil
}

func (p *profileResult) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## CPU profile of scenario %s\n\n", p.Scenario)
	fmt.Fprintf(&b, "Why: %s. Taken in a separate run after the measured one (%s, %.0f s); the table's figures are "+
		"not from a profiled run. Profiles are in %s.\n\n", p.Why, p.Load, p.Seconds, "`.run/bench/<run>/`")
	if len(p.CPUSeconds) > 0 {
		b.WriteString("CPU seconds during the profile: ")
		var parts []string
		for _, k := range []string{"api", "worker", "simulator", "temporal", "postgres", "minio", "bench"} {
			parts = append(parts, fmt.Sprintf("%s %.1f", k, p.CPUSeconds[k]))
		}
		b.WriteString(strings.Join(parts, ", ") + ".\n\n")
	}
	if len(p.TemporalShares) > 0 {
		fmt.Fprintf(&b, "Temporal dev server (no pprof listener; Linux perf, %d samples), by the server operation on the "+
			"sample's stack:\n\n| operation | share of its CPU |\n|---|---|\n", p.TemporalSamples)
		for _, s := range p.TemporalShares {
			fmt.Fprintf(&b, "| %s | %.1f %% |\n", s.Category, s.Percent)
		}
		b.WriteString("\n")
	}
	for _, name := range []string{"api", "worker", "simulator"} {
		if t, ok := p.Top[name]; ok {
			fmt.Fprintf(&b, "<details><summary>%s: top functions (flat, then cumulative)</summary>\n\n```\n%s```\n</details>\n\n", name, t)
		}
	}
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "- profile error: %s\n", e)
	}
	return b.String()
}

// profileCPU fetches a CPU profile of d from p's pprof hook into path.
func profileCPU(ctx context.Context, p *stack.Process, d time.Duration, path string) error {
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.PprofAddr, secs)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := (&http.Client{Timeout: d + time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", p.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: HTTP %d", p.Name, resp.StatusCode)
	}
	f, err := os.Create(path) // #nosec G304 -- a path in our own work directory
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("profile %s: %w", p.Name, err)
	}
	return nil
}
