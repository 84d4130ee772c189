package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	chttp "credo/http"
	"credo/registry"
	"credo/transparency"
)

// fileMore files n judgments with case references prefix0.. through the
// CLI (subjects ric(base+i)).
func fileMore(t *testing.T, db, prefix string, base, n int) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"%s%d","decided_at":"2024-03-0%d","evidence_sha256":%q}`+"\n",
			ric(base+i), prefix, i, 1+i%9, digest(prefix+fmt.Sprint(i)))
	}
	file := filepath.Join(t.TempDir(), "more.ndjson")
	writeFile(t, file, b.String())
	if code, out, errs := runCLI(t, "ingest", "--db", db, "-q", file); code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, errs)
	}
}

func copyDB(t *testing.T, from, to string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(from + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, to+suffix, string(b))
	}
	if b, err := os.ReadFile(from + ".keys"); err == nil { // the registry's keys (sealing)
		if err := os.WriteFile(to+".keys", b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

type testWitness struct {
	w    *transparency.Witness
	pub  string
	v    note.Verifier
	key  string
	srv  *httptest.Server
	logs *strings.Builder
}

func newTestWitness(t *testing.T, dir, name, logPub string) *testWitness {
	t.Helper()
	key := filepath.Join(dir, name+".key")
	code, pub, errs := runCLI(t, "keygen", "--out", key, "--origin", "witness.test/"+name)
	if code != 0 {
		t.Fatalf("keygen: %s", errs)
	}
	lv, err := transparency.ParseVerifier(logPub)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := transparency.ReadCosigner(key)
	if err != nil {
		t.Fatal(err)
	}
	logs := &strings.Builder{}
	w, err := transparency.NewWitness(lv, cs, key+".state", slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := transparency.ParseWitnessKey(strings.TrimSpace(pub))
	if err != nil {
		t.Fatal(err)
	}
	tw := &testWitness{w: w, pub: strings.TrimSpace(pub), v: v, key: key, srv: httptest.NewServer(w.Handler()), logs: logs}
	t.Cleanup(tw.srv.Close)
	return tw
}

// TestT05WitnessesRefuseFork is issue 17 item 5: a registry and two
// witnesses (C2SP tlog-witness add-checkpoint, cosignature/v1). The
// witnesses cosign the registry's checkpoints while the log grows; a
// receipt verifies with --min-witnesses 2. Then an insider forks the log
// behind the registry's back — the database file rewritten from an
// earlier copy with another tail, and the node's own checkpoint file
// deleted, so the node itself sees nothing — and restarts the node: the
// witnesses refuse to cosign the forked checkpoint (422, "the log
// forked"), the node refuses to serve (/readyz 503), a witness following
// the log (credo witness --once) reports the fork, and a receipt of the
// forked log fails --min-witnesses 1.
func TestT05WitnessesRefuseFork(t *testing.T) {
	dir := t.TempDir()
	db := newRegistry(t)
	fileJudgments(t, db, 4)
	logKey := filepath.Join(dir, "log.key")
	code, logPub, errs := runCLI(t, "keygen", "--out", logKey, "--origin", "city.test/log")
	if code != 0 {
		t.Fatalf("keygen: %s", errs)
	}
	logPub = strings.TrimSpace(logPub)
	w1 := newTestWitness(t, dir, "w1", logPub)
	w2 := newTestWitness(t, dir, "w2", logPub)
	wvs := []note.Verifier{w1.v, w2.v}
	f := &serveFlags{logKey: logKey, checkpointEvery: time.Hour, witnesses: []string{w1.srv.URL + "," + w1.pub, w2.srv.URL + "," + w2.pub}}

	// start runs the registry's signer on path and collects cosignatures.
	start := func(path string) (store, *transparency.Signer, context.CancelFunc) {
		st, err := openTestStore(path)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		s, err := startTransparency(ctx, f, st, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		s.Cosign(ctx)
		return st, s, cancel
	}
	cosigners := func(s *transparency.Signer) []string {
		names, err := transparency.Cosigned(s.Latest().Note, wvs)
		if err != nil {
			t.Fatal(err)
		}
		return names
	}

	st, s, cancel := start(db)
	n1 := s.Size()
	if got := cosigners(s); len(got) != 2 {
		t.Fatalf("cosigned by %v, want both witnesses", got)
	}
	cancel()
	st.Close()
	forkDB := filepath.Join(dir, "fork.db")
	copyDB(t, db, forkDB) // the insider's copy, of n1 events

	// The log grows; the witnesses follow (consistency proofs from n1).
	fileMore(t, db, "K", 600, 2)
	st, s, cancel = start(db)
	n2 := s.Size()
	if n2 <= n1 || len(cosigners(s)) != 2 || w1.w.Latest().Size != n2 || w2.w.Latest().Size != n2 {
		t.Fatalf("after growth: size %d (was %d), cosigners %v, witnesses at %d, %d", n2, n1, cosigners(s), w1.w.Latest().Size, w2.w.Latest().Size)
	}
	receipt, err := chttp.SubjectReceipt(context.Background(), st, s, ric(600))
	if err != nil {
		t.Fatal(err)
	}
	receiptFile := filepath.Join(dir, "receipt.json")
	writeFile(t, receiptFile, string(mustJSON(t, receipt)))
	cancel()
	st.Close()
	verifyArgs := []string{"receipt", "verify", receiptFile, "--key", logPub, "--witness", w1.pub, "--witness", w2.pub}
	if code, out, errs := runCLI(t, append(verifyArgs, "--min-witnesses", "2")...); code != 0 || !strings.Contains(out, "cosigned by 2 of 2 witnesses") {
		t.Fatalf("receipt verify --min-witnesses 2: %d %s%s", code, out, errs)
	}

	// The fork: another tail after n1, longer than the witnessed log; the
	// node's checkpoint file is gone (the insider deleted it).
	fileMore(t, forkDB, "X", 700, 3)
	copyDB(t, forkDB, db)
	if err := os.Remove(logKey + ".checkpoint"); err != nil {
		t.Fatal(err)
	}
	st, s, cancel = start(db)
	defer cancel()
	defer st.Close()
	if s.Size() <= n2 {
		t.Fatalf("forked log of %d events, want more than %d", s.Size(), n2)
	}
	if got := cosigners(s); len(got) != 0 {
		t.Fatalf("the forked checkpoint was cosigned by %v", got)
	}
	for _, w := range []*testWitness{w1, w2} {
		if w.w.Alarm() == nil || !strings.Contains(w.logs.String(), "the log forked") || w.w.Latest().Size != n2 {
			t.Fatalf("witness: alarm %v, at %d, log %s", w.w.Alarm(), w.w.Latest().Size, w.logs.String())
		}
		state, err := os.ReadFile(w.key + ".state")
		if err != nil || !strings.Contains(string(state), "\n"+itoa(n2)+"\n") {
			t.Fatalf("witness state: %v %q", err, state)
		}
	}
	if s.Fault() == nil || !strings.Contains(s.Fault().Error(), "forked") {
		t.Fatalf("the node's fault: %v", s.Fault())
	}
	reg, err := registry.Open(context.Background(), st, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := chttp.NewServer(reg, st, st, chttp.Options{Transparency: s})
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "forked") {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}

	// A receipt of the forked log carries the log's signature only.
	l, _ := transparency.AsLog(st)
	forked, err := transparency.BuildReceipt(context.Background(), l, s.Latest(), []int64{s.Size()})
	if err != nil {
		t.Fatal(err)
	}
	forkedFile := filepath.Join(dir, "forked.json")
	writeFile(t, forkedFile, string(mustJSON(t, forked)))
	if code, out, _ := runCLI(t, "receipt", "verify", forkedFile, "--key", logPub); code != 0 {
		t.Fatalf("the forked receipt, without witnesses: %d %s", code, out)
	}
	forkedArgs := []string{"receipt", "verify", forkedFile, "--key", logPub, "--witness", w1.pub, "--witness", w2.pub, "--min-witnesses", "1"}
	if code, out, _ := runCLI(t, forkedArgs...); code != 1 || !strings.Contains(out, "fewer than --min-witnesses 1") {
		t.Fatalf("the forked receipt, --min-witnesses 1: %d %s", code, out)
	}

	// A witness following the log (not called by it) catches the fork the
	// registry serves the public: serve the forked log from a signer that
	// asks no witness.
	pub, err := transparency.NewSigner(l, logKey, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Sign(context.Background()); err != nil {
		t.Fatal(err)
	}
	psrv := chttp.NewServer(reg, st, st, chttp.Options{Transparency: pub})
	defer psrv.Close()
	pts := httptest.NewServer(psrv.Handler())
	defer pts.Close()
	code, out, errs := runCLI(t, "witness", "--once", "--log", pts.URL, "--log-key", logPub, "--key", w1.key)
	if code != 1 || !strings.Contains(out, "forked") {
		t.Fatalf("witness --once on the fork: %d %s%s", code, out, errs)
	}
}
