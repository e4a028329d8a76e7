package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	temporallog "go.temporal.io/sdk/log"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

// historyEvent is one event of a workflow history with its payloads
// decoded.
type historyEvent struct {
	ID       int64     `json:"event_id"`
	Time     time.Time `json:"time"`
	Type     string    `json:"type"`
	Payloads []any     `json:"payloads,omitempty"`
}

// caseHistory prints the case workflow's history (its current run) with
// every payload decoded by the client's data converter, which opens
// payloads sealed with any key of PAYLOAD_CODEC_KEYS: what an operator
// sees in the Web UI through the codec endpoint, on the command line.
func (c *cli) caseHistory(ctx context.Context, args []string) error {
	fs := c.newFlags("case history", "ID [--json]")
	asJSON := fs.Bool("json", false, "print JSON (one array) instead of one line per event")
	positional, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usagef("case history: want exactly one case id, got %d arguments", len(positional))
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	opts, err := cfg.TemporalClientOptions()
	if err != nil {
		return err
	}
	opts.Logger = temporallog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("case history: connect to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	defer tc.Close()
	events, err := decodedHistory(ctx, tc, opts.DataConverter, kyc.WorkflowID(positional[0]))
	if err != nil {
		return fmt.Errorf("case history: %w", err)
	}
	if *asJSON {
		b, err := json.Marshal(events)
		if err != nil {
			return err
		}
		return c.printJSON(b)
	}
	for _, e := range events {
		line := fmt.Sprintf("%4d %s %s", e.ID, e.Time.UTC().Format("15:04:05.000"), e.Type)
		for _, p := range e.Payloads {
			b, _ := json.Marshal(p)
			line += " " + string(b)
		}
		fmt.Fprintln(c.out, line)
	}
	return nil
}

func decodedHistory(ctx context.Context, tc client.Client, dc converter.DataConverter, workflowID string) ([]historyEvent, error) {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	var out []historyEvent
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		he := historyEvent{ID: ev.GetEventId(), Time: ev.GetEventTime().AsTime(), Type: strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")}
		err = proxy.VisitPayloads(ctx, ev, proxy.VisitPayloadsOptions{
			SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				for _, p := range ps {
					var v any
					if err := dc.FromPayload(p, &v); err != nil {
						v = fmt.Sprintf("(not decoded: %v)", err)
					}
					he.Payloads = append(he.Payloads, v)
				}
				return ps, nil
			},
		})
		if err != nil {
			return nil, err
		}
		out = append(out, he)
	}
	return out, nil
}
