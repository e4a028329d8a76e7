// Command simulator runs the 100ms simulator alone, configured by the
// environment through internal/platform/config like every program: its HMSSIM_*
// variables (HMSSIM_ADDR is the listen address) and the HMS_* and S3_*
// variables it shares with the engine, so that it accepts the engine's
// tokens, signs webhooks the way the API checks them and writes recordings
// into the engine's bucket.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("simulator stopped", "err", err)
		os.Exit(1)
	}
}

// simulatorConfig is the simulated workspace the configuration describes.
func simulatorConfig(c config.Config) (hmssim.Config, error) {
	cfg := hmssim.Config{
		AccessKey:           c.HMS.AccessKey,
		AppSecret:           c.HMS.AppSecret,
		WebhookURL:          c.Sim.WebhookURL,
		WebhookHeaders:      map[string]string{c.HMS.WebhookHeader: c.HMS.WebhookSecret},
		Bucket:              c.S3.Bucket,
		Prefix:              c.HMS.RecordingPrefix,
		RecordingStartDelay: time.Duration(c.Sim.RecordingStartDelay),
		RecordingReadyDelay: time.Duration(c.Sim.RecordingReadyDelay),
		AbnormalLeaveDelay:  time.Duration(c.Sim.AbnormalLeaveDelay),
	}
	store, err := hmssim.NewMinIOStore(c.S3.Endpoint, c.S3.AccessKey, c.S3.SecretKey, c.S3.Secure)
	if err != nil {
		return hmssim.Config{}, err
	}
	cfg.Storage = store
	if c.Sim.Faults != "" {
		f, err := hmssim.ParseFaults([]byte(c.Sim.Faults))
		if err != nil {
			return hmssim.Config{}, fmt.Errorf("%s: %w", config.EnvSimFaults, err)
		}
		cfg.Faults = f
	}
	return cfg, nil
}

func run(log *slog.Logger) error {
	c, err := config.Load()
	if err != nil {
		return err
	}
	cfg, err := simulatorConfig(c)
	if err != nil {
		return err
	}
	cfg.Logger = log
	addr := c.Sim.Addr
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
