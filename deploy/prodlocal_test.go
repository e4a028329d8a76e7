package deploy

import (
	"bufio"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

// scripts/prod-local.sh runs docker-compose.yml's topology natively. The
// tests below keep the two from drifting: they share deploy/versions.env,
// deploy/temporal/server.env, the dynamic config, the search attributes and
// the one-shot scripts, and give every part the same settings except
// addresses and secrets. They read the script's own account of what it
// runs (`scripts/prod-local.sh env`, which starts nothing).

// prodLocal is `scripts/prod-local.sh env`: each part's environment and the
// one-shot scripts it runs.
type prodLocal struct {
	env      map[string]map[string]string // part -> variable -> value
	oneshots map[string]string            // compose service -> script, relative to the repository
}

func loadProdLocal(t *testing.T) prodLocal {
	t.Helper()
	root := repoRoot(t)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "prod-local.sh"), "env")
	cmd.Dir = root
	// A clean environment: the script passes some of the caller's settings on.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PROD_DIR=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/prod-local.sh env: %v", err)
	}
	pl := prodLocal{env: map[string]map[string]string{}, oneshots: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		part, rest, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("scripts/prod-local.sh env: line %q", sc.Text())
		}
		if part == "oneshot" {
			name, script, _ := strings.Cut(rest, " ")
			pl.oneshots[name] = script
			continue
		}
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("scripts/prod-local.sh env: line %q", sc.Text())
		}
		if pl.env[part] == nil {
			pl.env[part] = map[string]string{}
		}
		pl.env[part][k] = v
	}
	for _, part := range []string{"api-1", "api-2", "worker-1", "worker-2", "simulator", "temporal", "temporal-ui", "temporal-init", "minio-init"} {
		if len(pl.env[part]) == 0 {
			t.Fatalf("scripts/prod-local.sh env says nothing of %s", part)
		}
	}
	return pl
}

// envFile reads a KEY=VALUE file of deploy/.
func envFile(t *testing.T, rel string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(readFile(t, rel), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=VALUE", rel, line)
		}
		out[k] = v
	}
	return out
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestProdLocalVersions(t *testing.T) {
	v := envFile(t, "deploy/versions.env")
	server := strings.TrimPrefix(v["TEMPORAL_SERVER_VERSION"], "v")
	ui := strings.TrimPrefix(v["TEMPORAL_UI_VERSION"], "v")
	tools := v["TEMPORAL_ADMIN_TOOLS_TAG"]
	if server == "" || ui == "" || tools == "" {
		t.Fatalf("deploy/versions.env lacks a version: %v", v)
	}
	if !strings.HasPrefix(tools, server+"-") && tools != server {
		t.Errorf("TEMPORAL_ADMIN_TOOLS_TAG %s is not of server release %s: its schema tool and schemas must match the server", tools, server)
	}
	p := mustLoad(t, nil)
	for name, want := range map[string]string{
		"temporal":        "temporalio/server:" + server,
		"temporal-schema": "temporalio/admin-tools:" + tools,
		"temporal-init":   "temporalio/admin-tools:" + tools,
		"temporal-ui":     "temporalio/ui:" + ui,
	} {
		if got := service(t, p, name).Image; got != want {
			t.Errorf("%s runs %s; deploy/versions.env, which scripts/tools.sh builds for prod-local, says %s", name, got, want)
		}
	}
	// scripts/tools.sh builds these versions: it must read them from the file.
	tsh := readFile(t, "scripts/tools.sh")
	for _, want := range []string{`deploy/versions.env"`, `"$TEMPORAL_SERVER_VERSION"`, `"$TEMPORAL_UI_VERSION"`} {
		if !strings.Contains(tsh, want) {
			t.Errorf("scripts/tools.sh does not use %s", want)
		}
	}
}

func TestProdLocalTemporalServer(t *testing.T) {
	p := mustLoad(t, nil)
	pl := loadProdLocal(t)
	shared := envFile(t, "deploy/temporal/server.env")
	for _, name := range []string{"temporal", "temporal-schema"} {
		s := service(t, p, name)
		found := false
		for _, f := range s.EnvFiles {
			found = found || f.Path == filepath.Join(repoRoot(t), "deploy", "temporal", "server.env")
		}
		if !found {
			t.Errorf("%s does not take deploy/temporal/server.env as env_file", name)
		}
		env := environment(t, s)
		for k, v := range shared {
			if env[k] != v {
				t.Errorf("%s: %s=%q, deploy/temporal/server.env says %q: compose must not override the shared file", name, k, env[k], v)
			}
		}
	}
	if !strings.Contains(readFile(t, "scripts/temporal-server.sh"), `"$root/deploy/temporal/server.env"`) {
		t.Error("scripts/temporal-server.sh does not read deploy/temporal/server.env")
	}
	// What compose sets besides the shared file, prod-local sets too.
	compose := environment(t, service(t, p, "temporal"))
	native := pl.env["temporal"]
	for k := range compose {
		if _, inFile := shared[k]; inFile {
			continue
		}
		if _, ok := native[k]; !ok {
			t.Errorf("compose gives the Temporal server %s; scripts/prod-local.sh does not", k)
		}
	}
	// The same dynamic config file: compose mounts deploy/temporal/dynamicconfig
	// at /etc/temporal/config/dynamicconfig, and the server resolves the
	// relative DYNAMIC_CONFIG_FILE_PATH against /etc/temporal.
	composeFile := ""
	rel := compose["DYNAMIC_CONFIG_FILE_PATH"]
	for _, v := range service(t, p, "temporal").Volumes {
		target := strings.TrimSuffix(v.Target, "/") + "/"
		if abs := path.Join("/etc/temporal", rel); strings.HasPrefix(abs, target) {
			composeFile = filepath.Join(v.Source, strings.TrimPrefix(abs, target))
		}
	}
	if composeFile == "" || composeFile != native["DYNAMIC_CONFIG_FILE_PATH"] {
		t.Errorf("dynamic config: compose's server reads %q (DYNAMIC_CONFIG_FILE_PATH=%s), prod-local's %q", composeFile, rel, native["DYNAMIC_CONFIG_FILE_PATH"])
	}
	if _, err := os.Stat(native["DYNAMIC_CONFIG_FILE_PATH"]); err != nil {
		t.Error(err)
	}
	// The frontend port the engine is given is the one the server listens on.
	if want := net.JoinHostPort("127.0.0.1", native["FRONTEND_GRPC_PORT"]); pl.env["api-1"][config.EnvTemporalAddress] != want ||
		pl.env["temporal-ui"]["TEMPORAL_ADDRESS"] != want || pl.env["temporal-init"]["TEMPORAL_ADDRESS"] != want {
		t.Errorf("the engine, the Web UI and temporal-init do not all use the server's frontend %s", want)
	}
}

// TestProdLocalOneShots: prod-local runs compose's one-shot scripts (and the
// postgres image's init script), the same files, with the variables compose
// gives them.
func TestProdLocalOneShots(t *testing.T) {
	p := mustLoad(t, nil)
	pl := loadProdLocal(t)
	root := repoRoot(t)
	mounted := func(svc, target string) string {
		for _, v := range service(t, p, svc).Volumes {
			if v.Target == target {
				rel, err := filepath.Rel(root, v.Source)
				if err != nil {
					t.Fatal(err)
				}
				return rel
			}
		}
		return ""
	}
	script := func(s types.ServiceConfig) string {
		// The entrypoint is "/bin/sh <mounted script>".
		if len(s.Entrypoint) == 2 && s.Entrypoint[0] == "/bin/sh" {
			return mounted(s.Name, s.Entrypoint[1])
		}
		return ""
	}
	minioInit := regexp.MustCompile(`(?m)^COPY\s+(?:--\S+\s+)*(\S+)\s+/usr/local/bin/minio-init$`).FindStringSubmatch(readFile(t, "Dockerfile"))
	want := map[string]string{
		"postgres-init":   mounted("postgres", "/docker-entrypoint-initdb.d/10-init-databases.sh"),
		"temporal-schema": script(service(t, p, "temporal-schema")),
		"temporal-init":   script(service(t, p, "temporal-init")),
	}
	if minioInit != nil {
		want["minio-init"] = minioInit[1]
	}
	for name, file := range want {
		if file == "" {
			t.Errorf("cannot tell which script compose runs as %s", name)
		}
	}
	if !maps.Equal(want, pl.oneshots) {
		t.Errorf("one-shot scripts: compose runs %v, prod-local says it runs %v", want, pl.oneshots)
	}
	// And the scripts really run them.
	scripts := readFile(t, "scripts/prod-local.sh") + readFile(t, "scripts/temporal-server.sh")
	for _, file := range pl.oneshots {
		if !strings.Contains(scripts, `"$root/`+file+`"`) {
			t.Errorf("neither scripts/prod-local.sh nor scripts/temporal-server.sh runs %s", file)
		}
	}
	// temporal-init and minio-init get the variables compose gives them.
	for _, name := range []string{"temporal-init", "minio-init"} {
		compose := keys(environment(t, service(t, p, name)))
		native := keys(pl.env[name])
		if !slices.Equal(compose, native) {
			t.Errorf("%s: compose sets %v, prod-local %v", name, compose, native)
		}
	}
	for _, k := range []string{"TEMPORAL_NAMESPACE_RETENTION", "TEMPORAL_NAMESPACE"} {
		if c, n := environment(t, service(t, p, "temporal-init"))[k], pl.env["temporal-init"][k]; c != n {
			t.Errorf("temporal-init %s: compose %q, prod-local %q", k, c, n)
		}
	}
	if c, n := filepath.Join(root, mounted("temporal-init", environment(t, service(t, p, "temporal-init"))["SEARCH_ATTRIBUTES_FILE"])),
		pl.env["temporal-init"]["SEARCH_ATTRIBUTES_FILE"]; c != n {
		t.Errorf("search attributes: compose registers %s, prod-local %s", c, n)
	}
}

// devOnlyDefaults are compose settings prod-local leaves at the programs'
// development default on purpose: the API's JWT secret, so that `starter
// demo` and `starter token` work against it unchanged, as against `make dev`.
var devOnlyDefaults = []string{config.EnvAuthSecret}

// TestProdLocalEngine: the API replicas and the workers get the variables
// compose's sim profile gives its api and worker, with the same values
// except addresses and secrets, and the configuration validates.
func TestProdLocalEngine(t *testing.T) {
	p := mustLoad(t, simEnv, "sim")
	pl := loadProdLocal(t)
	minioEndpoint, err := url.Parse(pl.env["minio-init"]["MINIO_ENDPOINT"])
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"api-1", "api-2", "worker-1", "worker-2"} {
		name := strings.TrimSuffix(strings.TrimSuffix(part, "-1"), "-2")
		compose := environment(t, service(t, p, name))
		native := pl.env[part]
		for k, v := range compose {
			if _, ok := native[k]; !ok && v != "" && !slices.Contains(devOnlyDefaults, k) {
				t.Errorf("%s: compose sets %s, prod-local does not", part, k)
			}
		}
		for k := range native {
			if _, ok := compose[k]; !ok {
				t.Errorf("%s: prod-local sets %s, compose's %s does not", part, k, name)
			}
		}
		// Settings that are neither addresses nor secrets are the same.
		for _, k := range []string{"VKYC_ENV", "LOG_LEVEL", "S3_BUCKET", "S3_REGION", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "HMS_WEBHOOK_HEADER"} {
			if compose[k] != native[k] {
				t.Errorf("%s: %s=%q, compose has %q", part, k, native[k], compose[k])
			}
		}
		cfg, err := config.LoadFrom(func(k string) string { return native[k] })
		if err != nil {
			t.Fatalf("%s: %v", part, err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: the configuration would be refused at start: %v", part, err)
		}
		if cfg.S3.Endpoint != minioEndpoint.Host || cfg.S3.AccessKey != pl.env["minio-init"]["MINIO_ROOT_USER"] {
			t.Errorf("%s: S3 %s as %s, but MinIO is %s with user %s", part, cfg.S3.Endpoint, cfg.S3.AccessKey, minioEndpoint.Host, pl.env["minio-init"]["MINIO_ROOT_USER"])
		}
		if want := "http://" + pl.env["simulator"]["HMSSIM_ADDR"] + "/v2"; cfg.HMS.BaseURL != want {
			t.Errorf("%s: HMS_BASE_URL %s, the simulator serves %s", part, cfg.HMS.BaseURL, want)
		}
		if u, err := url.Parse(cfg.DatabaseURL); err != nil || strings.TrimPrefix(u.Path, "/") != "vkyc" || u.User.Username() != "vkyc" {
			t.Errorf("%s: DATABASE_URL is not database vkyc as role vkyc, which deploy/postgres/init-databases.sh creates", part)
		}
	}
	if pl.env["api-1"][config.EnvHTTPAddr] == pl.env["api-2"][config.EnvHTTPAddr] {
		t.Error("api-1 and api-2 listen on the same address")
	}
}

func TestProdLocalSimulatorAndUI(t *testing.T) {
	p := mustLoad(t, simEnv, "sim")
	pl := loadProdLocal(t)
	compose := environment(t, service(t, p, "simulator"))
	sim, api := pl.env["simulator"], pl.env["api-1"]
	for k := range sim {
		// The start delay is `make dev`'s; compose leaves it at the simulator's default.
		if _, ok := compose[k]; !ok && k != "HMSSIM_RECORDING_START_DELAY" {
			t.Errorf("simulator: prod-local sets %s, compose does not", k)
		}
	}
	for k := range compose {
		if _, ok := sim[k]; !ok {
			t.Errorf("simulator: compose sets %s, prod-local does not", k)
		}
	}
	for _, k := range []string{"HMS_ACCESS_KEY", "HMS_APP_SECRET", "HMS_WEBHOOK_HEADER", "HMS_WEBHOOK_SECRET",
		"S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET"} {
		if sim[k] == "" || sim[k] != api[k] {
			t.Errorf("%s differs between the simulator and the API", k)
		}
	}
	// 100ms reaches the engine where a bank's load balancer listens: the
	// public URL, served by the proxy, not one replica.
	if want := api[config.EnvPublicBaseURL] + "/v1/webhooks/100ms"; sim["HMSSIM_WEBHOOK_URL"] != want {
		t.Errorf("HMSSIM_WEBHOOK_URL=%s, want %s", sim["HMSSIM_WEBHOOK_URL"], want)
	}
	for _, part := range []string{"api-1", "api-2"} {
		if strings.HasSuffix(api[config.EnvPublicBaseURL], pl.env[part][config.EnvHTTPAddr]) {
			t.Errorf("PUBLIC_BASE_URL %s is %s itself, not the proxy", api[config.EnvPublicBaseURL], part)
		}
	}
	// The Web UI gets every variable compose gives temporalio/ui (the same
	// config template reads them), and listens where the demo's links point.
	ui := pl.env["temporal-ui"]
	for k := range environment(t, service(t, p, "temporal-ui")) {
		if _, ok := ui[k]; !ok {
			t.Errorf("temporal-ui: compose sets %s, prod-local does not", k)
		}
	}
	if ui["TEMPORAL_UI_PORT"] != "8233" {
		t.Errorf("the Web UI listens on %s, not 8233 where the demo's workflow links point", ui["TEMPORAL_UI_PORT"])
	}
}
