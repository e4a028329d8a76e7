// Command simulator runs the 100ms simulator alone, configured by environment
// variables (see hmssim.ConfigFromEnv; HMSSIM_ADDR is the listen address).
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vkyc-engine/vkyc/internal/hmssim"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("simulator stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := hmssim.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	cfg.Logger = log
	addr := os.Getenv("HMSSIM_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8090"
	}
	sim, err := hmssim.New(cfg)
	if err != nil {
		return err
	}
	defer sim.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: addr, Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("100ms simulator listening", "addr", addr, "api", "http://"+addr+"/v2",
		"webhook_url_set", cfg.WebhookURL != "", "bucket", cfg.Bucket)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
