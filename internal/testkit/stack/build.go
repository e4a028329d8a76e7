package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
)

// The programs a stack runs, by the name Start and the logs use.
const (
	API       = "api"
	Worker    = "worker"
	Simulator = "simulator"
	// OIDC is the development OpenID Connect provider (Options.OIDC).
	OIDC = "devoidc"
)

// packages are the programs' main packages.
var packages = map[string]string{
	API:       "./api/server",
	Worker:    "./worker",
	Simulator: "./cmd/simulator",
	OIDC:      "./cmd/devoidc",
}

// Build says how the programs are built.
type Build struct {
	// Profile adds a loopback-only pprof listener to each program (package
	// pprofhook, added through `go build -overlay` so that the sources stay
	// untouched): the benchmark profiles exactly the programs it measures.
	Profile bool
	// Overlay is an extra `go build -overlay` file whose replacements are
	// added: a way to measure a change without editing the code.
	Overlay string
}

// overlayImport is the one file a profiled build adds to each main package.
const overlayImport = "package main\n\nimport _ \"github.com/vkyc-engine/vkyc/internal/testkit/stack/pprofhook\"\n"

var (
	buildMu sync.Mutex
	// built: per root and build, the folder of the binaries built so far
	// by this process; every stack of a test binary shares them.
	built = map[string]string{}
)

// binaries builds the named programs (those not built yet by this process
// for this root and build) and returns the folder holding them.
func binaries(ctx context.Context, root string, b Build, names ...string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	key := fmt.Sprintf("%s|%v|%s", root, b.Profile, b.Overlay)
	dir := built[key]
	if dir == "" {
		d, err := os.MkdirTemp("", "vkyc-stack-bin-")
		if err != nil {
			return "", err
		}
		dir = d
		built[key] = dir
	}
	var pkgs []string
	for _, n := range names {
		if _, err := os.Stat(binPath(dir, n)); err != nil {
			pkgs = append(pkgs, packages[n])
		}
	}
	if len(pkgs) == 0 {
		return dir, nil
	}
	slices.Sort(pkgs)
	// One go build for all of them shares the compilation of their
	// packages.
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if b.Profile || b.Overlay != "" {
		overlay, err := writeOverlay(root, dir, b, pkgs)
		if err != nil {
			return "", err
		}
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkgs...)...) // #nosec G204 -- the go tool on the programs' fixed packages
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %v: %w\n%s", pkgs, err, out)
	}
	return dir, nil
}

// binPath is where go build -o dir/ puts a program: named after the last
// element of its package path.
func binPath(dir, name string) string {
	return filepath.Join(dir, filepath.Base(packages[name]))
}

func writeOverlay(root, dir string, b Build, pkgs []string) (string, error) {
	replace := map[string]string{}
	if b.Profile {
		hook := filepath.Join(dir, "pprof_hook.go")
		if err := os.WriteFile(hook, []byte(overlayImport), 0o600); err != nil {
			return "", fmt.Errorf("write the pprof hook: %w", err)
		}
		for _, pkg := range pkgs {
			replace[filepath.Join(root, pkg, "zz_stack_pprof.go")] = hook
		}
	}
	if b.Overlay != "" {
		raw, err := os.ReadFile(b.Overlay)
		if err != nil {
			return "", fmt.Errorf("overlay: %w", err)
		}
		var more struct{ Replace map[string]string }
		if err := json.Unmarshal(raw, &more); err != nil {
			return "", fmt.Errorf("overlay %s: %w", b.Overlay, err)
		}
		for k, v := range more.Replace {
			replace[k] = v
		}
	}
	raw, _ := json.Marshal(map[string]any{"Replace": replace})
	path := filepath.Join(dir, "overlay.json")
	return path, os.WriteFile(path, raw, 0o600)
}
