package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/codec"
	"github.com/vkyc-engine/vkyc/workflows"
)

// Scenario 6: GET /v1/cases/{id} of running cases, against the read it
// makes (the case row by primary key, every column), sent directly with pgx.
// The API answers reads from the projection; until it did, each read was a
// workflow query, which the third figure still times for comparison.

func (b *bench) scenarioRead(ctx context.Context) error {
	sz := b.o.sz
	ids := b.openCases
	if len(ids) == 0 {
		return fmt.Errorf("scenario 5 left no open cases to read")
	}
	pick := func() string { return ids[rand.IntN(len(ids))] } // #nosec G404 -- which case to read, not security

	direct := func(_, _ int) error {
		rows, err := b.pg.Query(ctx, `SELECT * FROM cases WHERE id = $1`, pick())
		if err != nil {
			return err
		}
		for rows.Next() {
			if _, err := rows.Values(); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		return rows.Err()
	}
	// The engine seals payloads with the development key (its default); the
	// bare workflows of the other scenarios take their input unsealed, so
	// only this client opens answers with the codec.
	sealed, err := client.NewClientFromExisting(b.tc, client.Options{Namespace: namespace,
		DataConverter: codec.DataConverter(codec.DevKeyring())})
	if err != nil {
		return err
	}
	defer sealed.Close()
	query := func(_, _ int) error {
		v, err := sealed.QueryWorkflow(ctx, kyc.WorkflowID(pick()), "", workflows.QueryCase)
		if err != nil {
			return err
		}
		var view kyc.CaseView
		return v.Get(&view)
	}
	viaAPI := func(_, _ int) error {
		_, err := b.client.Case(ctx, b.client.service(), pick())
		return err
	}
	warm := min(sz.Reads/10, 500)
	b.timed(warm, sz.ReadConc, direct)
	b.timed(warm, sz.ReadConc, viaAPI)
	b.timed(warm, sz.ReadConc, query)
	base := b.timed(sz.Reads, sz.ReadConc, direct)
	eng := b.timed(sz.Reads, sz.ReadConc, viaAPI)
	wq := b.timed(sz.Reads, sz.ReadConc, query)
	b.report.Raw["6_engine"] = eng
	b.report.Raw["6_baseline"] = base
	b.report.Raw["6_workflow_query"] = wq
	b.report.add(row{
		Scenario: "6", Figure: fmt.Sprintf("GET /v1/cases/{id} of %d open cases at concurrency %d, p50 / p99", len(ids), sz.ReadConc),
		Value:    fmt.Sprintf("%.1f / %.1f ms (%.0f reads/s; %d failed)", eng.Latency.P50, eng.Latency.P99, eng.PerSecond, eng.Failed),
		Baseline: fmt.Sprintf("%.1f / %.1f ms (%.0f reads/s) the case row by id with pgx", base.Latency.P50, base.Latency.P99, base.PerSecond),
		ratio:    ratioOf(eng.Latency.P99, base.Latency.P99), Target: "—", TemporalStore: "—",
	})
	b.report.add(row{
		Scenario: "6", Figure: "For comparison: the workflow query reads made before they came from the projection, p50 / p99",
		Value:    fmt.Sprintf("%.1f / %.1f ms (%.0f queries/s; %d failed) workflow query with the Temporal SDK", wq.Latency.P50, wq.Latency.P99, wq.PerSecond, wq.Failed),
		Baseline: "—", Target: "—", ratio: 0,
	})
	return nil
}

// timed runs n calls of f on conc goroutines and summarizes them.
func (b *bench) timed(n, conc int, f func(w, i int) error) throughputRaw {
	var lat samples
	var errs errorCount
	b.meter.begin()
	wall := runPool(n, conc, func(w, i int) {
		t := time.Now()
		if err := f(w, i); err != nil {
			errs.add(err)
			return
		}
		lat.add(time.Since(t))
	})
	return throughputOf(n, conc, wall, lat.all(), &errs, b.meter.since())
}
