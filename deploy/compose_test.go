// The tests of this folder validate docker-compose.yml, the
// Dockerfile and the deployment support files in deploy/ against what the
// programs really read: no Docker engine is needed, so CI catches a renamed
// variable, a missing service or a broken dependency before anyone runs
// `docker compose up`. The compose file is loaded with compose-go, the
// library Docker Compose itself uses, so interpolation, merge keys, profiles
// and dependency consistency behave exactly as they would there.
package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/vkyc-engine/vkyc/internal/platform/config"
	"github.com/vkyc-engine/vkyc/workflows"
)

// The services the README documents, in its order. The README's list is
// written from this one.
var documentedServices = []string{"postgres", "temporal", "temporal-ui", "minio", "worker", "api", "simulator"}

// oneShotServices prepare the others and exit.
var oneShotServices = []string{"temporal-schema", "temporal-init", "minio-init"}

// engineServices run our programs with internal/platform/config's variables.
var engineServices = []string{"api", "worker"}

const exampleEnv = "deploy/compose.env.example"

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// load reads docker-compose.yml as `docker compose` would with the example
// env file, extra variables on top and the given profiles, but without the
// environment of the machine running the test.
func load(t *testing.T, extra map[string]string, profiles ...string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	env := make([]string, 0, len(extra))
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnvFiles(filepath.Join(root, exampleEnv)),
		cli.WithDotEnv,
		cli.WithEnv(env),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	return opts.LoadProject(context.Background())
}

func mustLoad(t *testing.T, extra map[string]string, profiles ...string) *types.Project {
	t.Helper()
	p, err := load(t, extra, profiles...)
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

// simEnv is how deploy/compose.env.example says to run with the simulator.
var simEnv = map[string]string{
	"VKYC_ENV":                     "development",
	"PUBLIC_BASE_URL":              "http://127.0.0.1:8080",
	"HMS_BASE_URL":                 "http://simulator:8090/v2",
	"HMS_TEMPLATE_ID":              "",
	"HMSSIM_RECORDING_READY_DELAY": "3s",
}

func TestServices(t *testing.T) {
	p := mustLoad(t, nil, "sim")
	want := append(slices.Clone(documentedServices), oneShotServices...)
	sort.Strings(want)
	got := p.ServiceNames()
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("services %v, want %v: add a new service to documentedServices (and the README) or oneShotServices", got, want)
	}
	for _, name := range oneShotServices {
		s := service(t, p, name)
		if !strings.HasPrefix(s.Restart, "on-failure") || len(s.Ports) > 0 {
			t.Errorf("%s: restart %q, %d ports; a one-shot service restarts only on failure and publishes nothing", name, s.Restart, len(s.Ports))
		}
	}
	for _, name := range documentedServices {
		if s := service(t, p, name); s.Restart != "unless-stopped" {
			t.Errorf("%s: restart %q, want unless-stopped for a long-running service", name, s.Restart)
		}
	}
}

func TestSimulatorOnlyInSimProfile(t *testing.T) {
	sim := service(t, mustLoad(t, nil, "sim"), "simulator")
	if !slices.Equal(sim.Profiles, []string{"sim"}) {
		t.Errorf("simulator profiles %v, want [sim]", sim.Profiles)
	}
	p := mustLoad(t, nil)
	if slices.Contains(p.ServiceNames(), "simulator") {
		t.Error("the simulator runs without --profile sim")
	}
	if _, err := p.GetDisabledService("simulator"); err != nil {
		t.Errorf("simulator is not a disabled service without its profile: %v", err)
	}
	for _, s := range p.Services {
		if len(s.Profiles) > 0 {
			t.Errorf("%s has profiles %v; only the simulator is optional", s.Name, s.Profiles)
		}
	}
}

func TestDependsOn(t *testing.T) {
	p := mustLoad(t, nil, "sim")
	for _, s := range p.Services {
		for dep, d := range s.DependsOn {
			target, err := p.GetService(dep)
			if err != nil {
				t.Errorf("%s depends on %q, which is not a service", s.Name, dep)
				continue
			}
			switch d.Condition {
			case types.ServiceConditionHealthy:
				if target.HealthCheck == nil || len(target.HealthCheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, but %s has no health check", s.Name, dep, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if !slices.Contains(oneShotServices, dep) {
					t.Errorf("%s waits for %s to complete, but %s is not a one-shot service", s.Name, dep, dep)
				}
			default:
				t.Errorf("%s depends on %s with condition %q; wait for health or completion", s.Name, dep, d.Condition)
			}
		}
	}
	for _, name := range engineServices {
		deps := service(t, p, name).DependsOn
		for _, need := range []string{"postgres", "temporal-init", "minio-init"} {
			if _, ok := deps[need]; !ok {
				t.Errorf("%s does not wait for %s", name, need)
			}
		}
	}
}

func knownVariable(name string) bool {
	if strings.HasPrefix(name, config.TemporalGRPCMetaPrefix) {
		return true
	}
	for _, v := range config.Variables() {
		if v.Name == name {
			return true
		}
	}
	return false
}

// environment returns a service's resolved environment.
func environment(t *testing.T, s types.ServiceConfig) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range s.Environment {
		if v == nil {
			t.Errorf("%s: %s takes its value from the host's environment; give it one in the compose file", s.Name, k)
			continue
		}
		env[k] = *v
	}
	return env
}

func TestEngineEnvironment(t *testing.T) {
	tests := []struct {
		name     string
		extra    map[string]string
		profiles []string
		wantProd bool
		wantSSO  bool
	}{
		{"production with 100ms", realValues(t), nil, true, false},
		{"production with single sign-on", withSSO(realValues(t)), nil, true, true},
		{"development with the simulator", simEnv, []string{"sim"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustLoad(t, tt.extra, tt.profiles...)
			for _, name := range engineServices {
				env := environment(t, service(t, p, name))
				for k := range env {
					if !knownVariable(k) {
						t.Errorf("%s: %s is not a variable internal/platform/config reads", name, k)
					}
				}
				// The programs run config.Load and Validate at start: do the
				// same with the container's environment.
				cfg, err := config.LoadFrom(func(k string) string { return env[k] })
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := cfg.Validate(); err != nil {
					t.Errorf("%s: the configuration would be refused at start: %v", name, err)
				}
				if cfg.Production != tt.wantProd {
					t.Errorf("%s: production %t, want %t", name, cfg.Production, tt.wantProd)
				}
				if cfg.OIDC.Enabled() != tt.wantSSO {
					t.Errorf("%s: single sign-on %t, want %t: compose does not pass the OIDC_ variables through", name, cfg.OIDC.Enabled(), tt.wantSSO)
				}
				checkEndpoints(t, p, name, cfg)
			}
		})
	}
}

// withSSO adds the single sign-on lines compose.env.example shows commented out.
func withSSO(env map[string]string) map[string]string {
	env["OIDC_ISSUER"] = "https://login.bank.example.com"
	env["OIDC_CLIENT_ID"] = "vkyc-pages"
	env["OIDC_SCOPES"] = "openid groups"
	env["OIDC_ROLE_MAP"] = "kyc-agents=agent,kyc-auditors=auditor,kyc-admins=admin"
	return env
}

// realValues replaces every CHANGE-ME value of the example env file with a
// generated secret, as the file tells an operator to.
func realValues(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), exampleEnv))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && !strings.HasPrefix(k, "#") && strings.Contains(v, "CHANGE-ME") {
			secret := make([]byte, 24)
			if _, err := rand.Read(secret); err != nil {
				t.Fatal(err)
			}
			out[k] = hex.EncodeToString(secret)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no CHANGE-ME values", exampleEnv)
	}
	return out
}

// TestExampleSecretsRefused: the example env file as shipped must not start
// in production, naming every placeholder left in it.
func TestExampleSecretsRefused(t *testing.T) {
	p := mustLoad(t, nil)
	for _, name := range engineServices {
		env := environment(t, service(t, p, name))
		cfg, err := config.LoadFrom(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		err = cfg.Validate()
		if err == nil {
			t.Fatalf("%s: the example's placeholder secrets validated in production", name)
		}
		for _, v := range []string{config.EnvAuthSecret, config.EnvHMSWebhookSecret, config.EnvS3SecretKey, config.EnvHMSAccessKey,
			config.EnvHMSAppSecret, config.EnvHMSTemplateID, config.EnvDatabaseURL} {
			if !strings.Contains(err.Error(), v+":") {
				t.Errorf("%s: the refusal does not name %s: %v", name, v, err)
			}
		}
		if strings.Contains(err.Error(), "CHANGE-ME") {
			t.Errorf("%s: the refusal repeats a value: %v", name, err)
		}
	}
}

// checkEndpoints requires every host:port the engine is given to be a
// compose service listening on that port.
func checkEndpoints(t *testing.T, p *types.Project, name string, cfg config.Config) {
	t.Helper()
	check := func(variable, hostPort string) {
		host, port, err := net.SplitHostPort(hostPort)
		if err != nil {
			t.Errorf("%s: %s=%q is not host:port", name, variable, hostPort)
			return
		}
		if !slices.Contains(p.ServiceNames(), host) {
			return // outside the stack, e.g. api.100ms.live
		}
		if want := listenPort(t, service(t, p, host)); want != "" && port != want {
			t.Errorf("%s: %s points at %s:%s but %s listens on %s", name, variable, host, port, host, want)
		}
	}
	check(config.EnvTemporalAddress, cfg.Temporal.Address)
	check(config.EnvS3Endpoint, cfg.S3.Endpoint)
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		t.Errorf("%s: DATABASE_URL does not parse", name)
	} else {
		check(config.EnvDatabaseURL, u.Host)
		if db := strings.TrimPrefix(u.Path, "/"); db != "vkyc" || u.User.Username() != "vkyc" {
			t.Errorf("%s: DATABASE_URL uses database %q as %q; deploy/postgres/init-databases.sh creates vkyc for vkyc", name, db, u.User.Username())
		}
	}
	hms, err := url.Parse(cfg.HMS.BaseURL)
	if err != nil {
		t.Errorf("%s: HMS_BASE_URL does not parse", name)
	} else {
		port := hms.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[hms.Scheme]
		}
		check(config.EnvHMSBaseURL, net.JoinHostPort(hms.Hostname(), port))
	}
}

// listenPort is the container port a service listens on, from what it is
// told (HTTP_ADDR, HMSSIM_ADDR) or from the well-known ports of the images.
func listenPort(t *testing.T, s types.ServiceConfig) string {
	t.Helper()
	for _, k := range []string{config.EnvHTTPAddr, "HMSSIM_ADDR"} {
		if v, ok := s.Environment[k]; ok && v != nil {
			_, port, err := net.SplitHostPort(*v)
			if err != nil {
				t.Errorf("%s: %s=%q is not host:port", s.Name, k, *v)
			}
			return port
		}
	}
	return map[string]string{"postgres": "5432", "temporal": "7233", "minio": "9000"}[s.Name]
}

func TestPublishedPorts(t *testing.T) {
	p := mustLoad(t, nil, "sim")
	seen := map[string]string{}
	for _, s := range p.Services {
		for _, port := range s.Ports {
			hostPort := port.HostIP + ":" + port.Published
			if other, dup := seen[hostPort]; dup {
				t.Errorf("%s and %s both publish %s", s.Name, other, hostPort)
			}
			seen[hostPort] = s.Name
			if s.Name != "api" && port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s on all interfaces; only the API is public", s.Name, port.Published)
			}
		}
	}
	for _, name := range []string{"api", "simulator"} {
		s := service(t, p, name)
		want := listenPort(t, s)
		if len(s.Ports) != 1 || strconv.FormatUint(uint64(s.Ports[0].Target), 10) != want {
			t.Errorf("%s: ports %+v, want the container port it listens on (%s)", name, s.Ports, want)
		}
		if s.HealthCheck != nil && !strings.Contains(strings.Join(s.HealthCheck.Test, " "), ":"+want+"/") {
			t.Errorf("%s: health check %v does not probe port %s", name, s.HealthCheck.Test, want)
		}
	}
	if want := "127.0.0.1:8233"; seen[want] != "temporal-ui" {
		t.Errorf("the Temporal Web UI is not on %s, where the demo's workflow links point", want)
	}
}

func TestSimulatorEnvironment(t *testing.T) {
	p := mustLoad(t, simEnv, "sim")
	sim := environment(t, service(t, p, "simulator"))
	api := environment(t, service(t, p, "api"))
	// The simulator reads internal/platform/config like every program.
	for k := range sim {
		if !knownVariable(k) {
			t.Errorf("simulator: %s is not a variable the simulator reads", k)
		}
	}
	// The simulator must accept the engine's tokens, sign webhooks the way
	// the API checks them and upload recordings into the engine's bucket.
	for _, k := range []string{"HMS_ACCESS_KEY", "HMS_APP_SECRET", "HMS_WEBHOOK_HEADER", "HMS_WEBHOOK_SECRET",
		"S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET"} {
		if sim[k] == "" || sim[k] != api[k] {
			t.Errorf("%s differs between the simulator and the API", k)
		}
	}
	hook, err := url.Parse(sim[config.EnvSimWebhookURL])
	if err != nil {
		t.Fatalf("HMSSIM_WEBHOOK_URL: %v", err)
	}
	_, apiPort, _ := net.SplitHostPort(api[config.EnvHTTPAddr])
	if hook.Hostname() != "api" || hook.Port() != apiPort || hook.Path != "/v1/webhooks/100ms" {
		t.Errorf("HMSSIM_WEBHOOK_URL=%s; want http://api:%s/v1/webhooks/100ms", hook, apiPort)
	}
}

func TestRequiredSecrets(t *testing.T) {
	for _, name := range []string{
		"API_JWT_SECRET", "HMS_ACCESS_KEY", "HMS_APP_SECRET", "HMS_WEBHOOK_SECRET", "PUBLIC_BASE_URL",
		"POSTGRES_PASSWORD", "VKYC_DB_PASSWORD", "TEMPORAL_DB_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, map[string]string{name: ""})
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("loading with %s empty: %v; want an error naming it", name, err)
			}
		})
	}
}

func TestBuilds(t *testing.T) {
	p := mustLoad(t, nil, "sim")
	stages := dockerfileStages(t)
	for _, name := range []string{"api", "worker", "simulator", "minio"} {
		s := service(t, p, name)
		if s.Build == nil {
			t.Errorf("%s is not built from the Dockerfile", name)
			continue
		}
		if s.Build.Context != repoRoot(t) || (s.Build.Dockerfile != "" && s.Build.Dockerfile != "Dockerfile") {
			t.Errorf("%s: build context %q dockerfile %q, want the repository root and its Dockerfile", name, s.Build.Context, s.Build.Dockerfile)
		}
		if s.Build.Target != name || !slices.Contains(stages, name) {
			t.Errorf("%s: build target %q; the Dockerfile has stages %v", name, s.Build.Target, stages)
		}
	}
	if s := service(t, p, "minio-init"); s.Image != service(t, p, "minio").Image {
		t.Errorf("minio-init runs %q, not the minio image that holds minio-init", s.Image)
	}
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func dockerfileStages(t *testing.T) []string {
	t.Helper()
	var stages []string
	for _, m := range regexp.MustCompile(`(?mi)^FROM\s+\S+\s+AS\s+(\S+)`).FindAllStringSubmatch(readFile(t, "Dockerfile"), -1) {
		stages = append(stages, m[1])
	}
	return stages
}

func TestDockerfile(t *testing.T) {
	df := readFile(t, "Dockerfile")
	build := regexp.MustCompile(`(?m)^\s*go build [^\n]*`).FindString(df)
	for _, pkg := range []string{"./api/server", "./worker", "./cmd/simulator", "./starter"} {
		if !strings.Contains(build, " "+pkg) {
			t.Errorf("the Dockerfile's go build (%q) does not build %s", build, pkg)
		}
		if _, err := os.Stat(filepath.Join(repoRoot(t), pkg)); err != nil {
			t.Errorf("%s: %v", pkg, err)
		}
	}
	for _, stage := range []string{"api", "worker", "simulator", "starter"} {
		body := stageBody(df, stage)
		if !strings.Contains(body, "USER 10001") && !strings.Contains(stageBody(df, "runtime"), "USER 10001") {
			t.Errorf("stage %s does not run as the unprivileged user", stage)
		}
		if !strings.Contains(body, "/usr/local/bin/"+stage) {
			t.Errorf("stage %s does not install and run /usr/local/bin/%s", stage, stage)
		}
	}
	if !regexp.MustCompile(`(?m)^FROM runtime AS minio$`).MatchString(df) || !strings.Contains(stageBody(df, "minio"), "USER 10001") {
		t.Error("the minio stage does not end as the unprivileged user")
	}
	// MinIO is built from source at the version the tests use.
	want := regexp.MustCompile(`(?m)^MINIO_VERSION=(\S+)$`).FindStringSubmatch(readFile(t, "scripts/tools.sh"))
	got := regexp.MustCompile(`(?m)^ARG MINIO_VERSION=(\S+)$`).FindStringSubmatch(df)
	if want == nil || got == nil || got[1] != want[1] {
		t.Errorf("Dockerfile MINIO_VERSION %v, scripts/tools.sh %v: keep them equal", got, want)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, "go.mod"))
	if goVersion == nil || !strings.Contains(df, "ARG GO_VERSION="+goVersion[1]+"\n") {
		t.Errorf("the Dockerfile's GO_VERSION is not go.mod's %v", goVersion)
	}
}

// stageBody is the text of a Dockerfile stage, up to the next FROM.
func stageBody(df, stage string) string {
	loc := regexp.MustCompile(`(?mi)^FROM\s+\S+\s+AS\s+` + regexp.QuoteMeta(stage) + `\s*$`).FindStringIndex(df)
	if loc == nil {
		return ""
	}
	rest := df[loc[1]:]
	if next := regexp.MustCompile(`(?m)^FROM `).FindStringIndex(rest); next != nil {
		rest = rest[:next[0]]
	}
	return rest
}

func TestMountedFilesExist(t *testing.T) {
	p := mustLoad(t, nil, "sim")
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s: %v", s.Name, v.Source, err)
			}
			if !v.ReadOnly {
				t.Errorf("%s mounts %s writable; configuration is mounted read-only", s.Name, v.Source)
			}
		}
	}
}

// TestSearchAttributes keeps scripts/search-attributes.txt, which the dev
// server, scripts/services.sh and the compose init service register, equal
// to the attributes the workflow sets.
func TestSearchAttributes(t *testing.T) {
	var listed []string
	for _, line := range strings.Split(readFile(t, "scripts/search-attributes.txt"), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			listed = append(listed, line)
		}
	}
	var want []string
	for _, k := range workflows.SearchAttributeKeys() {
		want = append(want, k.GetName()+"="+k.GetValueType().String())
	}
	sort.Strings(listed)
	sort.Strings(want)
	if !slices.Equal(listed, want) {
		t.Errorf("scripts/search-attributes.txt lists %v; the workflow uses %v", listed, want)
	}
	p := mustLoad(t, nil)
	mounted := false
	for _, v := range service(t, p, "temporal-init").Volumes {
		mounted = mounted || v.Source == filepath.Join(repoRoot(t), "scripts", "search-attributes.txt")
	}
	if !mounted {
		t.Error("temporal-init does not mount scripts/search-attributes.txt")
	}
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return s
}
