package config

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/vkyc-engine/vkyc/workflows"
)

// env is a test environment: unset variables read as "".
type env map[string]string

func (e env) getenv(name string) string { return e[name] }

func (e env) with(kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// isolate keeps the developer's own Temporal config file out of the tests.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
}

func mustLoad(t *testing.T, e env) Config {
	t.Helper()
	c, err := LoadFrom(e.getenv)
	if err != nil {
		t.Fatalf("LoadFrom: %v", err)
	}
	return c
}

// loadValidated is what a program does with its environment: LoadFrom,
// then Validate.
func loadValidated(e env) (Config, error) {
	c, err := LoadFrom(e.getenv)
	if err == nil {
		err = c.Validate()
	}
	return c, err
}

// wantRefusal fails t unless err is nil where want is "", or an error
// containing want.
func wantRefusal(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("refused: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("got %v, want an error containing %q", err, want)
	}
}

// noSecrets fails t if err repeats one of secretValues or of more.
func noSecrets(t *testing.T, err error, more ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append(slices.Clone(secretValues), more...) {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("the error repeats a secret: %v", err)
		}
	}
}

// wantFields checks the fields of c named by their path ("S3.Endpoint")
// against their wanted values.
func wantFields(t *testing.T, c Config, want map[string]any) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		v := reflect.ValueOf(c)
		for f := range strings.SplitSeq(name, ".") {
			v = v.FieldByName(f)
		}
		if !v.IsValid() {
			t.Errorf("Config has no field %s", name)
		} else if got := v.Interface(); !reflect.DeepEqual(got, want[name]) {
			t.Errorf("%s = %v, want %v", name, got, want[name])
		}
	}
}

func TestDefaults(t *testing.T) {
	isolate(t)
	c := mustLoad(t, env{})
	wantFields(t, c, map[string]any{
		"HTTPAddr":              "127.0.0.1:8080",
		"PublicBaseURL":         "http://127.0.0.1:8080",
		"AuthSecret":            devAuthSecret,
		"DataDir":               ".run/dev",
		"DatabaseURL":           "sqlite://.run/dev/vkyc.db",
		"LogLevel":              "info",
		"Production":            false,
		"S3.Endpoint":           "127.0.0.1:9000",
		"S3.DevStore":           true,
		"S3.AccessKey":          DevS3AccessKey,
		"S3.SecretKey":          DevS3SecretKey,
		"S3.Bucket":             "vkyc",
		"S3.Region":             "us-east-1",
		"S3.SSE":                "auto",
		"S3.Secure":             false,
		"Temporal.Address":      "127.0.0.1:7233",
		"Temporal.Namespace":    "default",
		"Temporal.TaskQueue":    "kyc-cases",
		"HMS.BaseURL":           "http://127.0.0.1:8090/v2",
		"HMS.Simulated":         true,
		"HMS.AccessKey":         "dev-access-key",
		"HMS.AppSecret":         "dev-app-secret-change-me",
		"HMS.TemplateID":        "",
		"HMS.WebhookHeader":     "X-Vkyc-Webhook-Secret",
		"HMS.WebhookSecret":     "dev-webhook-secret",
		"HMS.WebhookHMACSecret": "",
		"Case.JoinTimeout":      30 * time.Minute,
		"Case.MaxCallLength":    30 * time.Minute,
		"Case.DecisionWindow":   15 * time.Minute,
		"Case.RecordingGrace":   10 * time.Minute,
		"Case.AuditSLA":         24 * time.Hour,
		"Case.CaseTTL":          72 * time.Hour,
		"Case.MaxAttempts":      3,
		"Capture.MaxBytes":      int64(10 << 20),
		"Capture.URLTTL":        5 * time.Minute,
		"JoinTokenTTL":          2 * time.Hour,
	})
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults do not validate in development: %v", err)
	}
	wantInsecure := []string{EnvAuthSecret, EnvDatabaseURL, EnvS3Endpoint, EnvS3AccessKey, EnvS3SecretKey,
		EnvHMSBaseURL, EnvHMSAccessKey, EnvHMSAppSecret, EnvHMSWebhookSecret, EnvEvidenceSigningKey, EnvPayloadCodecKeys}
	if got := c.Insecure(); !slices.Equal(got, wantInsecure) {
		t.Fatalf("Insecure() = %v, want %v", got, wantInsecure)
	}
}

// production is a complete production environment.
var production = env{
	"VKYC_ENV":                "production",
	"HTTP_ADDR":               "0.0.0.0:9090",
	"PUBLIC_BASE_URL":         "https://kyc.bank.example/",
	"API_JWT_SECRET":          "Jx7qP2vL9sKd4mWz8cRt1nBy6hFg3aEu-prod",
	"DATABASE_URL":            "postgres://vkyc:pg-password-1@db.internal:5432/vkyc?sslmode=verify-full",
	"VKYC_DATA_DIR":           "/var/lib/vkyc",
	"LOG_LEVEL":               "WARN",
	"S3_ENDPOINT":             "s3.bank.example:443",
	"S3_ACCESS_KEY":           "AKIAPRODKEY",
	"S3_SECRET_KEY":           "s3-Secret-value-9Xq2Lm7",
	"S3_BUCKET":               "kyc-evidence",
	"S3_REGION":               "ap-south-1",
	"S3_SSE":                  "on",
	"S3_SECURE":               "true",
	"TEMPORAL_ADDRESS":        "temporal.internal:7233",
	"TEMPORAL_NAMESPACE":      "kyc-prod",
	"TEMPORAL_TASK_QUEUE":     "kyc-prod-cases",
	"HMS_BASE_URL":            "https://api.100ms.live/v2/",
	"HMS_ACCESS_KEY":          "hms-access-1",
	"HMS_APP_SECRET":          "hms-app-secret-1",
	"HMS_TEMPLATE_ID":         "tmpl-123",
	"HMS_WEBHOOK_HEADER":      "X-Bank-Hook",
	"HMS_WEBHOOK_SECRET":      "hook-5e3f1c9a7b2d8e4f6a0c1b3d5e7f9a2c",
	"HMS_WEBHOOK_HMAC_SECRET": "hmac-8d2b6f0e4a9c3e7b1f5d9a3c7e1b5f0d",
	"CASE_JOIN_TIMEOUT":       "20m",
	"CASE_MAX_CALL_LENGTH":    "45m",
	"CASE_DECISION_WINDOW":    "10m",
	"CASE_RECORDING_GRACE":    "5m",
	"CASE_AUDIT_SLA":          "48h",
	"CASE_TTL":                "96h",
	"CASE_MAX_ATTEMPTS":       "5",
	"CAPTURE_MAX_BYTES":       "8MiB",
	"CAPTURE_URL_TTL":         "2m",
	"JOIN_TOKEN_TTL":          "1h",
	"BANK_WEBHOOK_URLS":       "https://hooks.bank.example/kyc",
	"BANK_WEBHOOK_SECRETS":    "whsec_YmFuay13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5YWI=",
	"EVIDENCE_SIGNING_KEY":    "ZXZpZGVuY2Utc2VlZC0wMTIzNDU2Nzg5YWJjZGVmZ2g=",
	"PAYLOAD_CODEC_KEYS":      "prod-1:Y29kZWMta2V5LXByb2QtMDEyMzQ1Njc4OWFiY2RlZmc=",
}

// secretValues must never appear in an error message.
var secretValues = []string{"Jx7qP2vL9sKd4mWz8cRt1nBy6hFg3aEu-prod", "pg-password-1", "s3-Secret-value-9Xq2Lm7", "hms-app-secret-1", "hook-5e3f1c9a7b2d8e4f6a0c1b3d5e7f9a2c", "hmac-8d2b6f0e4a9c3e7b1f5d9a3c7e1b5f0d", devAuthSecret, devHMSAppSecret, devWebhookSecret, "CHANGE-ME-0123456789abcdef0123456789abcdef", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef-prod", "s3-secret-value-1", "hook-secret-1", "hmac-secret-1", "whsec_YmFuay13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5YWI=", "ZXZpZGVuY2Utc2VlZC0wMTIzNDU2Nzg5YWJjZGVmZ2g=", "Y29kZWMta2V5LXByb2QtMDEyMzQ1Njc4OWFiY2RlZmc="}

func TestOverrides(t *testing.T) {
	isolate(t)
	c := mustLoad(t, production)
	wantFields(t, c, map[string]any{
		"Production":            true,
		"HTTPAddr":              "0.0.0.0:9090",
		"PublicBaseURL":         "https://kyc.bank.example", // trailing slash dropped
		"AuthSecret":            production["API_JWT_SECRET"],
		"DatabaseURL":           production["DATABASE_URL"],
		"DataDir":               "/var/lib/vkyc",
		"LogLevel":              "warn", // case-insensitive
		"S3.Endpoint":           "s3.bank.example:443",
		"S3.DevStore":           false,
		"S3.AccessKey":          "AKIAPRODKEY",
		"S3.SecretKey":          "s3-Secret-value-9Xq2Lm7",
		"S3.Bucket":             "kyc-evidence",
		"S3.Region":             "ap-south-1",
		"S3.SSE":                "on",
		"S3.Secure":             true,
		"Temporal.Address":      "temporal.internal:7233",
		"Temporal.Namespace":    "kyc-prod",
		"Temporal.TaskQueue":    "kyc-prod-cases",
		"HMS.BaseURL":           "https://api.100ms.live/v2",
		"HMS.Simulated":         false,
		"HMS.AccessKey":         "hms-access-1",
		"HMS.AppSecret":         "hms-app-secret-1",
		"HMS.TemplateID":        "tmpl-123",
		"HMS.WebhookHeader":     "X-Bank-Hook",
		"HMS.WebhookSecret":     "hook-5e3f1c9a7b2d8e4f6a0c1b3d5e7f9a2c",
		"HMS.WebhookHMACSecret": "hmac-8d2b6f0e4a9c3e7b1f5d9a3c7e1b5f0d",
		"Case.JoinTimeout":      20 * time.Minute,
		"Case.MaxCallLength":    45 * time.Minute,
		"Case.DecisionWindow":   10 * time.Minute,
		"Case.RecordingGrace":   5 * time.Minute,
		"Case.AuditSLA":         48 * time.Hour,
		"Case.CaseTTL":          96 * time.Hour,
		"Case.MaxAttempts":      5,
		"Capture.MaxBytes":      int64(8 << 20),
		"Capture.URLTTL":        2 * time.Minute,
		"JoinTokenTTL":          time.Hour,
		"Outbound.URLs":         List{"https://hooks.bank.example/kyc"},
		"Outbound.RetryWindow":  24 * time.Hour,
	})
	if got := c.Codec.Keys.ActiveID(); got != "prod-1" {
		t.Errorf("Codec.ActiveID = %v, want prod-1", got)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("a complete production configuration does not validate: %v", err)
	}
	if got := c.Insecure(); len(got) != 0 {
		t.Fatalf("Insecure() = %v for a production configuration", got)
	}
}

func TestSmallerOverrides(t *testing.T) {
	isolate(t)
	cases := []struct {
		name  string
		env   env
		check func(c Config) bool
	}{
		{"data dir moves the default database", env{"VKYC_DATA_DIR": "/tmp/vk/"}, func(c Config) bool {
			return c.DataDir == "/tmp/vk" && c.DatabaseURL == "sqlite:///tmp/vk/vkyc.db"
		}},
		{"capture size in plain bytes", env{"CAPTURE_MAX_BYTES": "1234"}, func(c Config) bool { return c.Capture.MaxBytes == 1234 }},
		{"capture size in KiB", env{"CAPTURE_MAX_BYTES": "512KiB"}, func(c Config) bool { return c.Capture.MaxBytes == 512<<10 }},
		{"capture size in GiB", env{"CAPTURE_MAX_BYTES": "1 GiB"}, func(c Config) bool { return c.Capture.MaxBytes == 1<<30 }},
		{"compound duration", env{"CASE_AUDIT_SLA": "1h30m"}, func(c Config) bool { return c.Case.AuditSLA == 90*time.Minute }},
		{"S3 mode case-insensitive", env{"S3_SSE": "OFF"}, func(c Config) bool { return c.S3.SSE == "off" }},
		{"S3 secure as 1", env{"S3_SECURE": "1"}, func(c Config) bool { return c.S3.Secure }},
		{"explicit development", env{"VKYC_ENV": "Development"}, func(c Config) bool { return !c.Production }},
		{"secrets keep their spaces", env{"API_JWT_SECRET": " spaced secret value 123 "}, func(c Config) bool {
			return c.AuthSecret == " spaced secret value 123 "
		}},
		{"explicit default profile without a file", env{"TEMPORAL_PROFILE": "default"}, func(c Config) bool {
			return c.Temporal.Address == "127.0.0.1:7233"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if c := mustLoad(t, tc.env); !tc.check(c) {
				t.Fatalf("unexpected configuration: %+v", c)
			}
		})
	}
}

func TestInvalidValues(t *testing.T) {
	isolate(t)
	cases := []struct{ name, value string }{
		{"VKYC_ENV", "prod"},
		{"VKYC_ENV", "staging"},
		{"LOG_LEVEL", "verbose"},
		{"S3_SSE", "maybe"},
		{"S3_SSE", "aws:kms"},
		{"S3_SECURE", "yes"},
		{"CASE_JOIN_TIMEOUT", "soon"},
		{"CASE_JOIN_TIMEOUT", "-5m"},
		{"CASE_JOIN_TIMEOUT", "0s"},
		{"CASE_JOIN_TIMEOUT", "30"},
		{"CASE_MAX_CALL_LENGTH", "1d"},
		{"CASE_DECISION_WINDOW", "-1h"},
		{"CASE_RECORDING_GRACE", "ten minutes"},
		{"CASE_AUDIT_SLA", "0"},
		{"CASE_TTL", "-72h"},
		{"CASE_MAX_ATTEMPTS", "0"},
		{"CASE_MAX_ATTEMPTS", "-1"},
		{"CASE_MAX_ATTEMPTS", "three"},
		{"CASE_MAX_ATTEMPTS", "2.5"},
		{"CAPTURE_MAX_BYTES", "-1"},
		{"CAPTURE_MAX_BYTES", "0"},
		{"CAPTURE_MAX_BYTES", "10MB"},
		{"CAPTURE_MAX_BYTES", "lots"},
		{"CAPTURE_MAX_BYTES", "9999999999999GiB"},
		{"CAPTURE_URL_TTL", "-5m"},
		{"JOIN_TOKEN_TTL", "forever"},
		{"RECORDING_URL_TTL", "0"},
		{"S3_PUBLIC_ENDPOINT", "https://files.bank.example/vkyc"},
		{"S3_PUBLIC_ENDPOINT", "files.bank.example:443"},
		{"S3_PUBLIC_ENDPOINT", "https://u:p@files.bank.example"},
		{"S3_ALLOW_HTTP", "maybe"},
		{"HMS_WEBHOOK_RATE_LIMIT", "-1"},
		{"HMS_WEBHOOK_RATE_LIMIT", "lots"},
		{"TEMPORAL_TLS", "yes"},
		{"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "sure"},
		{"TEMPORAL_PROFILE", "missing"},
		{"TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml"},
	}
	for _, tc := range cases {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := LoadFrom(env{tc.name: tc.value}.getenv)
			if err == nil {
				t.Fatalf("LoadFrom accepted %s=%q", tc.name, tc.value)
			}
			if !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("error %q does not name %s", err, tc.name)
			}
		})
	}
	t.Run("every mistake is reported at once", func(t *testing.T) {
		_, err := LoadFrom(env{"CASE_TTL": "x", "S3_SSE": "y", "CASE_MAX_ATTEMPTS": "-2"}.getenv)
		for _, name := range []string{"CASE_TTL", "S3_SSE", "CASE_MAX_ATTEMPTS"} {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("error %v does not name %s", err, name)
			}
		}
	})
	t.Run("a bad Temporal config file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "temporal.toml")
		if err := os.WriteFile(file, []byte("[profile.default\naddress = "), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFrom(env{"TEMPORAL_CONFIG_FILE": file}.getenv); err == nil || !strings.Contains(err.Error(), "TEMPORAL_CONFIG_FILE") {
			t.Fatalf("LoadFrom with a broken TOML file = %v", err)
		}
	})
}

func TestValidate(t *testing.T) {
	isolate(t)
	s3 := env{"S3_ENDPOINT": "minio:9000", "S3_ACCESS_KEY": "k", "S3_SECRET_KEY": "s"}
	cases := []struct {
		name    string
		env     env
		wantVar string
	}{
		{"address without port", env{"HTTP_ADDR": "8080"}, "HTTP_ADDR"},
		{"address with a bad port", env{"HTTP_ADDR": "127.0.0.1:http"}, "HTTP_ADDR"},
		{"base URL with another scheme", env{"PUBLIC_BASE_URL": "ftp://kyc.example"}, "PUBLIC_BASE_URL"},
		{"relative base URL", env{"PUBLIC_BASE_URL": "/kyc"}, "PUBLIC_BASE_URL"},
		{"base URL with credentials", env{"PUBLIC_BASE_URL": "https://u:p@kyc.example"}, "PUBLIC_BASE_URL"},
		{"base URL with a query", env{"PUBLIC_BASE_URL": "https://kyc.example/?x=1"}, "PUBLIC_BASE_URL"},
		{"short JWT secret", env{"API_JWT_SECRET": "short"}, "API_JWT_SECRET"},
		{"unsupported database", env{"DATABASE_URL": "mysql://root:pg-password-1@db/vkyc"}, "DATABASE_URL"},
		{"sqlite URL with options", env{"DATABASE_URL": "sqlite:///tmp/x.db?mode=ro"}, "DATABASE_URL"},
		{"S3 endpoint with a scheme", s3.with("S3_ENDPOINT", "http://minio:9000"), "S3_ENDPOINT"},
		{"S3 endpoint without port", s3.with("S3_ENDPOINT", "minio"), "S3_ENDPOINT"},
		{"S3 endpoint without access key", env{"S3_ENDPOINT": "minio:9000", "S3_SECRET_KEY": "s"}, "S3_ACCESS_KEY"},
		{"S3 endpoint without secret key", env{"S3_ENDPOINT": "minio:9000", "S3_ACCESS_KEY": "k"}, "S3_SECRET_KEY"},
		{"credentials for the development store", env{"S3_ACCESS_KEY": "mine"}, "S3_ACCESS_KEY"},
		{"bad bucket name", env{"S3_BUCKET": "KYC_Bucket"}, "S3_BUCKET"},
		{"bucket name like an IP", env{"S3_BUCKET": "10.0.0.1"}, "S3_BUCKET"},
		{"Temporal address without port", env{"TEMPORAL_ADDRESS": "temporal"}, "TEMPORAL_ADDRESS"},
		{"HMS URL that is not a URL", env{"HMS_BASE_URL": "api.100ms.live"}, "HMS_BASE_URL"},
		{"webhook header with a space", env{"HMS_WEBHOOK_HEADER": "X Secret"}, "HMS_WEBHOOK_HEADER"},
		{"case TTL shorter than a call", env{"CASE_TTL": "45m"}, "CASE_TTL"},
		{"capture limit above the store's", env{"CAPTURE_MAX_BYTES": "6GiB"}, "CAPTURE_MAX_BYTES"},
		{"capture URL TTL beyond 7 days", env{"CAPTURE_URL_TTL": "200h"}, "CAPTURE_URL_TTL"},
		{"capture URL TTL under a second", env{"CAPTURE_URL_TTL": "500ms"}, "CAPTURE_URL_TTL"},
		{"capture URL TTL beyond an hour", env{"CAPTURE_URL_TTL": "2h"}, "CAPTURE_URL_TTL"},
		{"recording URL TTL beyond an hour", env{"RECORDING_URL_TTL": "61m"}, "RECORDING_URL_TTL"},
		{"more attempts than the workflow allows", env{"CASE_MAX_ATTEMPTS": "11"}, "CASE_MAX_ATTEMPTS"},
		{"join token shorter than the join timeout", env{"JOIN_TOKEN_TTL": "10m"}, "JOIN_TOKEN_TTL"},
		{"unreadable Temporal client certificate", env{"TEMPORAL_TLS_CLIENT_CERT_PATH": "/nonexistent.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": "/nonexistent.key"}, "TEMPORAL_TLS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, tc.env)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantVar) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.wantVar)
			}
			noSecrets(t, err)
		})
	}
	t.Run("a real S3 server with credentials", func(t *testing.T) {
		if err := mustLoad(t, s3).Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestProductionValidation(t *testing.T) {
	isolate(t)
	t.Run("nothing set", func(t *testing.T) {
		c := mustLoad(t, env{"VKYC_ENV": "production"})
		err := c.Validate()
		if err == nil {
			t.Fatal("production with every development default validated")
		}
		for _, name := range append(c.Insecure(), EnvHMSTemplateID, EnvPublicBaseURL) {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error does not name %s: %v", name, err)
			}
		}
		noSecrets(t, err)
	})
	// Each case spoils one thing in an otherwise complete production setup.
	cases := []struct {
		name    string
		env     env
		wantVar string
	}{
		{"development JWT secret", production.with("API_JWT_SECRET", ""), "API_JWT_SECRET"},
		{"short JWT secret", production.with("API_JWT_SECRET", "0123456789abcdef0123"), "API_JWT_SECRET"},
		{"default database", production.with("DATABASE_URL", ""), "DATABASE_URL"},
		{"explicit SQLite", production.with("DATABASE_URL", "sqlite:///var/lib/vkyc/vkyc.db"), "DATABASE_URL"},
		{"development object store", production.with("S3_ENDPOINT", "", "S3_ACCESS_KEY", "", "S3_SECRET_KEY", ""), "S3_ENDPOINT"},
		{"development store's credentials on a real S3", production.with("S3_ACCESS_KEY", DevS3AccessKey, "S3_SECRET_KEY", DevS3SecretKey), "S3_SECRET_KEY"},
		{"100ms simulator", production.with("HMS_BASE_URL", ""), "HMS_BASE_URL"},
		{"development 100ms access key", production.with("HMS_ACCESS_KEY", ""), "HMS_ACCESS_KEY"},
		{"development 100ms secret", production.with("HMS_APP_SECRET", ""), "HMS_APP_SECRET"},
		{"development webhook secret", production.with("HMS_WEBHOOK_SECRET", ""), "HMS_WEBHOOK_SECRET"},
		{"no template", production.with("HMS_TEMPLATE_ID", ""), "HMS_TEMPLATE_ID"},
		{"plain-HTTP public URL", production.with("PUBLIC_BASE_URL", "http://kyc.bank.example"), "PUBLIC_BASE_URL"},
		{"Temporal host verification off", production.with("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "true"), "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"},
		// Placeholders and weak secrets (deploy/compose.env.example's values among them).
		{"example JWT secret", production.with("API_JWT_SECRET", "CHANGE-ME-0123456789abcdef0123456789abcdef"), "API_JWT_SECRET"},
		{"repeated JWT secret", production.with("API_JWT_SECRET", "0123456789abcdef0123456789abcdef"), "API_JWT_SECRET"},
		{"one-letter JWT secret", production.with("API_JWT_SECRET", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "API_JWT_SECRET"},
		{"low-variety JWT secret", production.with("API_JWT_SECRET", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbb1"), "API_JWT_SECRET"},
		{"short webhook secret", production.with("HMS_WEBHOOK_SECRET", "hook-secret-1"), "HMS_WEBHOOK_SECRET"},
		{"example webhook secret", production.with("HMS_WEBHOOK_SECRET", "CHANGE-ME-webhook-secret"), "HMS_WEBHOOK_SECRET"},
		{"weak HMAC secret", production.with("HMS_WEBHOOK_HMAC_SECRET", "secretsecretsecretsecretsecretsecret"), "HMS_WEBHOOK_HMAC_SECRET"},
		{"example S3 secret", production.with("S3_SECRET_KEY", "CHANGE-ME-minio-root-password"), "S3_SECRET_KEY"},
		{"short S3 secret", production.with("S3_SECRET_KEY", "minio123"), "S3_SECRET_KEY"},
		{"example 100ms access key", production.with("HMS_ACCESS_KEY", "CHANGE-ME-100ms-access-key"), "HMS_ACCESS_KEY"},
		{"example 100ms secret", production.with("HMS_APP_SECRET", "CHANGE-ME-100ms-app-secret"), "HMS_APP_SECRET"},
		{"example template", production.with("HMS_TEMPLATE_ID", "CHANGE-ME-template-id"), "HMS_TEMPLATE_ID"},
		{"example database password", production.with("DATABASE_URL", "postgres://vkyc:CHANGE-ME-vkyc-db-password@db:5432/vkyc"), "DATABASE_URL"},
		// Object storage: HTTPS and encryption unless explicitly allowed.
		{"plain-HTTP object store", production.with("S3_SECURE", "false"), "S3_SECURE"},
		{"plain-HTTP public endpoint", production.with("S3_PUBLIC_ENDPOINT", "http://files.bank.example"), "S3_PUBLIC_ENDPOINT"},
		{"encryption left to auto", production.with("S3_SSE", "auto"), "S3_SSE"},
		{"encryption off", production.with("S3_SSE", "off"), "S3_SSE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, tc.env)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantVar) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.wantVar)
			}
			noSecrets(t, err)
			// The same configuration is acceptable in development, apart from
			// the checks that apply everywhere.
			dev := c
			dev.Production = false
			if err := dev.Validate(); err != nil {
				t.Fatalf("the same settings fail in development too: %v", err)
			}
		})
	}
}

// TestProductionOptIns: plain HTTP and unencrypted objects pass production
// when, and only when, they are allowed explicitly.
func TestProductionOptIns(t *testing.T) {
	isolate(t)
	insecure := production.with("S3_SECURE", "false", "S3_SSE", "auto", "S3_PUBLIC_ENDPOINT", "http://files.bank.example:8000")
	if err := mustLoad(t, insecure).Validate(); err == nil {
		t.Fatal("plain HTTP and SSE auto validated in production without the opt-ins")
	}
	c := mustLoad(t, insecure.with("S3_ALLOW_HTTP", "true", "S3_ALLOW_UNENCRYPTED", "true"))
	if err := c.Validate(); err != nil {
		t.Fatalf("with the opt-ins: %v", err)
	}
	if c.S3.PublicEndpoint != "files.bank.example:8000" || c.S3.PublicSecure {
		t.Fatalf("public endpoint %q secure %t", c.S3.PublicEndpoint, c.S3.PublicSecure)
	}
	c = mustLoad(t, production.with("S3_PUBLIC_ENDPOINT", "https://files.bank.example"))
	if c.S3.PublicEndpoint != "files.bank.example:443" || !c.S3.PublicSecure {
		t.Fatalf("public endpoint %q secure %t", c.S3.PublicEndpoint, c.S3.PublicSecure)
	}
	if c := mustLoad(t, production); c.S3.PublicEndpoint != c.S3.Endpoint || c.S3.PublicSecure != c.S3.Secure {
		t.Fatalf("without S3_PUBLIC_ENDPOINT: %q, want S3_ENDPOINT", c.S3.PublicEndpoint)
	}
}

// recorder is an environment that notes every name it is asked for.
type recorder struct {
	env  env
	read map[string]bool
}

func (r *recorder) getenv(name string) string {
	r.read[name] = true
	return r.env[name]
}

func TestVariablesCoverEverythingLoadReads(t *testing.T) {
	isolate(t)
	documented := map[string]bool{}
	for _, v := range Variables() {
		if documented[v.Name] {
			t.Errorf("%s is listed twice", v.Name)
		}
		documented[v.Name] = true
		if v.Default == "" || v.Meaning == "" {
			t.Errorf("%s has no default or no meaning", v.Name)
		}
	}
	read := map[string]bool{}
	for _, e := range []env{{}, production, {"S3_ENDPOINT": "minio:9000"}, {"TEMPORAL_PROFILE": "default", "TEMPORAL_TLS": "true"}} {
		r := &recorder{env: e, read: read}
		if _, err := LoadFrom(r.getenv); err != nil {
			t.Fatalf("LoadFrom: %v", err)
		}
	}
	for name := range read {
		if !documented[name] {
			t.Errorf("Load reads %s, which Variables does not list", name)
		}
	}
	for name := range documented {
		if strings.HasPrefix(name, TemporalGRPCMetaPrefix) {
			continue // found by listing the environment, not by name
		}
		if !read[name] {
			t.Errorf("Variables lists %s, which Load never reads", name)
		}
	}
}

// TestDocumentedDefaultsAreTheDefaults sets each variable to the default the
// table shows and checks nothing changes.
func TestDocumentedDefaultsAreTheDefaults(t *testing.T) {
	isolate(t)
	base := mustLoad(t, env{})
	for _, v := range Variables() {
		if strings.HasPrefix(v.Default, "(") || strings.Contains(v.Default, "<") {
			continue // a description, not a value
		}
		c := mustLoad(t, env{v.Name: v.Default})
		if !reflect.DeepEqual(public(c), public(base)) {
			t.Errorf("%s=%s changes the configuration: the documented default is wrong", v.Name, v.Default)
		}
	}
}

// public drops the unexported bookkeeping fields.
func public(c Config) Config {
	c.set = nil
	c.temporalProfile = envconfig.ClientConfigProfile{}
	return c
}

func TestTemporalClientOptions(t *testing.T) {
	isolate(t)
	t.Run("defaults: plain connection", func(t *testing.T) {
		opts, err := mustLoad(t, env{}).TemporalClientOptions()
		if err != nil {
			t.Fatal(err)
		}
		if opts.HostPort != "127.0.0.1:7233" || opts.Namespace != "default" || opts.ConnectionOptions.TLS != nil || opts.Credentials != nil {
			t.Fatalf("options = %+v", opts)
		}
	})
	t.Run("API key turns TLS on", func(t *testing.T) {
		opts, err := mustLoad(t, env{"TEMPORAL_API_KEY": "key", "TEMPORAL_ADDRESS": "ns.tmprl.cloud:7233", "TEMPORAL_NAMESPACE": "ns.acct"}).TemporalClientOptions()
		if err != nil {
			t.Fatal(err)
		}
		if opts.HostPort != "ns.tmprl.cloud:7233" || opts.Namespace != "ns.acct" || opts.Credentials == nil || opts.ConnectionOptions.TLS == nil {
			t.Fatalf("options = %+v", opts)
		}
	})
	t.Run("TLS can be turned off explicitly", func(t *testing.T) {
		opts, err := mustLoad(t, env{"TEMPORAL_API_KEY": "key", "TEMPORAL_TLS": "false"}).TemporalClientOptions()
		if err != nil {
			t.Fatal(err)
		}
		if !opts.ConnectionOptions.TLSDisabled {
			t.Fatalf("options = %+v", opts)
		}
	})
	t.Run("config file profile, environment on top", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "temporal.toml")
		toml := "[profile.default]\naddress = \"file-host:7233\"\nnamespace = \"file-ns\"\n" +
			"[profile.bank]\naddress = \"bank-host:7233\"\nnamespace = \"bank-ns\"\n[profile.bank.tls]\nserver_name = \"temporal.bank\"\n"
		if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
			t.Fatal(err)
		}
		c := mustLoad(t, env{"TEMPORAL_CONFIG_FILE": file})
		if c.Temporal.Address != "file-host:7233" || c.Temporal.Namespace != "file-ns" {
			t.Fatalf("from the file: %+v", c.Temporal)
		}
		c = mustLoad(t, env{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "bank", "TEMPORAL_NAMESPACE": "env-ns"})
		opts, err := c.TemporalClientOptions()
		if err != nil {
			t.Fatal(err)
		}
		if opts.HostPort != "bank-host:7233" || opts.Namespace != "env-ns" || opts.ConnectionOptions.TLS == nil || opts.ConnectionOptions.TLS.ServerName != "temporal.bank" {
			t.Fatalf("profile bank with TEMPORAL_NAMESPACE: %+v", opts)
		}
	})
	t.Run("gRPC metadata from the process environment", func(t *testing.T) {
		t.Setenv("TEMPORAL_GRPC_META_X_TENANT", "bank")
		c, err := Load()
		if err != nil {
			t.Fatal(err)
		}
		opts, err := c.TemporalClientOptions()
		if err != nil {
			t.Fatal(err)
		}
		if opts.HeadersProvider == nil {
			t.Fatal("no headers provider")
		}
		h, err := opts.HeadersProvider.GetHeaders(context.Background())
		if err != nil || h["x-tenant"] != "bank" {
			t.Fatalf("headers = %v, %v", h, err)
		}
	})
}

func TestLoadReadsTheProcessEnvironment(t *testing.T) {
	isolate(t)
	t.Setenv("CASE_MAX_ATTEMPTS", "7")
	t.Setenv("S3_SSE", "nonsense")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "S3_SSE") {
		t.Fatalf("Load = %v, want an error naming S3_SSE", err)
	}
	t.Setenv("S3_SSE", "off")
	c, err := Load()
	if err != nil || c.Case.MaxAttempts != 7 || c.S3.SSE != "off" {
		t.Fatalf("Load = %+v, %v", c.Case, err)
	}
}

func TestLogger(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		level          string
		debug, info, w bool
	}{
		{"debug", true, true, true},
		{"info", false, true, true},
		{"warn", false, false, true},
		{"error", false, false, false},
	} {
		t.Run(tc.level, func(t *testing.T) {
			c := mustLoad(t, env{"LOG_LEVEL": tc.level})
			var buf bytes.Buffer
			log := c.logger(&buf)
			log.Debug("d")
			log.Info("i")
			log.Warn("w")
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if line == "" {
					continue
				}
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("not JSON: %q", line)
				}
				got = append(got, rec["msg"].(string))
			}
			var want []string
			for _, m := range []struct {
				on  bool
				msg string
			}{{tc.debug, "d"}, {tc.info, "i"}, {tc.w, "w"}} {
				if m.on {
					want = append(want, m.msg)
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Fatalf("logged %v, want %v", got, want)
			}
		})
	}
	if c := mustLoad(t, env{}); c.Logger() == nil {
		t.Fatal("Logger() returned nil")
	}
}

// TestEnvConstantsAreTags: the names code refers to are declared by
// Config's tags, nowhere else.
func TestEnvConstantsAreTags(t *testing.T) {
	tagged := map[string]bool{}
	for _, f := range fields() {
		if tagged[f.name] {
			t.Errorf("%s is tagged twice", f.name)
		}
		tagged[f.name] = true
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "variables.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range file.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Env") {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					continue
				}
				n++
				if v, _ := strconv.Unquote(lit.Value); !tagged[v] {
					t.Errorf("%s = %s names no tagged field of Config", name.Name, lit.Value)
				}
			}
		}
	}
	if n < 50 {
		t.Fatalf("found only %d Env constants", n)
	}
}

// TestCaseDefaultsAreTheWorkflows: the case limits default to the
// workflow's own defaults.
func TestCaseDefaultsAreTheWorkflows(t *testing.T) {
	isolate(t)
	c := mustLoad(t, env{})
	if got, want := c.WorkflowTimeouts(), workflows.DefaultTimeouts(); got != want {
		t.Fatalf("default case limits %+v, want the workflow's %+v", got, want)
	}
}
