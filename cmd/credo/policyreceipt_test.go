package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	chttp "credo/http"
)

// TestT06ReceiptProvesPolicies is issue 17 item 6: a subject's receipt
// carries the policy.published event of the policy version in force over
// their file, with its inclusion proof; credo receipt verify checks it,
// and altering the policy (its rules) in the receipt fails it.
func TestT06ReceiptProvesPolicies(t *testing.T) {
	dir := t.TempDir()
	db := newRegistry(t)
	fileJudgments(t, db, 2)
	keyFile := filepath.Join(dir, "log.key")
	code, vkey, errs := runCLI(t, "keygen", "--out", keyFile)
	if code != 0 {
		t.Fatal(errs)
	}
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := startTransparency(ctx, &serveFlags{logKey: keyFile, checkpointEvery: time.Hour}, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r, err := chttp.SubjectReceipt(ctx, st, s, ric(500))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Policies) != 1 || !strings.Contains(string(r.Policies[0].Event), `"policy.published"`) {
		t.Fatalf("receipt policies: %+v", r.Policies)
	}
	file := filepath.Join(dir, "receipt.json")
	writeFile(t, file, string(mustJSON(t, r)))
	if code, out, errs := runCLI(t, "receipt", "verify", file, "--key", strings.TrimSpace(vkey)); code != 0 || !strings.Contains(out, "1 policy versions in force") {
		t.Fatalf("verify: %d %s%s", code, out, errs)
	}
	// Another rule set in the receipt's policy event: the proof fails.
	var ev map[string]any
	if err := json.Unmarshal(r.Policies[0].Event, &ev); err != nil {
		t.Fatal(err)
	}
	old := `"name":"` + ev["policy"].(map[string]any)["name"].(string) + `"`
	altered := strings.Replace(string(r.Policies[0].Event), old, `"name":"a milder policy"`, 1)
	if altered == string(r.Policies[0].Event) {
		t.Fatalf("no %s in %s", old, r.Policies[0].Event)
	}
	r.Policies[0].Event = json.RawMessage(altered)
	writeFile(t, file, string(mustJSON(t, r)))
	if code, out, _ := runCLI(t, "receipt", "verify", file, "--key", strings.TrimSpace(vkey)); code != 1 || !strings.Contains(out, "policies[0]") {
		t.Fatalf("verify of an altered policy: %d %s", code, out)
	}
}
