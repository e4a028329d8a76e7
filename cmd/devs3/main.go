// Command devs3 runs the development object store for `make dev` when
// S3_ENDPOINT is unset: the pinned MinIO server (-minio, built by
// scripts/tools.sh) on the endpoint internal/platform/config then assumes
// (127.0.0.1:9000), with its data in VKYC_DATA_DIR/s3, the development
// credentials config gives every program, and the configured bucket. It
// stops MinIO when it is stopped.
//
// MinIO rather than an S3 library in our process: it is the server the
// tests already build and run, so development checks signatures, presigned
// URLs' expiry and upload integrity exactly as they do, with no S3 server
// code of ours; its price is one more build on the first `make dev`.
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

	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

func main() {
	minioBin := flag.String("minio", ".cache/bin/minio", "the MinIO server binary (scripts/tools.sh minio)")
	readyFile := flag.String("ready-file", "", "created once the store answers and its bucket exists")
	flag.Parse()
	if err := run(*minioBin, *readyFile); err != nil {
		fmt.Fprintln(os.Stderr, "devs3:", err)
		os.Exit(1)
	}
}

func run(minioBin, readyFile string) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if !cfg.S3.DevStore {
		return errors.New("S3_ENDPOINT is set, so the services use that object store; there is nothing to serve")
	}
	if cfg.Production {
		return errors.New("the development object store is for development only (VKYC_ENV=production)")
	}
	log := cfg.Logger().With("program", "devs3")
	slog.SetDefault(log)

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	dir := filepath.Join(cfg.DataDir, "s3")
	stop, err := blob.DevStore{
		Binary: minioBin, Addr: cfg.S3.Endpoint, Dir: dir,
		AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey,
		Buckets: []string{cfg.S3.Bucket}, Log: os.Stderr,
	}.Start(ctx)
	if err != nil {
		return err
	}
	defer stop()
	if readyFile != "" {
		if err := os.WriteFile(readyFile, nil, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", readyFile, err)
		}
	}
	log.Info("development object store ready (MinIO)", "endpoint", cfg.S3.Endpoint, "bucket", cfg.S3.Bucket, "dir", dir)
	<-ctx.Done()
	log.Info("stopping")
	return nil
}
