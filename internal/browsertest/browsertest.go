// Package browsertest drives a real headless Chromium for the portal and
// report tests through chromedp.
//
// Without a Chromium binary a test is skipped on a developer's machine and
// fails in CI (CI=true; .ci/run installs Debian's chromium).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Browser returns the path of the Chromium binary, or "" if none is found.
// CREDO_CHROMIUM overrides the search.
func Browser() string {
	if p := os.Getenv("CREDO_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium for the test and returns a chromedp
// context for one tab; everything is shut down when the test ends.
func New(t testing.TB) context.Context {
	t.Helper()
	bin := Browser()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found: CI must install it (see .ci/run)")
		}
		t.Skip("no Chromium found (apt-get install -y chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	// Start the browser now so a failure to launch is reported here. (The
	// first run's context owns the browser: it must not be a short-lived one.)
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// ArtifactDir returns the folder where browser tests save screenshots:
// CREDO_ARTIFACTS if set, otherwise credo-artifacts under the temp folder.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CREDO_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "credo-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifact folder: %v", err)
	}
	return dir
}

// Screenshot saves a full-page PNG of the current tab as NAME.png in the
// artifact folder and returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 gives a PNG; below, a JPEG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	name = strings.ReplaceAll(name, "/", "_")
	if !strings.HasSuffix(name, ".png") {
		name += ".png"
	}
	p := filepath.Join(ArtifactDir(t), name)
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot: %s", p)
	return p
}
