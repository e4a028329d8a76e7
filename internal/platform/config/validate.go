package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/workflows"
)

// WorkerHTTPOff as WORKER_HTTP_ADDR turns the worker's HTTP endpoints off.
const WorkerHTTPOff = "off"

// Limits that other parts impose on the configuration.
const (
	// maxCaptureBytes is the largest object internal/platform/blob's Put accepts.
	maxCaptureBytes = 5 << 30
	// Presigned URLs: a second is the smallest lifetime a signature can
	// express; blob.MaxPresignTTL caps them (a URL is a bearer secret).
	minURLTTL = time.Second
	maxURLTTL = blob.MaxPresignTTL
	// minAuthSecret is internal/bank/auth's minimum; production asks for
	// minSecretLen (secrets.go).
	minAuthSecret = 16
)

// Insecure names the variables whose development defaults (or
// development-only backends: SQLite, the development object store, the
// 100ms simulator) are in use. Only names: never values.
func (c Config) Insecure() []string {
	var names []string
	add := func(cond bool, name string) {
		if cond {
			names = append(names, name)
		}
	}
	add(c.AuthSecret == devAuthSecret, EnvAuthSecret)
	add(strings.HasPrefix(c.DatabaseURL, "sqlite:"), EnvDatabaseURL)
	add(c.S3.DevStore, EnvS3Endpoint)
	add(c.S3.AccessKey == DevS3AccessKey, EnvS3AccessKey)
	add(c.S3.SecretKey == DevS3SecretKey, EnvS3SecretKey)
	add(c.HMS.Simulated, EnvHMSBaseURL)
	add(c.HMS.AccessKey == devHMSAccessKey, EnvHMSAccessKey)
	add(c.HMS.AppSecret == devHMSAppSecret, EnvHMSAppSecret)
	add(c.HMS.WebhookSecret == devWebhookSecret, EnvHMSWebhookSecret)
	add(c.Evidence.SigningKey.Equal(DevEvidenceKey()), EnvEvidenceSigningKey)
	add(c.Codec.Keys != nil && c.Codec.Keys.UsesDevKey(), EnvPayloadCodecKeys)
	return names
}

// Validate checks that the values make sense together, and in production
// mode that no development default remains. Every message names its
// variable; none repeats a secret or the database URL (it may hold a
// password).
func (c Config) Validate() error {
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}

	if err := checkHostPort(c.HTTPAddr); err != nil {
		fail(EnvHTTPAddr, "%v", err)
	}
	if c.WorkerHTTPAddr != WorkerHTTPOff {
		if err := checkHostPort(c.WorkerHTTPAddr); err != nil {
			fail(EnvWorkerHTTPAddr, "%v (or %s)", err, WorkerHTTPOff)
		}
	}
	if err := checkBaseURL(c.PublicBaseURL); err != nil {
		fail(EnvPublicBaseURL, "%v", err)
	}
	if len(c.AuthSecret) < minAuthSecret {
		fail(EnvAuthSecret, "must be at least %d bytes", minAuthSecret)
	}
	if err := checkDatabaseURL(c.DatabaseURL); err != nil {
		fail(EnvDatabaseURL, "%v", err)
	}

	if strings.Contains(c.S3.Endpoint, "://") {
		fail(EnvS3Endpoint, "give host:port without a scheme (S3_SECURE=true selects HTTPS)")
	} else if err := checkHostPort(c.S3.Endpoint); err != nil {
		fail(EnvS3Endpoint, "%v", err)
	}
	if err := blob.ValidBucketName(c.S3.Bucket); err != nil {
		fail(EnvS3Bucket, "%v", err)
	}
	if c.S3.DevStore {
		if c.set[EnvS3AccessKey] || c.set[EnvS3SecretKey] {
			fail(EnvS3AccessKey+"/"+EnvS3SecretKey, "the development object store that make dev starts takes its built-in credentials; unset them, or set %s to use another S3 server", EnvS3Endpoint)
		}
	} else {
		if c.S3.AccessKey == "" {
			fail(EnvS3AccessKey, "required when %s is set", EnvS3Endpoint)
		}
		if c.S3.SecretKey == "" {
			fail(EnvS3SecretKey, "required when %s is set", EnvS3Endpoint)
		}
	}

	if err := checkHostPort(c.Temporal.Address); err != nil {
		fail(EnvTemporalAddress, "%v", err)
	}
	if c.Temporal.Namespace == "" {
		fail(EnvTemporalNamespace, "must not be empty")
	}
	if c.Temporal.TaskQueue == "" {
		fail(EnvTemporalTaskQueue, "must not be empty")
	}
	if _, err := c.TemporalClientOptions(); err != nil {
		fail("TEMPORAL_TLS_*", "%v", err)
	}

	if err := checkBaseURL(c.HMS.BaseURL); err != nil {
		fail(EnvHMSBaseURL, "%v", err)
	}
	if !isHeaderName(c.HMS.WebhookHeader) {
		fail(EnvHMSWebhookHeader, "%q is not a valid HTTP header name", c.HMS.WebhookHeader)
	}

	if c.Case.CaseTTL <= c.Case.JoinTimeout+c.Case.MaxCallLength {
		fail(EnvCaseTTL, "%s must be longer than %s + %s (%s), or a case could expire during its first call",
			c.Case.CaseTTL, EnvCaseJoinTimeout, EnvCaseMaxCallLength, c.Case.JoinTimeout+c.Case.MaxCallLength)
	}
	if c.Capture.MaxBytes > maxCaptureBytes {
		fail(EnvCaptureMaxBytes, "at most %d bytes (5 GiB), the object store's limit for one capture", int64(maxCaptureBytes))
	}
	for _, ttl := range []struct {
		name string
		d    time.Duration
	}{{EnvCaptureURLTTL, c.Capture.URLTTL}, {EnvRecordingURLTTL, c.RecordingURLTTL}} {
		if ttl.d < minURLTTL || ttl.d > maxURLTTL {
			fail(ttl.name, "%s is out of range (%s to %s, the limits of presigned URLs)", ttl.d, minURLTTL, maxURLTTL)
		}
	}
	// What the workflow accepts, checked now: a limit it refuses would
	// otherwise pass start-up and fail every create.
	if c.Case.MaxAttempts > workflows.MaxAttemptsLimit {
		fail(EnvCaseMaxAttempts, "%d is more than the workflow allows (%d)", c.Case.MaxAttempts, workflows.MaxAttemptsLimit)
	} else if err := c.WorkflowTimeouts().Validate(); err != nil {
		fail("CASE_*", "the workflow refuses these limits: %v", err)
	}
	if c.JoinTokenTTL < c.Case.JoinTimeout {
		fail(EnvJoinTokenTTL, "%s is shorter than %s (%s): a participant's token could expire before the join deadline",
			c.JoinTokenTTL, EnvCaseJoinTimeout, c.Case.JoinTimeout)
	}

	errs = append(errs, c.bankErrors()...)
	errs = append(errs, c.oidcErrors()...)
	if c.Production {
		errs = append(errs, c.productionErrors()...)
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

func (c Config) productionErrors() []error {
	var errs []error
	for _, name := range c.Insecure() {
		errs = append(errs, fmt.Errorf("%s: a development default or development-only backend is in use; %s=production needs a real value", name, EnvEnv))
	}
	errs = append(errs, c.secretErrors()...)
	if !c.S3.Secure && !c.S3.AllowHTTP {
		errs = append(errs, fmt.Errorf("%s: must be true in production (captures and credentials travel to the object store); set %s=true to accept plain HTTP inside a private network",
			EnvS3Secure, EnvS3AllowHTTP))
	}
	if !c.S3.PublicSecure && !c.S3.AllowHTTP {
		errs = append(errs, fmt.Errorf("%s: presigned URLs must be https in production (set %s=true to accept http)", EnvS3PublicEndpoint, EnvS3AllowHTTP))
	}
	if c.S3.SSE != "on" && !c.S3.AllowUnencrypted {
		errs = append(errs, fmt.Errorf("%s: must be on in production (auto stores objects unencrypted on a server without SSE); set %s=true to accept unencrypted objects",
			EnvS3SSE, EnvS3AllowUnencrypted))
	}
	if u, err := url.Parse(c.PublicBaseURL); err == nil && u.Scheme != "https" {
		errs = append(errs, fmt.Errorf("%s: must be an https URL in production (100ms delivers webhooks to it)", EnvPublicBaseURL))
	}
	if c.HMS.TemplateID == "" {
		errs = append(errs, fmt.Errorf("%s: required in production", EnvHMSTemplateID))
	}
	if c.temporalProfile.TLS != nil && c.temporalProfile.TLS.DisableHostVerification {
		errs = append(errs, errors.New("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: must not be true in production"))
	}
	return errs
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has an invalid port", addr)
	}
	if strings.ContainsAny(host, "/?#@ ") {
		return fmt.Errorf("%q has an invalid host", addr)
	}
	return nil
}

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must not carry credentials, a query or a fragment", raw)
	}
	return nil
}

// checkDatabaseURL accepts what internal/platform/store opens. The URL may hold a
// password, so messages never repeat it.
func checkDatabaseURL(dsn string) error {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return errors.New("not a valid PostgreSQL URL")
		}
		return nil
	case dsn == "sqlite::memory:":
		return nil
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		if path == "" || strings.ContainsAny(path, "?#") {
			return errors.New("sqlite:// needs a plain file path")
		}
		return nil
	}
	return errors.New("want a postgres://…, postgresql://… or sqlite://<path> URL, or sqlite::memory: for a database in memory")
}

func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// WorkflowTimeouts are the case limits as the workflow takes them; the API
// starts every case with these.
func (c Config) WorkflowTimeouts() workflows.Timeouts {
	cc := c.Case
	return workflows.Timeouts{
		JoinTimeout: cc.JoinTimeout, MaxCallLength: cc.MaxCallLength, DecisionWindow: cc.DecisionWindow,
		RecordingGrace: cc.RecordingGrace, AuditSLA: cc.AuditSLA, CaseTTL: cc.CaseTTL, MaxAttempts: cc.MaxAttempts,
		RecordingDeadline: cc.RecordingDeadline,
	}
}

// CaseDefaults are the configured settings of new cases: the API starts
// cases with them, the reconciler starts and closes cases with them.
func (c Config) CaseDefaults() workflows.CaseDefaults {
	return workflows.CaseDefaults{
		Timeouts:   c.WorkflowTimeouts(),
		Recordings: workflows.RecordingLocation{Bucket: c.S3.Bucket, Prefix: c.HMS.RecordingPrefix},
	}
}
