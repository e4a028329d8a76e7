package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// Scenario 3: at half of scenario 1's throughput (a steady load, not
// saturation), how long a webhook takes to show in the case, and how long
// the agent's and auditor's requests take.

const latencyTarget = 250 * time.Millisecond

type steadyRaw struct {
	RatePerSecond    float64            `json:"rate_cases_per_second"`
	Started          int                `json:"cases_started"`
	Completed        int                `json:"cases_completed"`
	Failed           int                `json:"cases_failed"`
	WallSeconds      float64            `json:"wall_seconds"`
	PollMS           float64            `json:"poll_ms"`
	Effect           summary            `json:"webhook_to_effect"`
	EffectByKind     map[string]summary `json:"webhook_to_effect_by_kind"`
	EffectsUnmatched int                `json:"effects_unmatched"`
	Capture          summary            `json:"capture_request"`
	Decision         summary            `json:"decision_request"`
	Audit            summary            `json:"audit_request"`
	ProbeSignal      summary            `json:"baseline_signal_to_query"`
	ProbeUpdate      summary            `json:"baseline_update"`
	Errors           map[string]int     `json:"errors,omitempty"`
	CPUSeconds       map[string]float64 `json:"cpu_seconds"`
}

func (b *bench) scenarioSteady(ctx context.Context) error {
	sz := b.o.sz
	if b.throughput <= 0 {
		return fmt.Errorf("scenario 1 measured no throughput to take half of")
	}
	rate := b.throughput / 2
	n := max(int(sz.SteadyFor.Seconds()*rate), 1)
	interval := time.Duration(float64(time.Second) / rate)
	d, err := b.newCaseDriver(sz.SteadyPoll, b.proxy)
	if err != nil {
		return err
	}
	b.proxy.record(true)
	defer b.proxy.record(false)

	pctx, stopProbe := context.WithCancel(ctx)
	probe := make(chan probeResult, 1)
	go func() { probe <- b.runProbe(pctx, sz.SteadyPoll) }()

	logf("3: %d cases, one every %s (%.2f cases/s)", n, interval.Round(time.Millisecond), rate)
	results := make([]caseResult, n)
	var wg sync.WaitGroup
	start := time.Now()
	b.meter.begin()
	for i := range n {
		if err := sleepCtx(ctx, time.Until(start.Add(time.Duration(i)*interval))); err != nil {
			break
		}
		wg.Go(func() {
			results[i] = d.run(ctx, fmt.Sprintf("bench-steady-agent-%d", i), fmt.Sprintf("bench-steady-auditor-%d", i))
		})
	}
	wg.Wait()
	wall := time.Since(start)
	cpu := b.meter.since()
	stopProbe()
	pr := <-probe

	raw := steadyRaw{RatePerSecond: round(rate, 3), Started: n, WallSeconds: round(wall.Seconds(), 2),
		PollMS: ms(sz.SteadyPoll), EffectByKind: map[string]summary{}, CPUSeconds: cpu,
		ProbeSignal: summarize(pr.signal), ProbeUpdate: summarize(pr.update)}
	var errs errorCount
	var all, caps, dec, aud []time.Duration
	byKind := map[string][]time.Duration{}
	for _, r := range results {
		if r.err != nil {
			errs.add(r.err)
			raw.Failed++
			continue
		}
		raw.Completed++
		caps = append(caps, r.captures...)
		dec = append(dec, r.decision)
		aud = append(aud, r.audit)
		raw.EffectsUnmatched += r.unmatched
		for k, v := range r.effects {
			byKind[k] = append(byKind[k], v)
			all = append(all, v)
		}
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		raw.EffectByKind[k] = summarize(byKind[k])
	}
	raw.Effect, raw.Capture, raw.Decision, raw.Audit = summarize(all), summarize(caps), summarize(dec), summarize(aud)
	raw.Errors = errs.snapshot()
	b.report.Raw["3_engine"] = raw

	under := func(s summary) *bool { return yes(s.N > 0 && s.P99 < ms(latencyTarget)) }
	pp := func(s summary) string { return fmt.Sprintf("%.0f / %.0f ms", s.P50, s.P99) }
	load := fmt.Sprintf("at %.2f cases/s (half of 1), %d cases, %d failed", rate, n, raw.Failed)
	b.report.add(row{
		Scenario: "3", Figure: fmt.Sprintf("Webhook 200 → visible in the case query, p50 / p99 (%d effects %s; poll %s)", raw.Effect.N, load, sz.SteadyPoll),
		Value: pp(raw.Effect), Baseline: pp(raw.ProbeSignal) + " (bare signal → query)",
		ratio: ratioOf(raw.Effect.P99, raw.ProbeSignal.P99), Target: "p99 < 250 ms", met: under(raw.Effect),
	})
	for _, x := range []struct {
		name string
		s    summary
	}{
		{fmt.Sprintf("Capture request (%d KiB), p50 / p99", sz.CapturesKiB), raw.Capture},
		{"Decision request, p50 / p99", raw.Decision},
		{"Audit request, p50 / p99", raw.Audit},
	} {
		b.report.add(row{
			Scenario: "3", Figure: x.name, Value: pp(x.s), Baseline: pp(raw.ProbeUpdate) + " (bare update, completed)",
			ratio: ratioOf(x.s.P99, raw.ProbeUpdate.P99), Target: "p99 < 250 ms", met: under(x.s),
		})
	}
	return nil
}

type probeResult struct{ signal, update []time.Duration }

// runProbe measures, twice a second until ctx ends, a signal to a bare
// workflow until a query shows it, and an update waiting for completion.
func (b *bench) runProbe(ctx context.Context, poll time.Duration) probeResult {
	var r probeResult
	id := "bench-probe-" + randomHex(4)
	bg := context.WithoutCancel(ctx)
	if _, err := b.tc.ExecuteWorkflow(bg, bareStartOptions(id, b.bareQueue), probeWorkflowName); err != nil {
		logf("3: probe: %v", err)
		return r
	}
	defer func() { _ = b.tc.TerminateWorkflow(bg, id, "", "probe done") }()
	seen := 0
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return r
		case <-tick.C:
		}
		t := time.Now()
		if err := b.tc.SignalWorkflow(bg, id, "", bareSignal, nil); err != nil {
			continue
		}
		seen++
		for time.Since(t) < 30*time.Second {
			var got int
			v, err := b.tc.QueryWorkflow(bg, id, "", probeQuery)
			if err == nil && v.Get(&got) == nil && got >= seen {
				r.signal = append(r.signal, time.Since(t))
				break
			}
			if sleepCtx(bg, poll) != nil {
				break
			}
		}
		t = time.Now()
		h, err := b.tc.UpdateWorkflow(bg, client.UpdateWorkflowOptions{
			WorkflowID: id, UpdateName: bareUpdate, UpdateID: randomHex(8), WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil && h.Get(bg, nil) == nil {
			r.update = append(r.update, time.Since(t))
		}
	}
}
