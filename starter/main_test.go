package main

import (
	"bytes"
	"context"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

const testSecret = "starter-test-secret-0123456789abcdef"

// runStarter runs the command line in-process, as main would.
func runStarter(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// isolateEnv gives every test the same configuration whatever the
// developer's shell exports.
func isolateEnv(t *testing.T) {
	t.Helper()
	for _, v := range config.Variables() {
		if !strings.Contains(v.Name, "<") {
			t.Setenv(v.Name, "")
		}
	}
	t.Setenv(config.EnvAuthSecret, testSecret)
}

func TestUsageErrors(t *testing.T) {
	isolateEnv(t)
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no command", nil, "no command given"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"case without subcommand", []string{"case"}, "case needs a subcommand"},
		{"unknown case subcommand", []string{"case", "delete", "x"}, `unknown case subcommand "delete"`},
		{"create without ref", []string{"case", "create", "--name", "A"}, "--ref is required"},
		{"create with blank ref", []string{"case", "create", "--ref", "  "}, "--ref is required"},
		{"create with unknown capture", []string{"case", "create", "--ref", "R1", "--captures", "face,selfie"}, `"selfie" is not a capture kind`},
		{"create with duplicate capture", []string{"case", "create", "--ref", "R1", "--captures", "face,face"}, `"face" is listed twice`},
		{"create with stray argument", []string{"case", "create", "--ref", "R1", "extra"}, `unexpected argument "extra"`},
		{"create with unknown flag", []string{"case", "create", "--reference", "R1"}, "flag provided but not defined: -reference"},
		{"show without id", []string{"case", "show"}, "want exactly one case id, got 0"},
		{"show with two ids", []string{"case", "show", "a", "b"}, "want exactly one case id, got 2"},
		{"list with unknown status", []string{"case", "list", "--status", "done"}, `--status "done" is not a case status`},
		{"list with limit too large", []string{"case", "list", "--limit", "101"}, "--limit 101 is outside 1..100"},
		{"list with bad limit", []string{"case", "list", "--limit", "ten"}, `invalid value "ten" for flag -limit`},
		{"token without role", []string{"token", "--sub", "agent-7"}, "--role is required"},
		{"token with unknown role", []string{"token", "--role", "customer", "--sub", "c-1"}, `--role "customer" is not one of`},
		{"token without sub", []string{"token", "--role", "agent"}, "--sub is required"},
		{"sso-token without user", []string{"sso-token", "--page", "audit"}, "--user is required"},
		{"token with ttl too long", []string{"token", "--role", "agent", "--sub", "a", "--ttl", "721h"}, "--ttl 721h0m0s is outside"},
		{"token with negative ttl", []string{"token", "--role", "agent", "--sub", "a", "--ttl", "-1h"}, "is outside"},
		{"token with bad ttl", []string{"token", "--role", "agent", "--sub", "a", "--ttl", "soon"}, `invalid value "soon" for flag -ttl`},
		{"template without apply", []string{"template"}, "template needs the subcommand apply"},
		{"template with other subcommand", []string{"template", "delete"}, "template needs the subcommand apply"},
		{"template key without secret", []string{"template", "apply", "--access-key", "AK"}, "--access-key and --secret-key-file go together"},
		{"demo with stray argument", []string{"demo", "now"}, `unexpected argument "now"`},
		{"demo with zero wait", []string{"demo", "--wait", "0s"}, "--wait must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runStarter(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing on a usage error", stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	isolateEnv(t)
	for _, args := range [][]string{{"-h"}, {"help"}, {"--help"}} {
		code, stdout, _ := runStarter(t, args...)
		if code != exitOK || !strings.Contains(stdout, "Usage: starter COMMAND") {
			t.Errorf("%v: exit %d, stdout %q; want 0 and the usage", args, code, stdout)
		}
	}
	code, _, stderr := runStarter(t, "token", "-h")
	if code != exitOK || !strings.Contains(stderr, "Usage: starter token") || !strings.Contains(stderr, "-ttl") {
		t.Errorf("token -h: exit %d, stderr %q; want 0 and the token flags", code, stderr)
	}
}

func TestToken(t *testing.T) {
	isolateEnv(t)
	tests := []struct {
		args    []string
		sub     string
		role    kyc.Role
		wantTTL time.Duration
	}{
		{[]string{"token", "--role", "agent", "--sub", "agent-7"}, "agent-7", kyc.RoleAgent, defaultTokenTTL},
		{[]string{"token", "--role", "auditor", "--sub", "aud-1", "--ttl", "30m"}, "aud-1", kyc.RoleAuditor, 30 * time.Minute},
		{[]string{"token", "--sub", "bank-backend", "--ttl=720h", "--role=service"}, "bank-backend", kyc.RoleService, auth.MaxTTL},
		{[]string{"token", "-role", "admin", "-sub", "ops"}, "ops", kyc.RoleAdmin, defaultTokenTTL},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			before := time.Now()
			code, stdout, stderr := runStarter(t, tt.args...)
			if code != exitOK {
				t.Fatalf("exit code %d, stderr %q", code, stderr)
			}
			tok := strings.TrimSpace(stdout)
			if strings.Count(stdout, "\n") != 1 || strings.Contains(tok, " ") {
				t.Fatalf("stdout %q: want the token alone on one line", stdout)
			}
			claims, err := auth.Parse([]byte(testSecret), tok, time.Now())
			if err != nil {
				t.Fatalf("auth.Parse: %v", err)
			}
			if claims.Subject != tt.sub || claims.Role != tt.role {
				t.Errorf("claims sub=%q role=%q, want %q %q", claims.Subject, claims.Role, tt.sub, tt.role)
			}
			// exp is whole seconds; allow for that and for the test's own time.
			lo, hi := before.Add(tt.wantTTL).Add(-time.Second), time.Now().Add(tt.wantTTL).Add(time.Second)
			if claims.ExpiresAt.Before(lo) || claims.ExpiresAt.After(hi) {
				t.Errorf("expires at %s, want between %s and %s", claims.ExpiresAt, lo, hi)
			}
			if _, err := auth.Parse([]byte("some-other-secret-0123456789"), tok, time.Now()); err == nil {
				t.Error("the token verifies with another secret")
			}
			if strings.Contains(stderr, tok) {
				t.Error("the token is repeated on stderr")
			}
		})
	}
}

func TestTokenConfigErrors(t *testing.T) {
	tests := []struct {
		name, variable, value, want string
	}{
		{"short secret", config.EnvAuthSecret, "short", "auth secret must be at least 16 bytes"},
		{"bad environment", config.EnvEnv, "prod", `VKYC_ENV: "prod" is not development or production`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateEnv(t)
			t.Setenv(tt.variable, tt.value)
			code, stdout, stderr := runStarter(t, "token", "--role", "agent", "--sub", "a")
			if code != exitFail || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, and %q", code, stdout, stderr, tt.want)
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args           []string
		wantPositional []string
		wantAPI        string
	}{
		{[]string{"ID"}, []string{"ID"}, ""},
		{[]string{"ID", "--api", "http://x"}, []string{"ID"}, "http://x"},
		{[]string{"--api", "http://x", "ID"}, []string{"ID"}, "http://x"},
		{[]string{"a", "--api=http://y", "b"}, []string{"a", "b"}, "http://y"},
		{[]string{"--", "--api", "x"}, []string{"--api", "x"}, ""},
		{nil, nil, ""},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		api := fs.String("api", "", "")
		got, err := parse(fs, tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.wantPositional) || *api != tt.wantAPI {
			t.Errorf("%q: positional %q api %q, want %q %q", tt.args, got, *api, tt.wantPositional, tt.wantAPI)
		}
	}
}

func TestParseKinds(t *testing.T) {
	got, err := parseKinds(" face , id_front,pan")
	want := []kyc.CaptureKind{kyc.CaptureFace, kyc.CaptureIDFront, kyc.CapturePAN}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseKinds = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "face,", "FACE", "face,face"} {
		if _, err := parseKinds(bad); err == nil {
			t.Errorf("parseKinds(%q) accepted", bad)
		}
	}
}

func TestSimulatorBase(t *testing.T) {
	tests := []struct {
		hmsBaseURL, want string
		wantErr          bool
	}{
		{"", "http://127.0.0.1:8090", false},
		{"http://sim.local:9999/v2", "http://sim.local:9999", false},
		{"http://sim.local:9999/v2/", "http://sim.local:9999", false},
		{"https://api.100ms.live/v2", "", true},
	}
	for _, tt := range tests {
		cfg, err := config.LoadFrom(func(name string) string {
			if name == config.EnvHMSBaseURL {
				return tt.hmsBaseURL
			}
			return ""
		})
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		got, err := simulatorBase(cfg)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("HMS_BASE_URL=%q: %q, %v; want %q (error %t)", tt.hmsBaseURL, got, err, tt.want, tt.wantErr)
		}
	}
}
