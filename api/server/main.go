// Command server runs the engine's HTTP API, the webhook inbox
// dispatcher and the deliverer of the bank's webhooks. Configuration is environment variables only (see
// internal/platform/config). SIGINT or SIGTERM stops accepting connections, lets
// requests in flight finish for up to drainTimeout, then stops the
// dispatcher; undelivered inbox rows wait in the database for the next start.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"
	temporallog "go.temporal.io/sdk/log"

	"github.com/vkyc-engine/vkyc/api"
	"github.com/vkyc-engine/vkyc/internal/bank/outbound"
	"github.com/vkyc-engine/vkyc/internal/bank/outbound/message"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/callprovider/inbox"
	"github.com/vkyc-engine/vkyc/internal/platform/backends"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

const (
	// startupTimeout bounds connecting to the database and the bucket; a
	// supervisor restarts us if they are not there. Temporal is not waited
	// for: see connectTemporal.
	startupTimeout = time.Minute
	// drainTimeout is how long requests in flight may take after a stop
	// signal. Container platforms must allow more between SIGTERM and
	// SIGKILL.
	drainTimeout = 20 * time.Second
)

func main() { backends.Main("api", startupTimeout, run) }

func run(ctx, _ context.Context, p *backends.Program) error {
	cfg, log, st, bs, hc := p.Config, p.Log, p.Store, p.Blob, p.HMS

	tc, err := connectTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer tc.Close()

	disp := inbox.New(st, tc, log, inbox.Options{Owner: dispatcherOwner(cfg)})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	out, err := outboundDeliverer(cfg, st, log, reg)
	if err != nil {
		return err
	}
	deps := api.Deps{
		Config:    cfg,
		Store:     st,
		Blob:      bs,
		Temporal:  tc,
		HMS:       hc,
		Verifier:  verifier(cfg),
		Logger:    log,
		WakeInbox: disp.Wake,
		Registry:  reg,
	}
	if out != nil {
		deps.WakeOutbound = out.Wake
	}
	srv, err := api.New(deps)
	if err != nil {
		return err
	}

	httpSrv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Uploads of 10 MiB over a slow agent connection need time; the
		// limit still frees a connection a client leaves hanging.
		ReadTimeout:    2 * time.Minute,
		WriteTimeout:   2 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}

	dispCtx, stopDispatcher := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDispatcher()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := disp.Run(dispCtx); err != nil {
			log.Error("inbox dispatcher stopped", "error", err)
		}
	})
	if out != nil {
		wg.Go(func() {
			if err := out.Run(dispCtx); err != nil {
				log.Error("bank webhook deliverer stopped", "error", err)
			}
		})
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	log.Info("api listening", "addr", ln.Addr().String(), "public_url", cfg.PublicBaseURL,
		"temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace, "task_queue", cfg.Temporal.TaskQueue,
		"database", st.Dialect(), "bucket", bs.Bucket(), "hms", hc.BaseURL(), "hms_simulated", cfg.HMS.Simulated)

	var result error
	select {
	case err := <-serveErr:
		result = fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
		log.Info("stop signal received; draining requests", "timeout", drainTimeout)
		drainCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		if err := httpSrv.Shutdown(drainCtx); err != nil {
			log.Warn("requests still running after the drain timeout were cut", "error", err)
			_ = httpSrv.Close()
		}
		cancel()
	}
	stopDispatcher()
	wg.Wait()
	log.Info("api stopped")
	return result
}

// outboundDeliverer is the deliverer of the bank's webhooks, or nil when
// no signing secret is configured (then no endpoint is either: Validate
// requires secrets with endpoints). Secrets without endpoints still run it,
// so that deliveries written before the endpoints were removed drain.
func outboundDeliverer(cfg config.Config, st *store.Store, log *slog.Logger, reg *prometheus.Registry) (*outbound.Deliverer, error) {
	if len(cfg.Outbound.Secrets) == 0 {
		return nil, nil
	}
	signer, err := message.NewSigner(cfg.Outbound.Secrets)
	if err != nil {
		return nil, err
	}
	o := cfg.Outbound
	return outbound.New(st, signer, log, outbound.Options{
		Timeout: o.Timeout, Backoff: o.Backoff, BackoffMax: o.BackoffMax, RetryWindow: o.RetryWindow, Registerer: reg,
	})
}

// verifier checks 100ms webhooks with the configured secret header and, when
// configured, the HMAC signature of the body.
func verifier(cfg config.Config) hms.Verifier {
	v := hms.Verifier{HMACSecret: cfg.HMS.WebhookHMACSecret}
	if cfg.HMS.WebhookHeader != "" && cfg.HMS.WebhookSecret != "" {
		v.Headers = map[string]string{cfg.HMS.WebhookHeader: cfg.HMS.WebhookSecret}
	}
	return v
}

// connectTemporal returns a client that connects on first use and again
// after every failure, so the API starts (and stores webhooks in the inbox)
// while Temporal is down; /readyz reports it until it answers. A goroutine
// logs when the connection is first established.
func connectTemporal(ctx context.Context, cfg config.Config, log *slog.Logger) (client.Client, error) {
	opts, err := cfg.TemporalClientOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = temporallog.NewStructuredLogger(log.With("component", "temporal"))
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("make the Temporal client for %s: %w", cfg.Temporal.Address, err)
	}
	go func() {
		wait := time.Second
		for {
			hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := tc.CheckHealth(hctx, &client.CheckHealthRequest{})
			cancel()
			if err == nil {
				log.Info("connected to Temporal", "address", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace)
				return
			}
			if ctx.Err() != nil {
				return
			}
			log.Warn("Temporal not reachable yet; webhooks are kept in the inbox", "address", cfg.Temporal.Address, "retry_in", wait.String(), "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
		}
	}()
	return tc, nil
}

// dispatcherOwner names this process in the inbox's case leases: host and
// listen address, which no other live process shares (it could not bind
// the address), and which a restarted replica keeps, so it takes its cases
// back at once instead of waiting for their leases to expire.
func dispatcherOwner(cfg config.Config) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return host + " " + cfg.HTTPAddr
}
