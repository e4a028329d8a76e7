package hmssim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by ConfigFromEnv, with their defaults. The
// credentials default to the development values the rest of the project
// uses when run locally.
//
// #nosec G101 -- names of variables; the values in comments are the public development defaults.
const (
	EnvAccessKey           = "HMS_ACCESS_KEY"               // dev-access-key
	EnvAppSecret           = "HMS_APP_SECRET"               // dev-app-secret-change-me
	EnvWebhookURL          = "HMSSIM_WEBHOOK_URL"           // http://127.0.0.1:8080/v1/webhooks/100ms
	EnvWebhookHeader       = "HMS_WEBHOOK_HEADER"           // X-Vkyc-Webhook-Secret
	EnvWebhookSecret       = "HMS_WEBHOOK_SECRET"           // dev-webhook-secret
	EnvRecordingStartDelay = "HMSSIM_RECORDING_START_DELAY" // 2s
	EnvRecordingReadyDelay = "HMSSIM_RECORDING_READY_DELAY" // 9s
	EnvAbnormalLeaveDelay  = "HMSSIM_ABNORMAL_LEAVE_DELAY"  // 0
	EnvS3Endpoint          = "S3_ENDPOINT"                  // 127.0.0.1:9000
	EnvS3AccessKey         = "S3_ACCESS_KEY"                // empty
	EnvS3SecretKey         = "S3_SECRET_KEY"                // empty
	EnvS3Bucket            = "S3_BUCKET"                    // vkyc
	EnvRecordingPrefix     = "HMS_RECORDING_PREFIX"         // recordings
	EnvS3Secure            = "S3_SECURE"                    // false
	EnvFaults              = "HMSSIM_FAULTS"                // JSON of Faults
)

// ConfigFromEnv builds the standalone simulator's Config from getenv (e.g.
// os.Getenv), with recordings written to the S3 endpoint it names.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		AccessKey:  get(EnvAccessKey, "dev-access-key"),
		AppSecret:  get(EnvAppSecret, "dev-app-secret-change-me"),
		WebhookURL: get(EnvWebhookURL, "http://127.0.0.1:8080/v1/webhooks/100ms"),
		WebhookHeaders: map[string]string{
			get(EnvWebhookHeader, "X-Vkyc-Webhook-Secret"): get(EnvWebhookSecret, "dev-webhook-secret"),
		},
		Bucket: get(EnvS3Bucket, "vkyc"),
		Prefix: strings.Trim(get(EnvRecordingPrefix, "recordings"), "/"),
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{EnvRecordingStartDelay, &cfg.RecordingStartDelay},
		{EnvRecordingReadyDelay, &cfg.RecordingReadyDelay},
		{EnvAbnormalLeaveDelay, &cfg.AbnormalLeaveDelay},
	} {
		if v := getenv(d.name); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil || dur < 0 {
				return Config{}, fmt.Errorf("%s=%q: want a non-negative Go duration such as 2s", d.name, v)
			}
			*d.dst = dur
		}
	}
	secure := false
	if v := getenv(EnvS3Secure); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: want true or false", EnvS3Secure, v)
		}
		secure = b
	}
	store, err := NewMinIOStore(get(EnvS3Endpoint, "127.0.0.1:9000"), getenv(EnvS3AccessKey), getenv(EnvS3SecretKey), secure)
	if err != nil {
		return Config{}, err
	}
	cfg.Storage = store
	if v := getenv(EnvFaults); v != "" {
		f, err := ParseFaults([]byte(v))
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", EnvFaults, err)
		}
		cfg.Faults = f
	}
	return cfg, nil
}
