package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

var (
	chromiumOnce sync.Once
	chromiumPath string
	chromiumErr  string
)

// chromium finds Debian's Chromium, installing it when missing and running
// as root (CI does; `apt-get install chromium` works there). Without it the
// tests fail under CI=true and skip elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	chromiumOnce.Do(func() {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				chromiumPath = p
				return
			}
		}
		if os.Geteuid() != 0 {
			chromiumErr = "Chromium is not installed and this is not root: apt-get install chromium"
			return
		}
		ctx := context.Background()
		for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "chromium"}} {
			cmd := exec.CommandContext(ctx, "apt-get", args...) // #nosec G204 -- fixed arguments
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if out, err := cmd.CombinedOutput(); err != nil {
				chromiumErr = "apt-get " + args[0] + " failed: " + err.Error() + "\n" + string(out)
				return
			}
		}
		chromiumPath, _ = exec.LookPath("chromium")
		if chromiumPath == "" {
			chromiumErr = "apt-get installed chromium but it is not on PATH"
		}
	})
	if chromiumPath == "" {
		if testenv.InCI() {
			t.Fatal(chromiumErr)
		}
		t.Skip(chromiumErr)
	}
	return chromiumPath
}
