package config

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vkyc-engine/vkyc/internal/platform/codec"
	"github.com/vkyc-engine/vkyc/workflows"
)

// Variable documents one environment variable: a row of the README's
// configuration table, which is generated from Variables (readme_test.go).
type Variable struct {
	Name    string
	Default string // as an operator would write it; a description in parentheses when there is no literal value
	Meaning string
}

// Names of variables that code refers to. Each is declared by a tag of
// Config; a test checks every constant names one.
//
// #nosec G101 -- the names of variables, not credentials.
const (
	EnvEnv            = "VKYC_ENV"
	EnvHTTPAddr       = "HTTP_ADDR"
	EnvWorkerHTTPAddr = "WORKER_HTTP_ADDR"
	EnvPublicBaseURL  = "PUBLIC_BASE_URL"
	EnvAuthSecret     = "API_JWT_SECRET"
	EnvDatabaseURL    = "DATABASE_URL"
	EnvDataDir        = "VKYC_DATA_DIR"
	EnvLogLevel       = "LOG_LEVEL"

	EnvS3Endpoint  = "S3_ENDPOINT"
	EnvS3AccessKey = "S3_ACCESS_KEY"
	EnvS3SecretKey = "S3_SECRET_KEY"
	EnvS3Bucket    = "S3_BUCKET"
	EnvS3Region    = "S3_REGION"
	EnvS3SSE       = "S3_SSE"
	EnvS3Secure    = "S3_SECURE"

	EnvS3PublicEndpoint   = "S3_PUBLIC_ENDPOINT"
	EnvS3AllowHTTP        = "S3_ALLOW_HTTP"
	EnvS3AllowUnencrypted = "S3_ALLOW_UNENCRYPTED"

	EnvTemporalAddress         = "TEMPORAL_ADDRESS"
	EnvTemporalNamespace       = "TEMPORAL_NAMESPACE"
	EnvTemporalTaskQueue       = "TEMPORAL_TASK_QUEUE"
	EnvTemporalGRPCCompression = "TEMPORAL_GRPC_COMPRESSION"

	EnvHMSBaseURL           = "HMS_BASE_URL"
	EnvHMSAccessKey         = "HMS_ACCESS_KEY"
	EnvHMSAppSecret         = "HMS_APP_SECRET"
	EnvHMSTemplateID        = "HMS_TEMPLATE_ID"
	EnvHMSWebhookHeader     = "HMS_WEBHOOK_HEADER"
	EnvHMSWebhookSecret     = "HMS_WEBHOOK_SECRET"
	EnvHMSWebhookHMACSecret = "HMS_WEBHOOK_HMAC_SECRET"
	EnvHMSRecordingPrefix   = "HMS_RECORDING_PREFIX"
	EnvHMSWebhookRateLimit  = "HMS_WEBHOOK_RATE_LIMIT"

	EnvCaseJoinTimeout       = "CASE_JOIN_TIMEOUT"
	EnvCaseMaxCallLength     = "CASE_MAX_CALL_LENGTH"
	EnvCaseDecisionWindow    = "CASE_DECISION_WINDOW"
	EnvCaseRecordingGrace    = "CASE_RECORDING_GRACE"
	EnvCaseAuditSLA          = "CASE_AUDIT_SLA"
	EnvCaseTTL               = "CASE_TTL"
	EnvCaseMaxAttempts       = "CASE_MAX_ATTEMPTS"
	EnvCaseRecordingDeadline = "CASE_RECORDING_DEADLINE"

	EnvReconcileInterval    = "RECONCILE_INTERVAL"
	EnvPurgeInterval        = "PURGE_INTERVAL"
	EnvIdempotencyRetention = "IDEMPOTENCY_RETENTION"
	EnvWebhookBodyRetention = "WEBHOOK_BODY_RETENTION"

	EnvCaptureMaxBytes = "CAPTURE_MAX_BYTES"
	EnvCaptureURLTTL   = "CAPTURE_URL_TTL"
	EnvRecordingURLTTL = "RECORDING_URL_TTL"
	EnvJoinTokenTTL    = "JOIN_TOKEN_TTL"

	EnvInviteTTL   = "INVITE_TTL"
	EnvConsentText = "CONSENT_TEXT"

	EnvBankWebhookURLs        = "BANK_WEBHOOK_URLS"
	EnvBankWebhookSecrets     = "BANK_WEBHOOK_SECRETS"
	EnvBankWebhookTimeout     = "BANK_WEBHOOK_TIMEOUT"
	EnvBankWebhookBackoff     = "BANK_WEBHOOK_BACKOFF"
	EnvBankWebhookBackoffMax  = "BANK_WEBHOOK_BACKOFF_MAX"
	EnvBankWebhookRetryWindow = "BANK_WEBHOOK_RETRY_WINDOW"

	EnvEvidenceSigningKey      = "EVIDENCE_SIGNING_KEY"
	EnvEvidenceRecordingInline = "EVIDENCE_RECORDING_INLINE_MAX"
	EnvEvidenceLinkTTL         = "EVIDENCE_LINK_TTL"

	EnvPayloadCodecKeys = "PAYLOAD_CODEC_KEYS"
	EnvCodecCORSOrigins = "CODEC_CORS_ORIGINS"

	EnvOIDCIssuer       = "OIDC_ISSUER"
	EnvOIDCClientID     = "OIDC_CLIENT_ID"
	EnvOIDCClientSecret = "OIDC_CLIENT_SECRET"
	EnvOIDCAudience     = "OIDC_AUDIENCE"
	EnvOIDCScopes       = "OIDC_SCOPES"
	EnvOIDCRoleClaim    = "OIDC_ROLE_CLAIM"
	EnvOIDCRoleMap      = "OIDC_ROLE_MAP"
	EnvOIDCSubjectClaim = "OIDC_SUBJECT_CLAIM"
	EnvOIDCClockSkew    = "OIDC_CLOCK_SKEW"

	EnvSimAddr                = "HMSSIM_ADDR"
	EnvSimWebhookURL          = "HMSSIM_WEBHOOK_URL"
	EnvSimRecordingStartDelay = "HMSSIM_RECORDING_START_DELAY"
	EnvSimRecordingReadyDelay = "HMSSIM_RECORDING_READY_DELAY"
	EnvSimAbnormalLeaveDelay  = "HMSSIM_ABNORMAL_LEAVE_DELAY"
	EnvSimFaults              = "HMSSIM_FAULTS"
)

// field is one tagged field of Config.
type field struct {
	name       string // the variable
	def        string // envDefault
	hasDef     bool
	doc        string
	docDefault string
	secret     bool // read as given, never trimmed
	oneof      []string
	min        string
	index      []int // reflect.Value.FieldByIndex of Config
}

func (f field) value(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(f.index)
}

// fields walks Config's tags once, in declaration order.
var fields = sync.OnceValue(func() []field {
	var out []field
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			name := sf.Tag.Get("env")
			if name == "" {
				if sf.Type.Kind() == reflect.Struct && sf.IsExported() {
					walk(sf.Type, idx)
				}
				continue
			}
			def, hasDef := sf.Tag.Lookup("envDefault")
			f := field{
				name: name, def: def, hasDef: hasDef,
				doc:        strings.ReplaceAll(sf.Tag.Get("doc"), `\x60`, "`"),
				docDefault: sf.Tag.Get("docDefault"),
				secret:     sf.Tag.Get("secret") == "true",
				min:        sf.Tag.Get("min"),
				index:      idx,
			}
			if o := sf.Tag.Get("oneof"); o != "" {
				f.oneof = strings.Fields(o)
			}
			out = append(out, f)
		}
	}
	walk(reflect.TypeFor[Config](), nil)
	return out
})

// defaultOf is the envDefault of a variable ("" if it has none).
func defaultOf(name string) string {
	for _, f := range fields() {
		if f.name == name {
			return f.def
		}
	}
	return ""
}

// codeDefaults are the defaults that a product package defines: the case
// limits are the workflow's own (workflows.DefaultTimeouts), so a case
// started without configuration and one started by the API agree.
var codeDefaults = sync.OnceValue(func() map[string]string {
	d := workflows.DefaultTimeouts()
	return map[string]string{
		EnvCaseJoinTimeout:       shortDuration(d.JoinTimeout),
		EnvCaseMaxCallLength:     shortDuration(d.MaxCallLength),
		EnvCaseDecisionWindow:    shortDuration(d.DecisionWindow),
		EnvCaseRecordingGrace:    shortDuration(d.RecordingGrace),
		EnvCaseAuditSLA:          shortDuration(d.AuditSLA),
		EnvCaseTTL:               shortDuration(d.CaseTTL),
		EnvCaseMaxAttempts:       strconv.Itoa(d.MaxAttempts),
		EnvCaseRecordingDeadline: shortDuration(d.RecordingDeadline),
		EnvPayloadCodecKeys:      codec.DevKeys(),
	}
})

// shortDuration writes d as an operator would: 30m, 72h, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Development defaults in use are what Insecure reports and production
// refuses.
var (
	devAuthSecret    = defaultOf(EnvAuthSecret)
	devHMSAccessKey  = defaultOf(EnvHMSAccessKey)
	devHMSAppSecret  = defaultOf(EnvHMSAppSecret)
	devWebhookSecret = defaultOf(EnvHMSWebhookSecret)
)

// The Temporal SDK's own variables (go.temporal.io/sdk/contrib/envconfig)
// that we pass through to it; the SDK reads them, so they are documented
// here rather than tagged. Its remote-codec variables are not passed: the
// service never uses a remote codec.
var temporalSDKVariables = []Variable{
	{"TEMPORAL_CONFIG_FILE", "(the SDK's default: <user config dir>/temporalio/temporal.toml, if present)", "Temporal client TOML config file"},
	{"TEMPORAL_PROFILE", "default", "profile to use from the Temporal config file"},
	{"TEMPORAL_API_KEY", "(none)", "Temporal Cloud API key; enables TLS"},
	{"TEMPORAL_TLS", "(off; on when TEMPORAL_API_KEY or any other TEMPORAL_TLS_* is set)", "true/false: connect to Temporal with TLS"},
	{"TEMPORAL_TLS_CLIENT_CERT_PATH", "(none)", "mTLS client certificate file"},
	{"TEMPORAL_TLS_CLIENT_CERT_DATA", "(none)", "mTLS client certificate, PEM"},
	{"TEMPORAL_TLS_CLIENT_KEY_PATH", "(none)", "mTLS client key file"},
	{"TEMPORAL_TLS_CLIENT_KEY_DATA", "(none)", "mTLS client key, PEM"},
	{"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "(system roots)", "CA certificate file for the Temporal server"},
	{"TEMPORAL_TLS_SERVER_CA_CERT_DATA", "(system roots)", "CA certificate for the Temporal server, PEM"},
	{"TEMPORAL_TLS_SERVER_NAME", "(the address's host)", "TLS server name (SNI) override"},
	{"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "(none; setting it turns TLS on)", "true: skip TLS host name verification (refused in production)"},
	{"TEMPORAL_CLIENT_AUTHORITY", "(none)", "gRPC :authority override"},
	{TemporalGRPCMetaPrefix + "<KEY>", "(none)", "gRPC metadata sent with Temporal calls"},
}

// TemporalGRPCMetaPrefix prefixes variables that become gRPC metadata on
// Temporal calls (TEMPORAL_GRPC_META_<KEY>=value); they are found by listing
// the environment, so Variables shows the pattern, not names.
const TemporalGRPCMetaPrefix = "TEMPORAL_GRPC_META_"

// Variables lists every environment variable the programs read, in the
// order of the README table: Config's tags, with the Temporal SDK's own
// variables after Temporal's.
func Variables() []Variable {
	var vars []Variable
	for _, f := range fields() {
		def := f.docDefault
		if def == "" {
			def = f.def
		}
		if cd, ok := codeDefaults()[f.name]; ok && def == "" {
			def = cd
		}
		if def == "" {
			def = "(none)"
		}
		vars = append(vars, Variable{Name: f.name, Default: def, Meaning: f.doc})
		if f.name == EnvTemporalGRPCCompression {
			vars = append(vars, temporalSDKVariables...)
		}
	}
	return vars
}
