// Package config reads every environment variable of the service once, at
// start, into a Config with safe defaults: with nothing set, `make dev` runs
// entirely on this machine (SQLite, the development object store, the 100ms
// simulator, a local Temporal). Production mode (VKYC_ENV=production) makes
// Validate refuse every development default.
//
// Config is one struct whose tags declare each variable once: its name
// (env), its default (envDefault, or a product package's default: see
// codeDefaults), what the README's table says (doc, docDefault), whether it
// is a secret (secret: never trimmed) and the checks beyond its type (oneof,
// min). github.com/caarlos0/env reads it; Variables and the README's table
// are generated from the same tags. Every program reads it, the 100ms
// simulator included.
package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	envparse "github.com/caarlos0/env/v11"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/codec"
)

// Config is the whole configuration. Load fills it; nothing else reads the
// environment. Fields without an env tag are derived from the others. In a
// doc tag, \x60 stands for a backtick (Markdown code in the README).
type Config struct {
	// Env is development or production; Production is Env == production.
	Env        string `env:"VKYC_ENV" envDefault:"development" oneof:"development production" doc:"\x60production\x60 turns on Validate's production checks (dev defaults and development stores refused); anything but \x60development\x60 or \x60production\x60 is an error"`
	Production bool

	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080" doc:"address the HTTP API listens on"`
	// WorkerHTTPAddr is where the worker serves /metrics, /healthz and
	// /readyz; "off" serves nothing.
	WorkerHTTPAddr string `env:"WORKER_HTTP_ADDR" envDefault:"127.0.0.1:8081" doc:"address where the worker serves /metrics (its own and the Temporal SDK's), /healthz and /readyz; \x60off\x60 serves nothing; two workers on one host need two addresses"`
	PublicBaseURL  string `env:"PUBLIC_BASE_URL" envDefault:"http://127.0.0.1:8080" doc:"public URL of the API, used for the webhook URL shown to operators"`
	AuthSecret     string `env:"API_JWT_SECRET" envDefault:"vkyc-dev-jwt-secret-not-for-production" secret:"true" docDefault:"(development secret)" doc:"HMAC secret signing API tokens; at least 16 bytes; in production at least 32, not a placeholder, not a repeated pattern"`
	// DatabaseURL defaults to an SQLite file in DataDir.
	DatabaseURL string `env:"DATABASE_URL" secret:"true" docDefault:"sqlite://<VKYC_DATA_DIR>/vkyc.db" doc:"postgres://…, postgresql://… or sqlite://<path>"`
	DataDir     string `env:"VKYC_DATA_DIR" envDefault:".run/dev" doc:"directory for local data (SQLite file, the development object store's files)"`
	LogLevel    string `env:"LOG_LEVEL" envDefault:"info" oneof:"debug info warn error" doc:"debug, info, warn or error"`

	S3 struct {
		// Endpoint is host:port. Unset, it is DevEndpoint and DevStore is
		// true: `make dev` starts the development store (MinIO) there.
		Endpoint  string `env:"S3_ENDPOINT" docDefault:"(unset: the development store on 127.0.0.1:9000)" doc:"S3/MinIO endpoint as host:port; unset, \x60make dev\x60 starts a MinIO server with its data in VKYC_DATA_DIR"`
		AccessKey string `env:"S3_ACCESS_KEY" secret:"true" docDefault:"(the development store's credential)" doc:"S3 access key (required with S3_ENDPOINT)"`
		SecretKey string `env:"S3_SECRET_KEY" secret:"true" docDefault:"(the development store's credential)" doc:"S3 secret key (required with S3_ENDPOINT)"`
		Bucket    string `env:"S3_BUCKET" envDefault:"vkyc" doc:"bucket for captures and recordings"`
		Region    string `env:"S3_REGION" envDefault:"us-east-1" doc:"bucket region"`
		SSE       string `env:"S3_SSE" envDefault:"auto" oneof:"auto on off" doc:"server-side encryption: auto (SSE-S3 when supported), on (required) or off; production needs on unless S3_ALLOW_UNENCRYPTED=true"`
		Secure    bool   `env:"S3_SECURE" envDefault:"false" doc:"true/false: HTTPS to S3_ENDPOINT (false is refused in production unless S3_ALLOW_HTTP=true)"`
		// PublicURL is S3_PUBLIC_ENDPOINT as given; PublicEndpoint
		// (host:port) and PublicSecure are where browsers reach the bucket,
		// which presigned URLs are signed for (Endpoint and Secure when
		// unset).
		PublicURL      string `env:"S3_PUBLIC_ENDPOINT" docDefault:"(S3_ENDPOINT)" doc:"where browsers reach the bucket, as scheme and host (https://files.bank.example): presigned capture and recording URLs are signed for it; http is refused in production unless S3_ALLOW_HTTP=true"`
		PublicEndpoint string
		PublicSecure   bool
		// AllowHTTP and AllowUnencrypted are production's explicit opt-ins
		// to plain HTTP and to objects without server-side encryption.
		AllowHTTP        bool `env:"S3_ALLOW_HTTP" envDefault:"false" doc:"true: production accepts plain HTTP to the object store (S3_SECURE=false, an http S3_PUBLIC_ENDPOINT), e.g. inside a private network"`
		AllowUnencrypted bool `env:"S3_ALLOW_UNENCRYPTED" envDefault:"false" doc:"true: production accepts objects without server-side encryption; otherwise production needs S3_SSE=on"`
		// DevStore is true when S3_ENDPOINT is unset: the services use the
		// development store that `make dev` starts on Endpoint, with data
		// in DataDir/s3 and the credentials DevAccessKey/DevSecretKey.
		DevStore bool
	}

	Temporal struct {
		// Address and Namespace: this variable, else the Temporal config
		// file's profile, else the default.
		Address   string `env:"TEMPORAL_ADDRESS" envDefault:"127.0.0.1:7233" doc:"Temporal frontend host:port (also read by the Temporal SDK; a value in the Temporal config file is used when this is unset)"`
		Namespace string `env:"TEMPORAL_NAMESPACE" envDefault:"default" doc:"Temporal namespace (same precedence as TEMPORAL_ADDRESS)"`
		TaskQueue string `env:"TEMPORAL_TASK_QUEUE" envDefault:"kyc-cases" doc:"task queue of the KYC case workflows"`
		// GRPCCompression is "none" or "gzip".
		GRPCCompression string `env:"TEMPORAL_GRPC_COMPRESSION" envDefault:"none" oneof:"none gzip" doc:"none or gzip: compression of requests to Temporal; gzip pays off over a WAN link (Temporal Cloud), none saves CPU in the same network"`
	}

	HMS struct {
		BaseURL       string `env:"HMS_BASE_URL" envDefault:"http://127.0.0.1:8090/v2" doc:"100ms API base URL; the default is the local simulator"`
		AccessKey     string `env:"HMS_ACCESS_KEY" envDefault:"dev-access-key" secret:"true" docDefault:"(development value)" doc:"100ms app access key"`
		AppSecret     string `env:"HMS_APP_SECRET" envDefault:"dev-app-secret-change-me" secret:"true" docDefault:"(development value)" doc:"100ms app secret (signs management and auth tokens)"`
		TemplateID    string `env:"HMS_TEMPLATE_ID" doc:"100ms template of KYC rooms (required in production)"`
		WebhookHeader string `env:"HMS_WEBHOOK_HEADER" envDefault:"X-Vkyc-Webhook-Secret" doc:"header carrying the webhook secret that 100ms sends"`
		WebhookSecret string `env:"HMS_WEBHOOK_SECRET" envDefault:"dev-webhook-secret" secret:"true" docDefault:"(development value)" doc:"expected value of HMS_WEBHOOK_HEADER"`
		// WebhookHMACSecret, when set, is the key of the webhooks' body
		// signature.
		WebhookHMACSecret string `env:"HMS_WEBHOOK_HMAC_SECRET" secret:"true" doc:"when set, webhooks must also carry a valid HMAC-SHA256 body signature"`
		// RecordingPrefix is where the template uploads recordings in
		// S3.Bucket: <prefix>/beam/<room id>/...
		RecordingPrefix string `env:"HMS_RECORDING_PREFIX" envDefault:"recordings" doc:"key prefix of recordings in S3_BUCKET (the template's upload prefix); a recording announced elsewhere is ignored"`
		// WebhookRateLimit is webhook deliveries a second per source
		// address; 0 turns the limit off. 200 is far above what one 100ms
		// account sends (a call is about ten events over minutes) and far
		// below what a flood needs.
		WebhookRateLimit int `env:"HMS_WEBHOOK_RATE_LIMIT" envDefault:"200" doc:"webhook deliveries a second accepted from one source address (bursts of twice that); more get 429 with Retry-After, which 100ms retries; 0 turns the limit off"`
		// Simulated is true when BaseURL is the local simulator's (the
		// default): `make dev` then starts the simulator.
		Simulated bool
	}

	// Case limits; their defaults are the workflow's (workflows.DefaultTimeouts).
	Case struct {
		JoinTimeout       time.Duration `env:"CASE_JOIN_TIMEOUT" doc:"how long both parties have to join a call"`
		MaxCallLength     time.Duration `env:"CASE_MAX_CALL_LENGTH" doc:"longest call before it is ended"`
		DecisionWindow    time.Duration `env:"CASE_DECISION_WINDOW" doc:"time for the agent's decision after the call"`
		RecordingGrace    time.Duration `env:"CASE_RECORDING_GRACE" doc:"wait for the recording after the call"`
		AuditSLA          time.Duration `env:"CASE_AUDIT_SLA" doc:"time for the auditor before a case is flagged overdue"`
		CaseTTL           time.Duration `env:"CASE_TTL" doc:"lifetime of a case before it expires"`
		MaxAttempts       int           `env:"CASE_MAX_ATTEMPTS" min:"1" doc:"call attempts per case (at most 10, the workflow's limit)"`
		RecordingDeadline time.Duration `env:"CASE_RECORDING_DEADLINE" doc:"longest wait for a verified recording after the call; then the attempt fails (recording_unverified)"`
	}

	// Maintenance is what the worker's Temporal Schedules run.
	Maintenance struct {
		ReconcileInterval    time.Duration `env:"RECONCILE_INTERVAL" envDefault:"1m" doc:"how often the reconciler (a Temporal Schedule) closes cases whose workflow was closed from outside and ends stray rooms"`
		PurgeInterval        time.Duration `env:"PURGE_INTERVAL" envDefault:"1h" doc:"how often the purge (a Temporal Schedule) removes expired idempotency keys and webhook bodies"`
		IdempotencyRetention time.Duration `env:"IDEMPOTENCY_RETENTION" envDefault:"168h" doc:"how long Idempotency-Key records are kept"`
		WebhookBodyRetention time.Duration `env:"WEBHOOK_BODY_RETENTION" envDefault:"720h" doc:"how long raw 100ms webhook bodies are kept (the inbox row and its outcome stay)"`
	}

	Capture struct {
		// MaxBytes accepts a KiB, MiB or GiB suffix.
		MaxBytes int64         `env:"CAPTURE_MAX_BYTES" envDefault:"10MiB" doc:"largest capture upload, in bytes (KiB/MiB/GiB suffixes accepted)"`
		URLTTL   time.Duration `env:"CAPTURE_URL_TTL" envDefault:"5m" doc:"lifetime of presigned capture download URLs (1s to 1h)"`
	}
	// RecordingURLTTL is the lifetime of presigned recording URLs handed to
	// reviewers.
	RecordingURLTTL time.Duration `env:"RECORDING_URL_TTL" envDefault:"30m" doc:"lifetime of presigned recording URLs handed to reviewers (1s to 1h)"`
	JoinTokenTTL    time.Duration `env:"JOIN_TOKEN_TTL" envDefault:"2h" doc:"lifetime of 100ms join tokens handed to participants"`
	// InviteTTL is how long a customer's invite link works.
	InviteTTL time.Duration `env:"INVITE_TTL" envDefault:"24h" doc:"lifetime of customer invite links (\x60POST /v1/cases/{id}/invites\x60)"`
	// ConsentText is what the customer agrees to (DefaultConsentText when
	// unset); ConsentVersion names it in the case's event log (a digest, so
	// a changed text is a new version without anyone having to remember to
	// bump it).
	ConsentText    string `env:"CONSENT_TEXT" secret:"true" docDefault:"(the built-in English text)" doc:"consent text the customer agrees to on the join page; its version is the first 16 hex digits of its SHA-256"`
	ConsentVersion string

	// Outbound is the bank's webhook endpoints and the delivery policy.
	Outbound struct {
		URLs        List          `env:"BANK_WEBHOOK_URLS" docDefault:"(none: no webhooks are recorded or sent)" doc:"comma-separated http(s) endpoints of the bank that receive every case's status changes, captures and verified recordings (https in production)"`
		Secrets     List          `env:"BANK_WEBHOOK_SECRETS" secret:"true" docDefault:"(none; required with BANK_WEBHOOK_URLS)" doc:"comma-separated Standard Webhooks signing secrets (\x60whsec_\x60 + base64 of 24 to 64 bytes; \x60starter webhook-secret\x60 makes one); each message is signed with every one, so two allow a rotation"`
		Timeout     time.Duration `env:"BANK_WEBHOOK_TIMEOUT" envDefault:"10s" doc:"longest wait for the bank's answer to one delivery attempt"`
		Backoff     time.Duration `env:"BANK_WEBHOOK_BACKOFF" envDefault:"5s" doc:"wait before the first retry of a failed delivery; it doubles with each attempt, with jitter"`
		BackoffMax  time.Duration `env:"BANK_WEBHOOK_BACKOFF_MAX" envDefault:"1h" doc:"longest wait between two attempts"`
		RetryWindow time.Duration `env:"BANK_WEBHOOK_RETRY_WINDOW" envDefault:"24h" doc:"how long a delivery is retried before it fails (at least 24h in production)"`
	}

	// Evidence is how evidence packs are signed and how big a recording
	// may be before a pack links to it instead of holding it.
	Evidence struct {
		// SigningKey is DevEvidenceKey when unset.
		SigningKey      ed25519.PrivateKey `env:"EVIDENCE_SIGNING_KEY" secret:"true" docDefault:"(development key)" doc:"Ed25519 key that signs evidence packs: base64 of its 32-byte seed (\x60starter evidence keygen\x60 makes one)"`
		RecordingInline int64              `env:"EVIDENCE_RECORDING_INLINE_MAX" envDefault:"1GiB" doc:"largest recording put into an evidence pack; a larger one is linked (presigned URL) instead"`
		LinkTTL         time.Duration      `env:"EVIDENCE_LINK_TTL" envDefault:"1h" doc:"lifetime of the recording link in an evidence pack (1s to 1h, as every presigned URL; later, \x60GET /v1/cases/{id}/recording\x60 gives a fresh one)"`
	}

	// Codec seals Temporal payloads; Origins may call the codec endpoint
	// from a browser (the Temporal Web UI).
	Codec struct {
		Keys    *codec.Keyring `env:"PAYLOAD_CODEC_KEYS" secret:"true" docDefault:"(development key)" doc:"AES-256 keys sealing Temporal payloads, \x60id:base64key,...\x60 (32 bytes each): the first seals, all open, so a new key goes first and old ones stay until their histories are gone"`
		Origins List           `env:"CODEC_CORS_ORIGINS" envDefault:"http://127.0.0.1:8233,http://localhost:8233" doc:"browser origins (the Temporal Web UI) allowed to call the codec endpoint /codec"`
	}

	// OIDC is single sign-on for people (oidc.go).
	OIDC OIDC

	// Sim is the 100ms simulator's own settings (it also reads HMS and S3).
	Sim struct {
		Addr       string `env:"HMSSIM_ADDR" envDefault:"127.0.0.1:8090" doc:"the simulator's listen address (\x60go run ./cmd/simulator\x60, \x60make sim\x60, \x60make dev\x60)"`
		WebhookURL string `env:"HMSSIM_WEBHOOK_URL" envDefault:"http://127.0.0.1:8080/v1/webhooks/100ms" doc:"where the simulator delivers webhooks (with HMS_WEBHOOK_HEADER: HMS_WEBHOOK_SECRET)"`
		// The delays' defaults are the simulator's own (internal/callprovider/hmssim),
		// which a zero value selects.
		RecordingStartDelay Delay `env:"HMSSIM_RECORDING_START_DELAY" docDefault:"(the simulator's: 2s)" doc:"how long an auto-started recording stays starting after the first join"`
		RecordingReadyDelay Delay `env:"HMSSIM_RECORDING_READY_DELAY" docDefault:"(the simulator's: 9s)" doc:"from the end of a recording to its file in S3_BUCKET and beam.recording.success"`
		AbnormalLeaveDelay  Delay `env:"HMSSIM_ABNORMAL_LEAVE_DELAY" docDefault:"(the simulator's: 0s)" doc:"how long a peer whose connection broke may reconnect before peer.leave.success"`
		// Faults is JSON of hmssim.Faults, parsed by the simulator.
		Faults string `env:"HMSSIM_FAULTS" doc:"fault injection, JSON (see The 100ms simulator)"`
	}

	// temporalProfile is the Temporal SDK's profile (config file + TEMPORAL_*
	// variables) as read by Load, so that the environment is read only once.
	temporalProfile envconfig.ClientConfigProfile
	// set records which variables were given a non-empty value.
	set map[string]bool
}

// Delay is a duration of zero or more (the simulator's delays).
type Delay time.Duration

// List is a comma-separated list; items are trimmed and empty ones dropped.
type List []string

// Words is a space-separated list.
type Words []string

// Development values: the development object store's address and
// credentials, which config gives the services when S3_ENDPOINT is unset
// and `make dev` gives the store (cmd/devs3). Validate refuses them in
// production.
//
// #nosec G101 -- public development credentials, refused in production by Validate.
const (
	DevS3AccessKey = "vkyc-dev"
	DevS3SecretKey = "vkyc-dev-secret-key"
	DevS3Endpoint  = "127.0.0.1:9000"
)

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

// loader collects every error of one Load, so an operator sees all mistakes
// at once, each naming its variable.
type loader struct {
	errs []error
	// key is the variable being parsed: caarlos0/env calls OnSet for a
	// field just before its parser, which names the variable in its error.
	key string
}

func (l *loader) fail(name, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func load(e environment) (Config, error) {
	l := &loader{}
	var c Config
	// The library reads from a map of the variables the tags name (values
	// trimmed, secrets as given), with the product packages' defaults for
	// the variables whose tag has none.
	vars := map[string]string{}
	set := map[string]bool{}
	for _, f := range fields() {
		v := e.get(f.name)
		if !f.secret {
			v = strings.TrimSpace(v)
		}
		if v != "" {
			vars[f.name], set[f.name] = v, true
		} else if def, ok := codeDefaults()[f.name]; ok {
			vars[f.name] = def
		}
	}
	err := envparse.ParseWithOptions(&c, envparse.Options{
		Environment: vars,
		OnSet:       func(key string, _ any, _ bool) { l.key = key },
		FuncMap:     l.parsers(),
	})
	var agg envparse.AggregateError
	if errors.As(err, &agg) {
		for _, e := range agg.Errors {
			var pe envparse.ParseError
			if errors.As(e, &pe) {
				e = pe.Err // our parsers name the variable
			}
			l.errs = append(l.errs, e)
		}
	} else if err != nil {
		l.errs = append(l.errs, err)
	}
	c.set = set
	l.finish(&c)
	l.loadTemporal(&c, e)
	if len(l.errs) > 0 {
		return Config{}, fmt.Errorf("config: %w", errors.Join(l.errs...))
	}
	return c, nil
}

// parsers are the value types of Config. Their errors name the variable
// and say what a valid value looks like; none repeats a secret (secrets
// are strings, which never fail).
func (l *loader) parsers() map[reflect.Type]envparse.ParserFunc {
	return map[reflect.Type]envparse.ParserFunc{
		reflect.TypeFor[bool](): func(v string) (any, error) {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a boolean (use true or false)", l.key, v)
			}
			return b, nil
		},
		// Every duration is a timeout or a lifetime: zero and negative
		// values are refused.
		reflect.TypeFor[time.Duration](): func(v string) (any, error) {
			d, err := time.ParseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a duration (examples: 90s, 15m, 24h)", l.key, v)
			}
			if d <= 0 {
				return nil, fmt.Errorf("%s: %q must be positive", l.key, v)
			}
			return d, nil
		},
		reflect.TypeFor[Delay](): func(v string) (any, error) {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("%s: %q is not a duration of 0 or more (examples: 0, 2s, 1m)", l.key, v)
			}
			return Delay(d), nil
		},
		reflect.TypeFor[int](): func(v string) (any, error) {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s: %q is not a whole number of 0 or more", l.key, v)
			}
			return n, nil
		},
		reflect.TypeFor[List](): func(v string) (any, error) {
			var out List
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					out = append(out, item)
				}
			}
			return out, nil
		},
		reflect.TypeFor[Words](): func(v string) (any, error) { return Words(strings.Fields(v)), nil },
		reflect.TypeFor[ed25519.PrivateKey](): func(v string) (any, error) {
			seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
			switch {
			case err != nil:
				return nil, fmt.Errorf("%s: not standard base64 (want the base64 of a 32-byte Ed25519 seed)", l.key)
			case len(seed) != ed25519.SeedSize:
				return nil, fmt.Errorf("%s: %d bytes, want the %d-byte Ed25519 seed", l.key, len(seed), ed25519.SeedSize)
			}
			return ed25519.NewKeyFromSeed(seed), nil
		},
		// The field is a pointer; the library allocates it and sets what
		// it points to.
		reflect.TypeFor[codec.Keyring](): func(v string) (any, error) {
			keys, err := codec.ParseKeys(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", l.key, err)
			}
			return *keys, nil
		},
		reflect.TypeFor[map[string]kyc.Role](): func(v string) (any, error) { return parseRoleMap(l.key, v) },
		// The only int64 is a size in bytes.
		reflect.TypeFor[int64](): func(v string) (any, error) {
			n, err := parseBytes(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", l.key, err)
			}
			return n, nil
		},
	}
}

// parseBytes accepts a number of bytes with an optional KiB, MiB or GiB
// suffix.
func parseBytes(v string) (int64, error) {
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
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a size in bytes (examples: 10485760, 10MiB)", v)
	case n <= 0:
		return 0, fmt.Errorf("%q must be positive", v)
	case n > (1<<62)/unit:
		return 0, fmt.Errorf("%q is too large", v)
	}
	return n * unit, nil
}

// finish checks what the tags declare beyond types (oneof, min) and derives
// the fields without a tag.
func (l *loader) finish(c *Config) {
	for _, f := range fields() {
		v := f.value(c)
		if f.oneof != nil {
			s := strings.ToLower(v.String())
			switch {
			case contains(f.oneof, s):
			case len(f.oneof) == 2:
				l.fail(f.name, "%q is not %s or %s", s, f.oneof[0], f.oneof[1])
			default:
				l.fail(f.name, "%q is not one of %s", s, strings.Join(f.oneof, ", "))
			}
			v.SetString(s)
		}
		if f.min != "" && v.CanInt() {
			if n, _ := strconv.ParseInt(f.min, 10, 64); v.Int() < n {
				l.fail(f.name, "%d must be at least %d", v.Int(), n)
			}
		}
	}
	c.Production = c.Env == "production"
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	c.DataDir = filepath.Clean(c.DataDir)
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite://" + filepath.ToSlash(filepath.Join(c.DataDir, "vkyc.db"))
	}

	c.S3.DevStore = c.S3.Endpoint == ""
	if c.S3.DevStore {
		c.S3.Endpoint = DevS3Endpoint
		if c.S3.AccessKey == "" && c.S3.SecretKey == "" {
			c.S3.AccessKey, c.S3.SecretKey = DevS3AccessKey, DevS3SecretKey
		}
	}
	l.publicEndpoint(c)

	c.HMS.BaseURL = strings.TrimRight(c.HMS.BaseURL, "/")
	c.HMS.Simulated = c.HMS.BaseURL == strings.TrimRight(defaultOf(EnvHMSBaseURL), "/")
	c.HMS.RecordingPrefix = strings.Trim(c.HMS.RecordingPrefix, "/")

	if c.ConsentText == "" {
		c.ConsentText = DefaultConsentText
	}
	c.ConsentVersion = ConsentVersion(c.ConsentText)

	l.finishBank(c)
	l.finishOIDC(c)
}

// publicEndpoint reads S3_PUBLIC_ENDPOINT, a URL of scheme and host only
// (https://files.bank.example), into host:port and the scheme's security.
func (l *loader) publicEndpoint(c *Config) {
	c.S3.PublicEndpoint, c.S3.PublicSecure = c.S3.Endpoint, c.S3.Secure
	v := c.S3.PublicURL
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		l.fail(EnvS3PublicEndpoint, "%q is not a URL of scheme and host only, like https://files.bank.example", v)
		return
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	c.S3.PublicEndpoint, c.S3.PublicSecure = host, u.Scheme == "https"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
