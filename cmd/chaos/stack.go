package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the checks

	"github.com/vkyc-engine/vkyc/internal/platform/codec"
	tstack "github.com/vkyc-engine/vkyc/internal/testkit/stack"
)

// Secrets of the chaos stack. They are throwaway values for processes bound
// to 127.0.0.1; the log check of internal/testkit/e2e proves the programs never log
// such values.
const (
	authSecret    = "chaos-api-jwt-secret-0123456789abcdef" // #nosec G101 -- throwaway value of a loopback test stack
	hmsAccessKey  = "chaos-access-key"
	hmsAppSecret  = "chaos-app-secret-0123456789abcdef" // #nosec G101 -- throwaway value of a loopback test stack
	webhookHeader = "X-Vkyc-Webhook-Secret"
	webhookSecret = "chaos-webhook-secret-0123456789" // #nosec G101 -- throwaway value of a loopback test stack
	s3AccessKey   = tstack.OwnS3AccessKey
	s3SecretKey   = tstack.OwnS3SecretKey
	bucket        = "vkyc"
	taskQueue     = "kyc-cases"
)

// Program and service names.
const (
	nameAPI       = tstack.API
	nameWorker    = tstack.Worker
	nameAPI2      = "api-2"    // the second replica of the two-replica class
	nameWorker2   = "worker-2" // likewise
	nameSimulator = tstack.Simulator
	namePostgres  = tstack.Postgres
	nameMinIO     = tstack.MinIO
	nameTemporal  = tstack.Temporal
)

// stack is everything a fault suite runs against, each a child process of
// the driver on loopback ports of its own (internal/testkit/stack):
// PostgreSQL, MinIO, the Temporal dev server (on a database file, so that it
// keeps its workflows across a restart) and the engine's three programs
// built from this repository. It never touches the services of `make
// services` or of other tests.
type stack struct {
	root, dir string
	log       *slog.Logger
	svc       *tstack.OwnServices
	eng       *tstack.Engine

	dsn                                                  string
	apiBase, api2Base, simBase, s3Endpoint, temporalAddr string
	db                                                   *sql.DB
	hooks                                                *hookProxy
	// external is set when the stack is scripts/prod-local.sh (class 9),
	// whose own supervisors run and restart the parts; svc and eng are nil
	// then.
	external *prodLocal
	bank     *bank // the bank's webhook receiver
	// codec opens the payloads the stack's programs seal.
	codec *codec.Keyring
}

func newStack(ctx context.Context, root, dir string, log *slog.Logger) (*stack, error) {
	// The programs seal payloads with the development key.
	s := &stack{root: root, dir: dir, log: log, codec: codec.DevKeyring()}
	steps := []struct {
		what string
		fn   func(context.Context) error
	}{
		{"the bank's webhook receiver", s.setupBank},
		{"PostgreSQL, MinIO and the Temporal dev server", s.setupServices},
		{"the engine", s.setupEngine},
	}
	for _, st := range steps {
		start := time.Now()
		if err := st.fn(ctx); err != nil {
			s.close()
			return nil, fmt.Errorf("%s: %w", st.what, err)
		}
		log.Info("ready", "part", st.what, "took", time.Since(start).Round(time.Millisecond).String())
	}
	return s, nil
}

func (s *stack) setupBank(context.Context) error {
	b, err := newBank()
	s.bank = b
	return err
}

func (s *stack) setupServices(ctx context.Context) error {
	var err error
	if s.svc, err = tstack.StartServices(ctx, s.root, s.dir, s.log); err != nil {
		return err
	}
	s.dsn, s.s3Endpoint, s.temporalAddr = s.svc.Services.DatabaseURL, s.svc.Services.S3.Endpoint, s.svc.Services.Temporal
	s.db, err = sql.Open("pgx", s.dsn)
	return err
}

// setupEngine starts the engine's programs like `make dev` with every part
// pointed at this stack, the simulator's webhooks through the proxy that
// stands for the load balancer.
func (s *stack) setupEngine(ctx context.Context) error {
	env := map[string]string{
		"LOG_LEVEL": "info",
		// The reconciler ends cases an operator terminated; at its 1-minute
		// default the batch would mostly wait for it.
		"RECONCILE_INTERVAL": "2s",
	}
	for k, v := range bankEnv(s.bank.url()) {
		env[k] = v
	}
	var err error
	s.eng, err = tstack.NewEngine(ctx, tstack.Config{
		Root: s.root, Dir: s.dir, Services: s.svc.Services, Bucket: bucket, TaskQueue: taskQueue,
		Secrets: tstack.Secrets{Auth: authSecret, HMSAccessKey: hmsAccessKey, HMSAppSecret: hmsAppSecret,
			WebhookHeader: webhookHeader, WebhookSecret: webhookSecret},
		Env: env,
		// The API is restarted while a service is down: it is back when it
		// serves, not when every dependency answers.
		APIReady: "/healthz",
	})
	if err != nil {
		return err
	}
	s.apiBase, s.simBase = s.eng.APIBase, s.eng.SimBase
	if s.hooks, err = newHookProxy(s.apiBase); err != nil {
		return err
	}
	s.eng.SetEnv("HMSSIM_WEBHOOK_URL", s.hooks.base+"/v1/webhooks/100ms")
	// The second replicas are started by the two-replica class only.
	if s.api2Base, err = s.eng.Add(nameAPI2, tstack.API, nil); err != nil {
		return err
	}
	if _, err = s.eng.Add(nameWorker2, tstack.Worker, nil); err != nil {
		return err
	}
	return s.eng.StartAll(ctx)
}

// part is a process of the stack by name: a service or a program.
func (s *stack) part(name string) *tstack.Process {
	if p := s.svc.Part(name); p != nil {
		return p
	}
	return s.eng.Process(name)
}

// startPart starts a part that is down and waits until it serves.
func (s *stack) startPart(ctx context.Context, name string) error {
	if s.svc.Part(name) != nil {
		return s.svc.Start(ctx, name)
	}
	return s.eng.Start(ctx, name, nil)
}

func (s *stack) logPath(name string) string { return filepath.Join(s.dir, "logs", name+".log") }

func (s *stack) close() {
	if s.bank != nil {
		s.bank.close()
	}
	if s.db != nil {
		_ = s.db.Close()
	}
	if s.external != nil {
		s.external.stop()
	}
	if s.hooks != nil {
		s.hooks.close()
	}
	if s.eng != nil {
		s.eng.Close()
	}
	if s.svc != nil {
		s.svc.Close()
	}
}
