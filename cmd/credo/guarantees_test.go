package main

import (
	"strings"
	"testing"
)

// TestG08PublishAgain: publishing a document that is already published
// publishes nothing, and the command says so instead of printing a
// publication that did not happen.
func TestG08PublishAgain(t *testing.T) {
	db := newRegistry(t)
	code, out, errs := runCLI(t, "policy", "publish", "--db", db, "testdata/policy.yaml", "--effective", "2030-01-01")
	if code == 0 || strings.Contains(out, "published policy") {
		t.Errorf("exit %d, stdout %q: a publication that did not happen", code, out)
	}
	if !strings.Contains(errs, "already published") || !strings.Contains(errs, "nothing was published") {
		t.Errorf("stderr %q", errs)
	}
	// Still one version, effective as first published.
	code, out, _ = runCLI(t, "policy", "publish", "--db", db, "../../policies/beijing.yaml")
	if code != 0 || !strings.Contains(out, "published policy") {
		t.Errorf("a new version: exit %d, %q", code, out)
	}
}
