// Package backends opens, from the configuration, what both the API and the
// worker depend on: the database, object storage and the 100ms client. One
// place decides how a program starts, so the two cannot drift apart.
package backends

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// Load reads and validates the configuration and returns it with the
// program's logger, which also becomes the slog default.
func Load(program string) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load()
	if err != nil {
		return config.Config{}, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, nil, err
	}
	log := cfg.Logger().With("program", program)
	slog.SetDefault(log)
	if insecure := cfg.Insecure(); len(insecure) > 0 {
		log.Warn("development defaults in use; never run like this in production", "variables", insecure)
	}
	return cfg, log, nil
}

// Main is the API's and the worker's main: start (Load, a context that
// SIGINT or SIGTERM cancels, Open within startupTimeout of it), run, Close.
// run gets that context, and startCtx, the same bounded by startupTimeout,
// for what else the program connects to before it runs. When start or run
// fails, Main writes the error to standard error as plain text (the logger
// may not exist yet: bad configuration) and exits with status 1.
func Main(program string, startupTimeout time.Duration, run func(ctx, startCtx context.Context, p *Program) error) {
	if err := start(program, startupTimeout, run); err != nil {
		fmt.Fprintln(os.Stderr, program+":", err)
		os.Exit(1)
	}
}

// Program is a started API or worker: its configuration, its logger and
// its backends.
type Program struct {
	Config config.Config
	Log    *slog.Logger
	*Set
}

func start(program string, startupTimeout time.Duration, run func(ctx, startCtx context.Context, p *Program) error) error {
	cfg, log, err := Load(program)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	b, err := Open(startCtx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	return run(ctx, startCtx, &Program{Config: cfg, Log: log, Set: b})
}

// Set is the opened backends.
type Set struct {
	Store *store.Store
	Blob  *blob.Store
	HMS   *hms.Client
}

// Open connects to the database (running its migrations), object storage
// and makes the 100ms client.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*Set, error) {
	// Both programs know the bank's endpoints: the worker's saves write the
	// outbox, the API's deliverer empties it.
	st, err := store.Open(ctx, cfg.DatabaseURL, store.WithLogger(log), store.WithWebhookEndpoints(cfg.Outbound.URLs))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	bs, err := blob.New(ctx, blob.Config{
		Endpoint: cfg.S3.Endpoint, AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey,
		Bucket: cfg.S3.Bucket, Region: cfg.S3.Region, Secure: cfg.S3.Secure, SSE: cfg.S3.SSE,
		PublicEndpoint: cfg.S3.PublicEndpoint, PublicSecure: cfg.S3.PublicSecure,
		// In production the bucket, its encryption and its policies are
		// infrastructure, made by the people who own them; only a
		// development stack creates its own.
		CreateBucket: !cfg.Production,
	})
	if err != nil {
		_ = st.Close() // the error worth returning is the object store's
		return nil, fmt.Errorf("object storage: %w", err)
	}
	hc, err := hms.New(hms.Config{
		BaseURL: cfg.HMS.BaseURL, AccessKey: cfg.HMS.AccessKey, AppSecret: cfg.HMS.AppSecret, Logger: log,
	})
	if err != nil {
		_ = st.Close() // the error worth returning is the client's
		return nil, fmt.Errorf("100ms client: %w", err)
	}
	return &Set{Store: st, Blob: bs, HMS: hc}, nil
}

// Close releases the database connections.
func (s *Set) Close() error { return s.Store.Close() }
