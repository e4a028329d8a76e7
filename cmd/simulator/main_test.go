package main

import (
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

// load builds the simulator's workspace from env alone (unset variables
// read as empty), as the program does from its environment.
func load(env map[string]string) (hmssim.Config, error) {
	c, err := config.LoadFrom(func(k string) string { return env[k] })
	if err != nil {
		return hmssim.Config{}, err
	}
	return simulatorConfig(c)
}

func TestSimulatorConfig(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // no developer's Temporal config file
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	cfg, err := load(map[string]string{
		"HMS_APP_SECRET":               "s3cr3t",
		"HMS_WEBHOOK_SECRET":           "hook-secret",
		"HMSSIM_RECORDING_READY_DELAY": "1500ms",
		"HMSSIM_FAULTS":                `{"webhook_duplicate":true,"endpoints":{"*":{"error_rate":0.1,"latency":"20ms"}}}`,
		"S3_BUCKET":                    "recordings",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AccessKey != "dev-access-key" || cfg.AppSecret != "s3cr3t" || cfg.WebhookURL != "http://127.0.0.1:8080/v1/webhooks/100ms" ||
		cfg.WebhookHeaders["X-Vkyc-Webhook-Secret"] != "hook-secret" || cfg.RecordingReadyDelay != 1500*time.Millisecond ||
		cfg.RecordingStartDelay != 0 || cfg.Bucket != "recordings" || cfg.Prefix != "recordings" || cfg.Storage == nil ||
		!cfg.Faults.WebhookDuplicate || cfg.Faults.Endpoints["*"].Latency != 20*time.Millisecond {
		t.Fatalf("config %+v", cfg)
	}
	for k, v := range map[string]string{"HMSSIM_ABNORMAL_LEAVE_DELAY": "a minute", "HMSSIM_RECORDING_START_DELAY": "-1s",
		"S3_SECURE": "sometimes", "HMSSIM_FAULTS": `{"webhook_reorder":-1}`} {
		if _, err := load(map[string]string{k: v}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: error %v, want one naming it", k, v, err)
		}
	}
}

// TestDocumentedDelays: the configuration table shows the simulator's own
// defaults, which a zero delay selects (internal/callprovider/hmssim defines them).
func TestDocumentedDelays(t *testing.T) {
	want := map[string]time.Duration{
		config.EnvSimRecordingStartDelay: hmssim.DefaultRecordingStartDelay,
		config.EnvSimRecordingReadyDelay: hmssim.DefaultRecordingReadyDelay,
		config.EnvSimAbnormalLeaveDelay:  0,
	}
	for _, v := range config.Variables() {
		if d, ok := want[v.Name]; ok {
			if !strings.Contains(v.Default, ": "+d.String()+")") {
				t.Errorf("%s documents %q, but the simulator's default is %s", v.Name, v.Default, d)
			}
			delete(want, v.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("not documented: %v", want)
	}
}
