package config

import "strconv"

// Variable documents one environment variable. The README's configuration
// table is generated from Variables, and a test checks that the list matches
// exactly what Load reads.
type Variable struct {
	Name    string
	Default string // as an operator would write it; a description in parentheses when there is no literal value
	Meaning string
}

// Development defaults. They make `make dev` work with no setup; Insecure
// reports which are in use and Validate refuses them in production.
//
// #nosec G101 -- public development defaults, refused in production by Validate.
const (
	devAuthSecret    = "vkyc-dev-jwt-secret-not-for-production"
	devHMSAccessKey  = "dev-access-key"
	devHMSAppSecret  = "dev-app-secret-change-me"
	devWebhookSecret = "dev-webhook-secret"
	// The embedded object store accepts only these (blob.EmbeddedAccessKey
	// and blob.EmbeddedSecretKey; a test keeps them equal).
	embeddedS3AccessKey = "vkyc-dev"
	embeddedS3SecretKey = "vkyc-dev-secret-key"
	embeddedS3Endpoint  = "127.0.0.1:9000"
	simulatorBaseURL    = "http://127.0.0.1:8090/v2"
)

// defaultWebhookRateLimit is far above what one 100ms account sends (a call
// is about ten events over minutes) and far below what a flood needs.
const defaultWebhookRateLimit = 200

// Names of the variables Load reads.
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

	EnvInviteTTL              = "INVITE_TTL"
	EnvConsentText            = "CONSENT_TEXT"
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
)

// The Temporal SDK's own variables (go.temporal.io/sdk/contrib/envconfig)
// that we pass through to it. Its remote-codec variables are not passed:
// the service never uses a remote codec.
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
}

// TemporalGRPCMetaPrefix prefixes variables that become gRPC metadata on
// Temporal calls (TEMPORAL_GRPC_META_<KEY>=value); they are found by listing
// the environment, so Variables shows the pattern, not names.
const TemporalGRPCMetaPrefix = "TEMPORAL_GRPC_META_"

// Variables lists every environment variable the service reads, in the
// order of the README table.
func Variables() []Variable {
	vars := []Variable{
		{EnvEnv, "development", "`production` turns on Validate's production checks (dev defaults and embedded stores refused); anything but `development` or `production` is an error"},
		{EnvHTTPAddr, "127.0.0.1:8080", "address the HTTP API listens on"},
		{EnvWorkerHTTPAddr, "127.0.0.1:8081", "address where the worker serves /metrics (its own and the Temporal SDK's), /healthz and /readyz; `off` serves nothing; two workers on one host need two addresses"},
		{EnvPublicBaseURL, "http://127.0.0.1:8080", "public URL of the API, used for the webhook URL shown to operators"},
		{EnvAuthSecret, "(development secret)", "HMAC secret signing API tokens; at least 16 bytes; in production at least 32, not a placeholder, not a repeated pattern"},
		{EnvDatabaseURL, "sqlite://<VKYC_DATA_DIR>/vkyc.db", "postgres://…, postgresql://… or sqlite://<path>"},
		{EnvDataDir, ".run/dev", "directory for local data (SQLite file, embedded object store)"},
		{EnvLogLevel, "info", "debug, info, warn or error"},

		{EnvS3Endpoint, "(unset: embedded store on " + embeddedS3Endpoint + ")", "S3/MinIO endpoint as host:port; unset, `make dev` serves an embedded store from VKYC_DATA_DIR"},
		{EnvS3AccessKey, "(embedded store's credential)", "S3 access key (required with S3_ENDPOINT)"},
		{EnvS3SecretKey, "(embedded store's credential)", "S3 secret key (required with S3_ENDPOINT)"},
		{EnvS3Bucket, "vkyc", "bucket for captures and recordings"},
		{EnvS3Region, "us-east-1", "bucket region"},
		{EnvS3SSE, "auto", "server-side encryption: auto (SSE-S3 when supported), on (required) or off; production needs on unless S3_ALLOW_UNENCRYPTED=true"},
		{EnvS3Secure, "false", "true/false: HTTPS to S3_ENDPOINT (false is refused in production unless S3_ALLOW_HTTP=true)"},
		{EnvS3PublicEndpoint, "(S3_ENDPOINT)", "where browsers reach the bucket, as scheme and host (https://files.bank.example): presigned capture and recording URLs are signed for it; http is refused in production unless S3_ALLOW_HTTP=true"},
		{EnvS3AllowHTTP, "false", "true: production accepts plain HTTP to the object store (S3_SECURE=false, an http S3_PUBLIC_ENDPOINT), e.g. inside a private network"},
		{EnvS3AllowUnencrypted, "false", "true: production accepts objects without server-side encryption; otherwise production needs S3_SSE=on"},

		{EnvTemporalAddress, "127.0.0.1:7233", "Temporal frontend host:port (also read by the Temporal SDK; a value in the Temporal config file is used when this is unset)"},
		{EnvTemporalNamespace, "default", "Temporal namespace (same precedence as TEMPORAL_ADDRESS)"},
		{EnvTemporalTaskQueue, "kyc-cases", "task queue of the KYC case workflows"},
		{EnvTemporalGRPCCompression, "none", "none or gzip: compression of requests to Temporal; gzip pays off over a WAN link (Temporal Cloud), none saves CPU in the same network"},
	}
	vars = append(vars, temporalSDKVariables...)
	vars = append(vars, []Variable{
		{TemporalGRPCMetaPrefix + "<KEY>", "(none)", "gRPC metadata sent with Temporal calls"},

		{EnvHMSBaseURL, simulatorBaseURL, "100ms API base URL; the default is the local simulator"},
		{EnvHMSAccessKey, "(development value)", "100ms app access key"},
		{EnvHMSAppSecret, "(development value)", "100ms app secret (signs management and auth tokens)"},
		{EnvHMSTemplateID, "(none)", "100ms template of KYC rooms (required in production)"},
		{EnvHMSWebhookHeader, "X-Vkyc-Webhook-Secret", "header carrying the webhook secret that 100ms sends"},
		{EnvHMSWebhookSecret, "(development value)", "expected value of HMS_WEBHOOK_HEADER"},
		{EnvHMSWebhookHMACSecret, "(none)", "when set, webhooks must also carry a valid HMAC-SHA256 body signature"},
		{EnvHMSRecordingPrefix, "recordings", "key prefix of recordings in S3_BUCKET (the template's upload prefix); a recording announced elsewhere is ignored"},
		{EnvHMSWebhookRateLimit, strconv.Itoa(defaultWebhookRateLimit), "webhook deliveries a second accepted from one source address (bursts of twice that); more get 429 with Retry-After, which 100ms retries; 0 turns the limit off"},

		{EnvCaseJoinTimeout, "30m", "how long both parties have to join a call"},
		{EnvCaseMaxCallLength, "30m", "longest call before it is ended"},
		{EnvCaseDecisionWindow, "15m", "time for the agent's decision after the call"},
		{EnvCaseRecordingGrace, "10m", "wait for the recording after the call"},
		{EnvCaseAuditSLA, "24h", "time for the auditor before a case is flagged overdue"},
		{EnvCaseTTL, "72h", "lifetime of a case before it expires"},
		{EnvCaseMaxAttempts, "3", "call attempts per case (at most 10, the workflow's limit)"},
		{EnvCaseRecordingDeadline, "1h", "longest wait for a verified recording after the call; then the attempt fails (recording_unverified)"},

		{EnvReconcileInterval, "1m", "how often the reconciler (a Temporal Schedule) closes cases whose workflow was closed from outside and ends stray rooms"},
		{EnvPurgeInterval, "1h", "how often the purge (a Temporal Schedule) removes expired idempotency keys and webhook bodies"},
		{EnvIdempotencyRetention, "168h", "how long Idempotency-Key records are kept"},
		{EnvWebhookBodyRetention, "720h", "how long raw 100ms webhook bodies are kept (the inbox row and its outcome stay)"},

		{EnvCaptureMaxBytes, "10MiB", "largest capture upload, in bytes (KiB/MiB/GiB suffixes accepted)"},
		{EnvCaptureURLTTL, "5m", "lifetime of presigned capture download URLs (1s to 1h)"},
		{EnvRecordingURLTTL, "30m", "lifetime of presigned recording URLs handed to reviewers (1s to 1h)"},
		{EnvJoinTokenTTL, "2h", "lifetime of 100ms join tokens handed to participants"},
		{EnvInviteTTL, "24h", "lifetime of customer invite links (`POST /v1/cases/{id}/invites`)"},
		{EnvConsentText, "(the built-in English text)", "consent text the customer agrees to on the join page; its version is the first 16 hex digits of its SHA-256"},

		{EnvBankWebhookURLs, "(none: no webhooks are recorded or sent)", "comma-separated http(s) endpoints of the bank that receive every case's status changes, captures and verified recordings (https in production)"},
		{EnvBankWebhookSecrets, "(none; required with BANK_WEBHOOK_URLS)", "comma-separated Standard Webhooks signing secrets (`whsec_` + base64 of 24 to 64 bytes; `starter webhook-secret` makes one); each message is signed with every one, so two allow a rotation"},
		{EnvBankWebhookTimeout, "10s", "longest wait for the bank's answer to one delivery attempt"},
		{EnvBankWebhookBackoff, "5s", "wait before the first retry of a failed delivery; it doubles with each attempt, with jitter"},
		{EnvBankWebhookBackoffMax, "1h", "longest wait between two attempts"},
		{EnvBankWebhookRetryWindow, "24h", "how long a delivery is retried before it fails (at least 24h in production)"},

		{EnvEvidenceSigningKey, "(development key)", "Ed25519 key that signs evidence packs: base64 of its 32-byte seed (`starter evidence keygen` makes one)"},
		{EnvEvidenceRecordingInline, "1GiB", "largest recording put into an evidence pack; a larger one is linked (presigned URL) instead"},
		{EnvEvidenceLinkTTL, "1h", "lifetime of the recording link in an evidence pack (1s to 1h, as every presigned URL; later, `GET /v1/cases/{id}/recording` gives a fresh one)"},

		{EnvPayloadCodecKeys, "(development key)", "AES-256 keys sealing Temporal payloads, `id:base64key,...` (32 bytes each): the first seals, all open, so a new key goes first and old ones stay until their histories are gone"},
		{EnvCodecCORSOrigins, "http://127.0.0.1:8233,http://localhost:8233", "browser origins (the Temporal Web UI) allowed to call the codec endpoint /codec"},
	}...)
	vars = append(vars, oidcVariables...)
	return vars
}
