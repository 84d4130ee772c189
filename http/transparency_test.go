package http_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	credohttp "credo/http"
	"credo/sqlite"
	"credo/transparency"
)

// withTransparency asks newEnv for a server that signs checkpoints.
var withTransparency = &transparency.Signer{}

// testSigner returns a signer of db's checkpoints with a new key.
func testSigner(t testing.TB, db *sqlite.DB) *transparency.Signer {
	t.Helper()
	dir := t.TempDir()
	skey, _, err := transparency.GenerateKey("credo.test/log")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "log.key")
	if err := os.WriteFile(keyFile, []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := transparency.NewSigner(db, keyFile, filepath.Join(dir, "checkpoint"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTHTTPProofs: the checkpoint served verifies with the served key
// through note.Open, and the proofs served verify with tlog.CheckRecord
// and tlog.CheckTree; a check answer states the checkpoint size; a
// subject's file carries a receipt that verifies offline, and fails once
// any byte of an event is altered.
func TestTHTTPProofs(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1, Transparency: withTransparency})
	e.file(alice, "(2024)Doc-1")
	e.file(alice, "(2024)Doc-2")
	e.file(bob, "(2024)Doc-3")
	var key credohttp.LogKey
	e.do("GET", "/v1/log/key", "", nil).decode(t, &key)
	v, err := note.NewVerifier(key.Key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.signer.Sign(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/checkpoint", "", nil)
	n, err := note.Open(r.body, note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint %q: %v", r.body, err)
	}
	cp, err := transparency.ParseCheckpoint(n.Text)
	if err != nil || cp.Size < 4 {
		t.Fatalf("checkpoint %+v, %v", cp, err)
	}
	var bodies [][]byte
	e.db.EventBodies(context.Background(), 0, cp.Size, func(_ int64, b []byte) error {
		bodies = append(bodies, append([]byte(nil), b...))
		return nil
	})
	for seq := int64(1); seq <= cp.Size; seq++ {
		var ip credohttp.InclusionProof
		e.do("GET", "/v1/proofs/inclusion?seq="+itoa(seq)+"&size="+itoa(cp.Size), "", nil).decode(t, &ip)
		if ip.Root != cp.Root {
			t.Fatalf("inclusion root %v, checkpoint %v", ip.Root, cp.Root)
		}
		if err := tlog.CheckRecord(ip.Proof, cp.Size, cp.Root, seq-1, tlog.RecordHash(bodies[seq-1])); err != nil {
			t.Fatalf("event %d: %v", seq, err)
		}
		var tp credohttp.ConsistencyProof
		e.do("GET", "/v1/proofs/consistency?old="+itoa(seq)+"&new="+itoa(cp.Size), "", nil).decode(t, &tp)
		if err := tlog.CheckTree(tp.Proof, cp.Size, cp.Root, seq, tp.OldRoot); err != nil {
			t.Fatalf("consistency %d: %v", seq, err)
		}
	}

	chk := e.do("POST", "/v1/checks", "airline", map[string]any{"subject": alice, "sector": "aviation"})
	var res struct {
		CheckpointSize int64 `json:"checkpoint_size"`
	}
	chk.decode(t, &res)
	if res.CheckpointSize < cp.Size {
		t.Fatalf("check answer: checkpoint_size %d, want >= %d: %s", res.CheckpointSize, cp.Size, chk.body)
	}

	var st struct {
		Receipt json.RawMessage `json:"receipt"`
	}
	e.do("GET", "/v1/subjects/"+alice, "admin", nil).decode(t, &st)
	got, err := transparency.VerifyReceipt(st.Receipt, v)
	if err != nil {
		t.Fatalf("receipt: %v\n%s", err, st.Receipt)
	}
	if len(got.Events) < 2 {
		t.Fatalf("receipt has %d events", len(got.Events))
	}
	// Altering any byte of an event's encoding, or of the event shown
	// beside it, fails the receipt.
	var rc transparency.Receipt
	json.Unmarshal(st.Receipt, &rc)
	ev, body := rc.Events[0].Event, rc.Events[0].Body
	cpJSON, _ := json.Marshal(rc.Checkpoint)
	proof, _ := json.Marshal(rc.Events[0].Proof)
	receipt := func(body []byte, ev []byte) string {
		b, _ := json.Marshal(body)
		return `{"checkpoint":` + string(cpJSON) + `,"events":[{"seq":` + itoa(rc.Events[0].Seq) + `,"body":` + string(b) + `,"event":` + string(ev) + `,"proof":` + string(proof) + `}]}`
	}
	for i := range body {
		b := append([]byte(nil), body...)
		b[i] ^= 0x01
		if _, err := transparency.VerifyReceipt([]byte(receipt(b, ev)), v); err == nil {
			t.Fatalf("receipt with byte %d of the body of event %d altered verifies", i, rc.Events[0].Seq)
		}
	}
	for i := range ev {
		b := append([]byte(nil), ev...)
		b[i] ^= 0x01
		if b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r' {
			b[i] ^= 0x03
		}
		if _, err := transparency.VerifyReceipt([]byte(receipt(body, b)), v); err == nil {
			t.Fatalf("receipt with byte %d of event %d altered (%q) verifies", i, rc.Events[0].Seq, b)
		}
	}
	if _, err := transparency.VerifyReceipt([]byte(receipt(body, ev)), v); err != nil {
		t.Fatalf("the unaltered one-event receipt: %v", err)
	}
	// Another log's key does not verify it.
	_, other, _ := transparency.GenerateKey("credo.test/log")
	ov, _ := note.NewVerifier(other)
	if _, err := transparency.VerifyReceipt(st.Receipt, ov); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("receipt under another key: %v", err)
	}
}
