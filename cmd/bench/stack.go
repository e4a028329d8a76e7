package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	temporallog "go.temporal.io/sdk/log"

	"github.com/vkyc-engine/vkyc/internal/testkit/stack"
)

// The benchmark's processes run in internal/testkit/stack; what is its own
// is measuring them.

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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

// quietTemporalLogger keeps the SDK's routine messages out of the figures'
// output; warnings still show.
func quietTemporalLogger() temporallog.Logger {
	return temporallog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
