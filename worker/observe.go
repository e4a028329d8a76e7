package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics is the worker's Prometheus registry (Go and process collectors)
// with the Temporal SDK's own metrics (polls, task latencies, schedule to
// start, activity failures, sticky cache) exported into it through the
// SDK's OpenTelemetry handler, the maintained way to the SDK's metrics.
type Metrics struct {
	Registry *prometheus.Registry
	// Handler goes into client.Options.MetricsHandler.
	Handler  client.MetricsHandler
	provider *sdkmetric.MeterProvider
}

// NewMetrics builds the registry and the SDK's metrics handler; the
// handler's errors (a metric the exporter refuses) are logged, never fatal.
func NewMetrics(log *slog.Logger) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	h := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError:              func(err error) { log.Warn("temporal metric refused", "error", err) },
	})
	return &Metrics{Registry: reg, Handler: h, provider: provider}, nil
}

// Close flushes and stops the meter provider.
func (m *Metrics) Close(ctx context.Context) error { return m.provider.Shutdown(ctx) }

// Check is one readiness check of a dependency.
type Check func(context.Context) error

// Serve serves /metrics, /healthz (the process answers) and /readyz (each
// check passes within checkTimeout; the failing ones are named, their
// reasons logged) on addr until ctx ends. It returns once listening, with
// the address it listens on (addr may have port 0).
func Serve(ctx context.Context, addr string, m *Metrics, checks map[string]Check, log *slog.Logger) (string, <-chan error, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry, Timeout: 10 * time.Second}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { readyz(w, r, checks, log) })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr().String(), done, nil
}

const checkTimeout = 2 * time.Second

func readyz(w http.ResponseWriter, r *http.Request, checks map[string]Check, log *slog.Logger) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]string{}
	var down []string
	for name, check := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
			defer cancel()
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out[name] = "down"
				down = append(down, name)
				log.Warn("readiness check failed", "dependency", name, "error", err)
				return
			}
			out[name] = "ok"
		})
	}
	wg.Wait()
	w.Header().Set("Cache-Control", "no-store")
	if len(down) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": out})
		return
	}
	slices.Sort(down)
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "checks": out,
		"error": map[string]string{"code": "not_ready", "message": "dependencies down: " + strings.Join(down, ", ")}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
