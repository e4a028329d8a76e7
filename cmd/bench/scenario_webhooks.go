package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Scenario 2: webhook intake against plain inserts of the same rows.

type throughputRaw struct {
	N           int                `json:"n"`
	Concurrency int                `json:"concurrency"`
	Failed      int                `json:"failed"`
	WallSeconds float64            `json:"wall_seconds"`
	PerSecond   float64            `json:"per_second"`
	Latency     summary            `json:"latency"`
	Errors      map[string]int     `json:"errors,omitempty"`
	CPUSeconds  map[string]float64 `json:"cpu_seconds,omitempty"`
}

type webhookEvent struct {
	id, typ, room, caseID string
	body                  []byte
}

// webhookEvents makes n distinct, valid events: the lifecycle of a call
// (session open, two joins, two leaves, session close) in rooms named like
// the engine's, for cases that do not exist.
func webhookEvents(n int, appID string) []webhookEvent {
	types := []string{hms.EventSessionOpen, hms.EventPeerJoin, hms.EventPeerJoin, hms.EventPeerLeave, hms.EventPeerLeave, hms.EventSessionClose}
	roles := []string{"", "agent", "customer", "agent", "customer", ""}
	out := make([]webhookEvent, 0, n)
	var caseID, roomID, sessionID string
	for i := range n {
		k := i % len(types)
		if k == 0 {
			caseID, roomID, sessionID = uuid.NewString(), randomHex(12), randomHex(12)
		}
		now := time.Now().UTC()
		data := map[string]any{
			"room_id": roomID, "room_name": kyc.RoomName(caseID, 1), "session_id": sessionID,
			"template_id": randomHex(12), "session_started_at": now.Format(time.RFC3339Nano),
		}
		if roles[k] != "" {
			data["peer_id"] = uuid.NewString()
			data["user_id"] = roles[k] + "-" + caseID
			data["user_name"] = "Bench " + roles[k]
			data["role"] = roles[k]
			data["type"] = "regular"
			data["joined_at"] = now.Format(time.RFC3339Nano)
			if types[k] == hms.EventPeerLeave {
				data["left_at"] = now.Format(time.RFC3339Nano)
				data["reason"] = "client request"
				data["duration"] = 60
			}
		}
		id := uuid.NewString()
		body, _ := json.Marshal(map[string]any{
			"version": "2.0", "id": id, "app_id": appID, "account_id": appID,
			"timestamp": now.Format(time.RFC3339), "type": types[k], "data": data,
		})
		out = append(out, webhookEvent{id: id, typ: types[k], room: kyc.RoomName(caseID, 1), caseID: caseID, body: body})
	}
	return out
}

func (b *bench) scenarioWebhooks(ctx context.Context) error {
	sz := b.o.sz
	appID := randomHex(12)
	if _, err := b.pg.Exec(ctx, "CREATE TABLE bench_inbox (LIKE webhook_inbox INCLUDING ALL)"); err != nil {
		return fmt.Errorf("create the baseline's table: %w", err)
	}
	defer func() { _, _ = b.pg.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS bench_inbox") }()

	// Warm both paths (connections, plans) with events not counted.
	warm := webhookEvents(min(200, sz.Webhooks), appID)
	b.postWebhooks(ctx, warm, sz.WebhookConc)
	b.insertRows(ctx, warm, sz.WebhookConc)
	b.settle(ctx)

	base := b.insertRows(ctx, webhookEvents(sz.Webhooks, appID), sz.WebhookConc)
	logf("2: baseline %.0f inserts/s", base.PerSecond)
	b.settle(ctx)
	eng := b.postWebhooks(ctx, webhookEvents(sz.Webhooks, appID), sz.WebhookConc)
	logf("2: engine %.0f webhooks/s", eng.PerSecond)
	b.report.Raw["2_engine"] = eng
	b.report.Raw["2_baseline"] = base

	b.report.add(row{
		Scenario: "2", Figure: fmt.Sprintf("Webhook intake, %d events at concurrency %d", sz.Webhooks, sz.WebhookConc),
		Value:    fmt.Sprintf("%.0f events/s (%d failed)", eng.PerSecond, eng.Failed),
		Baseline: fmt.Sprintf("%.0f inserts/s", base.PerSecond),
		ratio:    ratioOf(eng.PerSecond, base.PerSecond), higherBetter: true, need: 0.7, Target: "≥ 0.7 of baseline",
		TemporalStore: "— (the dispatcher settles these events without a signal)",
	})
	b.report.add(row{
		Scenario: "2", Figure: "Webhook latency p50 / p99",
		Value:    fmt.Sprintf("%.1f / %.1f ms", eng.Latency.P50, eng.Latency.P99),
		Baseline: fmt.Sprintf("%.1f / %.1f ms", base.Latency.P50, base.Latency.P99),
		ratio:    ratioOf(eng.Latency.P99, base.Latency.P99), Target: "—", TemporalStore: "—",
	})
	return nil
}

func (b *bench) postWebhooks(ctx context.Context, evs []webhookEvent, conc int) throughputRaw {
	var lat samples
	var errs errorCount
	hc := b.client.HTTP
	b.meter.begin()
	wall := runPool(len(evs), conc, func(_, i int) {
		t := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.apiURL+"/v1/webhooks/100ms", bytes.NewReader(evs[i].body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhookHeader, b.webhookSecret)
		resp, err := hc.Do(req)
		if err == nil {
			var ans struct {
				Status string `json:"status"`
			}
			err = json.NewDecoder(resp.Body).Decode(&ans)
			_ = resp.Body.Close() // fully decoded above
			if err == nil && (resp.StatusCode != http.StatusOK || ans.Status != "accepted") {
				err = fmt.Errorf("HTTP %d %s", resp.StatusCode, ans.Status)
			}
		}
		if err != nil {
			errs.add(err)
			return
		}
		lat.add(time.Since(t))
	})
	return throughputOf(len(evs), conc, wall, lat.all(), &errs, b.meter.since())
}

// insertRows is the baseline: the row the API stores for each event, as a
// plain parameterized INSERT, one statement per event as the API does.
func (b *bench) insertRows(ctx context.Context, evs []webhookEvent, conc int) throughputRaw {
	var lat samples
	var errs errorCount
	const q = `INSERT INTO bench_inbox (event_id, type, room_name, case_id, body, body_hash, state, attempts, last_error, received_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, '', $7, $7) ON CONFLICT (event_id) DO NOTHING`
	b.meter.begin()
	wall := runPool(len(evs), conc, func(_, i int) {
		t := time.Now()
		e := evs[i]
		sum := sha256.Sum256(e.body)
		if _, err := b.pg.Exec(ctx, q, e.id, e.typ, e.room, e.caseID, e.body, hex.EncodeToString(sum[:]), time.Now().UTC()); err != nil {
			errs.add(err)
			return
		}
		lat.add(time.Since(t))
	})
	return throughputOf(len(evs), conc, wall, lat.all(), &errs, b.meter.since())
}

func throughputOf(n, conc int, wall time.Duration, lat []time.Duration, errs *errorCount, cpu map[string]float64) throughputRaw {
	return throughputRaw{
		N: n, Concurrency: conc, Failed: n - len(lat), WallSeconds: round(wall.Seconds(), 3),
		PerSecond: round(float64(len(lat))/wall.Seconds(), 1), Latency: summarize(lat), Errors: errs.snapshot(), CPUSeconds: cpu,
	}
}
