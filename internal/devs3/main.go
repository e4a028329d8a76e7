// Command devs3 serves the embedded S3-compatible object store for `make dev`
// when S3_ENDPOINT is unset: on the endpoint internal/config then assumes
// (127.0.0.1:9000), from VKYC_DATA_DIR/s3, with the configured bucket.
//
// With -env-file it writes, once it listens, the S3_* variables a separate
// S3 client needs (the 100ms simulator uploads recordings with them), so the
// embedded store's fixed credentials are spelled in one place: internal/blob.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/vkyc-engine/vkyc/internal/blob"
	"github.com/vkyc-engine/vkyc/internal/config"
)

func main() {
	envFile := flag.String("env-file", "", "write S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY and S3_BUCKET here once listening")
	flag.Parse()
	if err := run(*envFile); err != nil {
		fmt.Fprintln(os.Stderr, "devs3:", err)
		os.Exit(1)
	}
}

func run(envFile string) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if !cfg.S3.Embedded {
		return errors.New("S3_ENDPOINT is set, so the services use that object store; there is nothing to serve")
	}
	if cfg.Production {
		return errors.New("the embedded object store is for development only (VKYC_ENV=production)")
	}
	log := cfg.Logger().With("program", "devs3")
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	dir := filepath.Join(cfg.DataDir, "s3")
	stopServer, err := blob.ServeEmbedded(ctx, cfg.S3.Endpoint, dir, cfg.S3.Bucket)
	if err != nil {
		return err
	}
	defer stopServer()
	if envFile != "" {
		if err := writeEnvFile(envFile, cfg); err != nil {
			return err
		}
	}
	log.Info("embedded object store ready", "endpoint", cfg.S3.Endpoint, "bucket", cfg.S3.Bucket, "dir", dir)
	<-ctx.Done()
	log.Info("stopping")
	return nil
}

// writeEnvFile writes atomically, so a reader never sees half a file.
func writeEnvFile(path string, cfg config.Config) error {
	content := fmt.Sprintf("S3_ENDPOINT=%s\nS3_ACCESS_KEY=%s\nS3_SECRET_KEY=%s\nS3_BUCKET=%s\n",
		cfg.S3.Endpoint, blob.EmbeddedAccessKey, blob.EmbeddedSecretKey, cfg.S3.Bucket)
	tmp := path + ".partial"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
