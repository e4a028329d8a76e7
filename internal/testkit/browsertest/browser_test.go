package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// newBrowser starts a headless Chromium with a fake camera and microphone
// (playing videoFile as the camera when given) and returns its first tab.
// With blockMedia, every camera and microphone prompt is answered "Block".
func newBrowser(t *testing.T, videoFile string, blockMedia bool) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		// The recording's player starts without a click in the test; the
		// pages themselves never rely on autoplay with sound.
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1280, 900),
	)
	if blockMedia {
		opts = append(opts, chromedp.Flag("deny-permission-prompts", true))
	} else {
		opts = append(opts, chromedp.Flag("use-fake-ui-for-media-stream", true))
	}
	if videoFile != "" {
		opts = append(opts, chromedp.Flag("use-file-for-fake-video-capture", videoFile))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// newTab opens another tab of the browser of ctx (its own sessionStorage).
// The test fails if the tab reports a Content-Security-Policy violation or
// an uncaught exception.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(tab, func(ev any) {
		var p string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			p = "uncaught exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				p += " " + e.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Source == cdplog.SourceSecurity || strings.Contains(e.Entry.Text, "Content Security Policy") {
				p = "security: " + e.Entry.Text
			}
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("page problem: %s", p)
		}
	})
	if err := chromedp.Run(tab, cdplog.Enable(), runtime.Enable()); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tab
}

// run runs actions on a tab within d.
func run(t *testing.T, ctx context.Context, d time.Duration, what string, actions ...chromedp.Action) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Run(c, actions...); err != nil {
		shot(t, ctx, "failed-"+slug(what))
		t.Fatalf("%s: %v\npage: %s", what, err, pageText(ctx))
	}
}

// waitJS waits until a JavaScript expression is true on the page.
func waitJS(t *testing.T, ctx context.Context, d time.Duration, what, expr string) {
	t.Helper()
	var ok bool
	run(t, ctx, d, "wait for "+what, chromedp.Poll(expr, &ok, chromedp.WithPollingInterval(100*time.Millisecond)))
}

// evalJS evaluates an expression (awaiting a promise) into out.
func evalJS(t *testing.T, ctx context.Context, expr string, out any) {
	t.Helper()
	run(t, ctx, 30*time.Second, "evaluate "+expr, chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// button finds a button by its accessible name (aria-label, else its text).
func button(name string) string {
	return fmt.Sprintf(`//button[@aria-label=%q or (not(@aria-label) and normalize-space(.)=%q)]`, name, name)
}

func click(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	run(t, ctx, 30*time.Second, "click "+name,
		chromedp.WaitEnabled(button(name), chromedp.BySearch),
		chromedp.Click(button(name), chromedp.BySearch, chromedp.NodeVisible))
}

func visible(id string) string {
	return `(() => { const e = document.getElementById(` + fmt.Sprintf("%q", id) + `); return !!e && !e.hidden && e.offsetParent !== null; })()`
}

func pageText(ctx context.Context) string {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var s string
	_ = chromedp.Run(c, chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 1500) : ""`, &s))
	return s
}

// shotDir is where screenshots go: VKYC_SCREENSHOTS if set, else a folder
// under the system's temporary directory whose name the test logs.
var shotDir = func() string {
	if d := os.Getenv("VKYC_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "vkyc-screenshots")
}()

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var png []byte
	if err := chromedp.Run(c, chromedp.CaptureScreenshot(&png)); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(shotDir, 0o750); err != nil {
		t.Logf("screenshot folder: %v", err)
		return
	}
	path := filepath.Join(shotDir, name+".png")
	if err := os.WriteFile(path, png, 0o600); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return '-'
	}, s)
}

// phone makes a tab a 360 px wide touch screen, the smallest the customer
// page is made for.
func phone(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, 10*time.Second, "phone viewport",
		emulation.SetDeviceMetricsOverride(360, 740, 2, true),
		emulation.SetTouchEmulationEnabled(true))
}

// grantLocation lets origin read a fixed position (Bengaluru).
func grantLocation(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	run(t, ctx, 10*time.Second, "geolocation",
		browser.GrantPermissions([]browser.PermissionType{browser.PermissionTypeGeolocation}).WithOrigin(origin),
		emulation.SetGeolocationOverride().WithLatitude(12.9716).WithLongitude(77.5946).WithAccuracy(20))
}

// noHorizontalScroll checks that the page fits its viewport's width.
func noHorizontalScroll(t *testing.T, ctx context.Context, screen string) {
	t.Helper()
	var over int
	evalJS(t, ctx, `document.documentElement.scrollWidth - document.documentElement.clientWidth`, &over)
	if over > 0 {
		t.Errorf("%s: the page is %d px wider than the 360 px screen", screen, over)
	}
}

// unnamedControls lists visible controls without an accessible name (their
// text, aria-label, or a label element).
func unnamedControls(t *testing.T, ctx context.Context) []string {
	t.Helper()
	var bad []string
	evalJS(t, ctx, `[...document.querySelectorAll("button, input, textarea, select, video, a[href]")]
		.filter(e => e.offsetParent !== null)
		.filter(e => !(e.getAttribute("aria-label") || e.textContent.trim() || (e.id && document.querySelector('label[for="' + e.id + '"]'))))
		.map(e => e.outerHTML.slice(0, 80))`, &bad)
	return bad
}

// pressKeys sends key presses (e.g. "\t", "\r") to the focused element.
func pressKeys(t *testing.T, ctx context.Context, keys ...string) {
	t.Helper()
	for _, k := range keys {
		run(t, ctx, 5*time.Second, "press "+k, chromedp.KeyEvent(k))
	}
}

// focused is the accessible name of the focused element.
func focused(t *testing.T, ctx context.Context) string {
	t.Helper()
	var name string
	evalJS(t, ctx, `(document.activeElement.getAttribute("aria-label") || document.activeElement.textContent || "").trim()`, &name)
	return name
}
