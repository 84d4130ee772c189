package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"credo/sqlite"
)

// TestF06DemoStory plays the story the demo prints, with its printed
// tokens only: the citizen objects to the record behind their denial, the
// printed clerk (of the authority that filed it) finds the objection in
// the queue and decides it, and the citizen sees the outcome. The city has
// residents who consented to a personal score, so personal tiers are not
// all empty. A restart reuses the saved decision table (issue 19 item 9).
func TestF06DemoStory(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a small demo city")
	}
	db := filepath.Join(t.TempDir(), "demo.db")
	out, stop := startDemo(t, db)
	base := regexp.MustCompile(`serving at (http://\S+)`).FindStringSubmatch(out)
	subj := regexp.MustCompile(`(?m)^  subject (\d{17}[\dX])\s+(\S+)$`).FindStringSubmatch(out)
	clerk := regexp.MustCompile(`(?m)^  authority (\S+)\s+(\S+)$`).FindStringSubmatch(out)
	auditor := regexp.MustCompile(`(?m)^  auditor\s+(\S+)$`).FindStringSubmatch(out)
	record := regexp.MustCompile(`because of record (\d+)`).FindStringSubmatch(out)
	if base == nil || subj == nil || clerk == nil || auditor == nil || record == nil {
		stop()
		t.Fatalf("the demo does not print the story's tokens and record:\n%s", out)
	}
	do := func(method, path, token, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base[1]+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d\n%s", method, path, resp.StatusCode, want, b)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	// 1. The citizen objects.
	d := do("POST", "/v1/disputes", subj[2], fmt.Sprintf(`{"record_id":%s,"grounds":"I paid the judgment debt"}`, record[1]), 201)
	id := fmt.Sprint(d["id"])
	// 2. The printed clerk sees it in the queue and decides.
	q := do("GET", "/v1/disputes", clerk[2], "", 200)
	if b, _ := json.Marshal(q); !strings.Contains(string(b), `"record_id":`+record[1]) {
		t.Fatalf("the clerk of %s does not see the objection to record %s:\n%s", clerk[1], record[1], b)
	}
	do("POST", "/v1/disputes/"+id+"/decision", clerk[2], `{"outcome":"revoked","reason":"payment confirmed"}`, 200)
	// 3. The citizen sees the outcome.
	mine := do("GET", "/v1/disputes?state=all", subj[2], "", 200)
	if b, _ := json.Marshal(mine); !strings.Contains(string(b), `"revoked"`) {
		t.Errorf("the citizen does not see the decision:\n%s", b)
	}
	// Personal scores: someone consented, so the civic scheme has tiers.
	st := do("GET", "/v1/stats", auditor[1], "", 200)
	b, _ := json.Marshal(st["schemes"])
	var schemes []struct {
		Scheme string         `json:"scheme"`
		Tiers  map[string]int `json:"tiers"`
	}
	json.Unmarshal(b, &schemes)
	scored := 0
	for _, s := range schemes {
		if s.Scheme == "civic" {
			for _, n := range s.Tiers {
				scored += n
			}
		}
	}
	if scored == 0 {
		t.Errorf("no resident of the demo city has a personal (civic) tier: %s", b)
	}
	stop()
	// The demo seeds its links, records and consents in one bulk load:
	// the projections it leaves equal a replay of the log.
	vs, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if pr, err := vs.VerifyProjections(context.Background()); err != nil || !pr.OK {
		t.Errorf("the demo registry's projections: %+v %v", pr, err)
	}
	vs.Close()
	// A restart loads the saved decision table instead of rebuilding it.
	_, stop = startDemo(t, db)
	logs := stop()
	if !strings.Contains(logs, "decision table loaded from snapshot") || strings.Contains(logs, `"msg":"decision table built"`) {
		t.Errorf("the restarted demo did not load its saved decision table:\n%s", logs)
	}
}

// startDemo runs a small `credo demo` on a free port until its banner is
// printed; stop ends it and returns its stderr.
func startDemo(t *testing.T, db string) (string, func() string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--db", db, "--addr", addr, "--people", "4000", "--orgs", "400", "--activity", "1"}, strings.NewReader(""), &out, &errb)
	}()
	stopped := false
	stop := func() string {
		if !stopped {
			stopped = true
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("demo exited %d:\n%s", code, errb.String())
			}
		}
		return errb.String()
	}
	for !strings.Contains(out.String(), "Ctrl-C stops") {
		select {
		case code := <-done:
			stopped = true
			t.Fatalf("demo exited %d:\n%s\n%s", code, out.String(), errb.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return out.String(), stop
}
