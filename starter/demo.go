package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

// defaultTemporalUI is where `make dev` serves the Temporal Web UI.
const defaultTemporalUI = "http://127.0.0.1:8233"

func (c *cli) demo(ctx context.Context, args []string) error {
	fs := c.newFlags("demo", "[flags]")
	api := addAPIBaseFlag(fs)
	sim := fs.String("sim", "", "base URL of the 100ms simulator (default: HMS_BASE_URL without /v2)")
	ui := fs.String("ui", defaultTemporalUI, "Temporal Web UI, for the link to the case's workflow (empty: no link)")
	wait := fs.Duration("wait", 2*time.Minute, "longest wait for any one step (the recording takes the longest)")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if *wait <= 0 {
		return usagef("demo: --wait must be positive")
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if *sim == "" {
		if *sim, err = simulatorBase(cfg); err != nil {
			return err
		}
	}
	view, err := apiclient.Run(ctx, apiclient.Options{
		APIBase: orDefault(*api, cfg.PublicBaseURL), SimBase: *sim,
		Secret:     []byte(cfg.AuthSecret),
		TemporalUI: *ui, Namespace: cfg.Temporal.Namespace,
		Out: c.out, WaitTimeout: *wait,
	})
	if err != nil {
		if view.ID != "" && *ui != "" {
			fmt.Fprintf(c.errOut, "case %s in the Temporal Web UI: %s\n", view.ID,
				apiclient.WorkflowURL(*ui, cfg.Temporal.Namespace, view.ID))
		}
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// simulatorBase derives the simulator's root from the 100ms base URL, which
// points at the simulator's /v2 in development. Against the real 100ms there
// is nobody to join the call, so the demo needs --sim.
func simulatorBase(cfg config.Config) (string, error) {
	u, err := url.Parse(cfg.HMS.BaseURL)
	if err != nil {
		return "", fmt.Errorf("demo: HMS_BASE_URL: %w", err)
	}
	if strings.HasSuffix(u.Hostname(), "100ms.live") {
		return "", usagef("demo: HMS_BASE_URL is the real 100ms, which has no participant API; give --sim URL")
	}
	return strings.TrimSuffix(strings.TrimRight(cfg.HMS.BaseURL, "/"), "/v2"), nil
}
