// Package config reads every environment variable of the service once, at
// start, into a Config with safe defaults: with nothing set, `make dev` runs
// entirely on this machine (SQLite, the embedded object store, the 100ms
// simulator, a local Temporal). Production mode (VKYC_ENV=production) makes
// Validate refuse every development default.
package config

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/vkyc-engine/vkyc/internal/codec"
)

// Config is the whole configuration. Load fills it; nothing else reads the
// environment.
type Config struct {
	HTTPAddr string
	// WorkerHTTPAddr is where the worker serves /metrics, /healthz and
	// /readyz; "off" serves nothing.
	WorkerHTTPAddr string
	PublicBaseURL  string
	AuthSecret     string
	DatabaseURL    string
	DataDir        string

	S3 struct {
		Endpoint, AccessKey, SecretKey, Bucket, Region, SSE string
		Secure                                              bool
		// Embedded is true when S3_ENDPOINT is unset: `make dev` serves the
		// embedded store on Endpoint (127.0.0.1:9000) from DataDir.
		Embedded bool
		// PublicEndpoint (host:port) and PublicSecure are where browsers
		// reach the bucket (S3_PUBLIC_ENDPOINT), which presigned URLs are
		// signed for; "" means Endpoint.
		PublicEndpoint string
		PublicSecure   bool
		// AllowHTTP and AllowUnencrypted are production's explicit opt-ins
		// to plain HTTP and to objects without server-side encryption.
		AllowHTTP, AllowUnencrypted bool
	}

	Temporal struct {
		Address, Namespace, TaskQueue string
		// GRPCCompression is "none" or "gzip" (TEMPORAL_GRPC_COMPRESSION).
		GRPCCompression string
	}

	HMS struct {
		BaseURL, AccessKey, AppSecret, TemplateID       string
		WebhookHeader, WebhookSecret, WebhookHMACSecret string
		// RecordingPrefix is where the template uploads recordings in
		// S3.Bucket: <prefix>/beam/<room id>/...
		RecordingPrefix string
		// WebhookRateLimit is webhook deliveries a second per source
		// address (HMS_WEBHOOK_RATE_LIMIT); 0 turns the limit off.
		WebhookRateLimit int
		// Simulated is true when BaseURL is the local simulator's (the
		// default): `make dev` then starts the simulator.
		Simulated bool
	}

	Case struct {
		JoinTimeout, MaxCallLength, DecisionWindow, RecordingGrace, AuditSLA, CaseTTL time.Duration
		RecordingDeadline                                                             time.Duration
		MaxAttempts                                                                   int
	}

	// Maintenance is what the worker's Temporal Schedules run.
	Maintenance struct {
		ReconcileInterval, PurgeInterval           time.Duration
		IdempotencyRetention, WebhookBodyRetention time.Duration
	}

	Capture struct {
		MaxBytes int64
		URLTTL   time.Duration
	}
	// RecordingURLTTL is the lifetime of presigned recording URLs handed to
	// reviewers.
	RecordingURLTTL time.Duration

	JoinTokenTTL time.Duration
	// InviteTTL is how long a customer's invite link works.
	InviteTTL time.Duration
	// ConsentText is what the customer agrees to; ConsentVersion names it
	// in the case's event log (a digest, so a changed text is a new
	// version without anyone having to remember to bump it).
	ConsentText, ConsentVersion string
	LogLevel                    string
	Production                  bool

	// Outbound is the bank's webhook endpoints and the delivery policy.
	Outbound struct {
		URLs, Secrets                             []string
		Timeout, Backoff, BackoffMax, RetryWindow time.Duration
	}

	// Evidence is how evidence packs are signed and how big a recording
	// may be before a pack links to it instead of holding it.
	Evidence struct {
		SigningKey      ed25519.PrivateKey
		RecordingInline int64
		LinkTTL         time.Duration
	}

	// Codec seals Temporal payloads; Origins may call the codec endpoint
	// from a browser (the Temporal Web UI).
	Codec struct {
		Keys    *codec.Keyring
		Origins []string
	}

	// OIDC is single sign-on for people (oidc.go).
	OIDC OIDC

	// temporalProfile is the Temporal SDK's profile (config file + TEMPORAL_*
	// variables) as read by Load, so that the environment is read only once.
	temporalProfile envconfig.ClientConfigProfile
	// set records which variables were given a non-empty value.
	set map[string]bool
}

// Load reads the process environment.
func Load() (Config, error) {
	return load(osEnv{})
}

// LoadFrom reads the variables through getenv, for tests. An empty value
// means unset. TEMPORAL_GRPC_META_* variables cannot be enumerated through
// getenv and are ignored.
func LoadFrom(getenv func(string) string) (Config, error) {
	return load(funcEnv(getenv))
}

// environment is where Load reads from.
type environment interface {
	get(name string) string
	// environ lists NAME=value pairs, for the variables found by prefix.
	environ() []string
}

type osEnv struct{}

func (osEnv) get(name string) string { return os.Getenv(name) }
func (osEnv) environ() []string      { return os.Environ() }

type funcEnv func(string) string

func (f funcEnv) get(name string) string { return f(name) }
func (funcEnv) environ() []string        { return nil }

// reader reads variables, applying defaults and collecting every error so an
// operator sees all mistakes at once.
type reader struct {
	env  environment
	errs []error
	set  map[string]bool
}

func (r *reader) str(name, def string) string {
	v := strings.TrimSpace(r.env.get(name))
	if v == "" {
		return def
	}
	r.set[name] = true
	return v
}

// secret is str without trimming: spaces may be part of a secret.
func (r *reader) secret(name, def string) string {
	v := r.env.get(name)
	if v == "" {
		return def
	}
	r.set[name] = true
	return v
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) boolean(name string, def bool) bool {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "%q is not a boolean (use true or false)", v)
		return def
	}
	return b
}

// duration accepts Go durations ("90s", "1h30m"); zero and negative values
// are refused because every duration here is a timeout or a lifetime.
func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(name, "%q is not a duration (examples: 90s, 15m, 24h)", v)
		return def
	}
	if d <= 0 {
		r.fail(name, "%q must be positive", v)
		return def
	}
	return d
}

func (r *reader) positiveInt(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, "%q is not a whole number", v)
		return def
	}
	if n <= 0 {
		r.fail(name, "%q must be positive", v)
		return def
	}
	return n
}

func (r *reader) nonNegativeInt(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.fail(name, "%q is not a whole number of 0 or more", v)
		return def
	}
	return n
}

// bytes accepts a number of bytes with an optional KiB, MiB or GiB suffix.
func (r *reader) bytes(name string, def int64) int64 {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	num, unit := v, int64(1)
	for _, s := range []struct {
		suffix string
		unit   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(v, s.suffix); ok {
			num, unit = strings.TrimSpace(rest), s.unit
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		r.fail(name, "%q is not a size in bytes (examples: 10485760, 10MiB)", v)
		return def
	}
	if n <= 0 {
		r.fail(name, "%q must be positive", v)
		return def
	}
	if n > (1<<62)/unit {
		r.fail(name, "%q is too large", v)
		return def
	}
	return n * unit
}

// publicEndpoint reads S3_PUBLIC_ENDPOINT, a URL of scheme and host only
// (https://files.bank.example), into host:port and the scheme's security.
func (r *reader) publicEndpoint(c *Config) {
	v := r.str(EnvS3PublicEndpoint, "")
	if v == "" {
		c.S3.PublicEndpoint, c.S3.PublicSecure = c.S3.Endpoint, c.S3.Secure
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		r.fail(EnvS3PublicEndpoint, "%q is not a URL of scheme and host only, like https://files.bank.example", v)
		c.S3.PublicEndpoint, c.S3.PublicSecure = c.S3.Endpoint, c.S3.Secure
		return
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	c.S3.PublicEndpoint, c.S3.PublicSecure = host, u.Scheme == "https"
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return def
}

func load(env environment) (Config, error) {
	r := &reader{env: env, set: map[string]bool{}}
	var c Config

	switch v := strings.ToLower(r.str(EnvEnv, "development")); v {
	case "development":
	case "production":
		c.Production = true
	default:
		// A typo such as "prod" must not silently mean development.
		r.fail(EnvEnv, "%q is not development or production", v)
	}

	c.HTTPAddr = r.str(EnvHTTPAddr, "127.0.0.1:8080")
	c.WorkerHTTPAddr = r.str(EnvWorkerHTTPAddr, "127.0.0.1:8081")
	c.PublicBaseURL = strings.TrimRight(r.str(EnvPublicBaseURL, "http://127.0.0.1:8080"), "/")
	c.AuthSecret = r.secret(EnvAuthSecret, devAuthSecret)
	c.DataDir = filepath.Clean(r.str(EnvDataDir, ".run/dev"))
	c.DatabaseURL = r.secret(EnvDatabaseURL, "sqlite://"+filepath.ToSlash(filepath.Join(c.DataDir, "vkyc.db")))
	c.LogLevel = r.oneOf(EnvLogLevel, "info", "debug", "info", "warn", "error")

	c.S3.Endpoint = r.str(EnvS3Endpoint, "")
	c.S3.Embedded = c.S3.Endpoint == ""
	if c.S3.Embedded {
		c.S3.Endpoint = embeddedS3Endpoint
	}
	c.S3.AccessKey = r.secret(EnvS3AccessKey, "")
	c.S3.SecretKey = r.secret(EnvS3SecretKey, "")
	if c.S3.Embedded && c.S3.AccessKey == "" && c.S3.SecretKey == "" {
		c.S3.AccessKey, c.S3.SecretKey = embeddedS3AccessKey, embeddedS3SecretKey
	}
	c.S3.Bucket = r.str(EnvS3Bucket, "vkyc")
	c.S3.Region = r.str(EnvS3Region, "us-east-1")
	c.S3.SSE = r.oneOf(EnvS3SSE, "auto", "auto", "on", "off")
	c.S3.Secure = r.boolean(EnvS3Secure, false)
	r.publicEndpoint(&c)
	c.S3.AllowHTTP = r.boolean(EnvS3AllowHTTP, false)
	c.S3.AllowUnencrypted = r.boolean(EnvS3AllowUnencrypted, false)

	r.loadTemporal(&c)

	c.HMS.BaseURL = strings.TrimRight(r.str(EnvHMSBaseURL, simulatorBaseURL), "/")
	c.HMS.Simulated = c.HMS.BaseURL == simulatorBaseURL
	c.HMS.AccessKey = r.secret(EnvHMSAccessKey, devHMSAccessKey)
	c.HMS.AppSecret = r.secret(EnvHMSAppSecret, devHMSAppSecret)
	c.HMS.TemplateID = r.str(EnvHMSTemplateID, "")
	c.HMS.WebhookHeader = r.str(EnvHMSWebhookHeader, "X-Vkyc-Webhook-Secret")
	c.HMS.WebhookSecret = r.secret(EnvHMSWebhookSecret, devWebhookSecret)
	c.HMS.WebhookHMACSecret = r.secret(EnvHMSWebhookHMACSecret, "")
	c.HMS.RecordingPrefix = strings.Trim(r.str(EnvHMSRecordingPrefix, "recordings"), "/")
	c.HMS.WebhookRateLimit = r.nonNegativeInt(EnvHMSWebhookRateLimit, defaultWebhookRateLimit)

	c.Case.JoinTimeout = r.duration(EnvCaseJoinTimeout, 30*time.Minute)
	c.Case.MaxCallLength = r.duration(EnvCaseMaxCallLength, 30*time.Minute)
	c.Case.DecisionWindow = r.duration(EnvCaseDecisionWindow, 15*time.Minute)
	c.Case.RecordingGrace = r.duration(EnvCaseRecordingGrace, 10*time.Minute)
	c.Case.AuditSLA = r.duration(EnvCaseAuditSLA, 24*time.Hour)
	c.Case.CaseTTL = r.duration(EnvCaseTTL, 72*time.Hour)
	c.Case.MaxAttempts = r.positiveInt(EnvCaseMaxAttempts, 3)
	c.Case.RecordingDeadline = r.duration(EnvCaseRecordingDeadline, time.Hour)

	c.Maintenance.ReconcileInterval = r.duration(EnvReconcileInterval, time.Minute)
	c.Maintenance.PurgeInterval = r.duration(EnvPurgeInterval, time.Hour)
	c.Maintenance.IdempotencyRetention = r.duration(EnvIdempotencyRetention, 7*24*time.Hour)
	c.Maintenance.WebhookBodyRetention = r.duration(EnvWebhookBodyRetention, 30*24*time.Hour)

	c.Capture.MaxBytes = r.bytes(EnvCaptureMaxBytes, 10<<20)
	c.Capture.URLTTL = r.duration(EnvCaptureURLTTL, 5*time.Minute)
	c.RecordingURLTTL = r.duration(EnvRecordingURLTTL, 30*time.Minute)
	c.JoinTokenTTL = r.duration(EnvJoinTokenTTL, 2*time.Hour)
	c.InviteTTL = r.duration(EnvInviteTTL, 24*time.Hour)
	c.ConsentText = r.secret(EnvConsentText, DefaultConsentText)
	c.ConsentVersion = ConsentVersion(c.ConsentText)

	r.loadBank(&c)
	r.loadOIDC(&c)

	c.set = r.set
	if len(r.errs) > 0 {
		return Config{}, fmt.Errorf("config: %w", errors.Join(r.errs...))
	}
	return c, nil
}
