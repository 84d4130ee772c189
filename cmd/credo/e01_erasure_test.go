package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"credo"
	"credo/registry"
	"credo/seal"
	"credo/transparency"
)

// personal is what TestE01 files about its subject and then looks for in
// every file of the registry's directory.
type personal struct {
	subject, name, caseRef, uri, grounds, reason string
}

func (p personal) needles() map[string][]byte {
	return map[string][]byte{"identifier": []byte(p.subject), "name": []byte(p.name), "case reference": []byte(p.caseRef),
		"evidence URI": []byte(p.uri), "grounds": []byte(p.grounds), "decision reason": []byte(p.reason)}
}

// scanDir reads every file in dir, byte-wise, for each needle; it returns
// "file: what" for each found.
func scanDir(t *testing.T, dir string, needles map[string][]byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for what, n := range needles {
			if bytes.Contains(b, n) {
				found = append(found, filepath.Base(path)+": "+what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// fileSubjectFile files, through the commands, a record about p's subject
// decided long ago (its effects ended, its retention passed), with a
// dispute decided on it, a check and a subject token; and a recent record
// about another subject, who must stay.
func fileSubjectFile(t *testing.T, db string, p personal, other string) (recordID int64) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "records.ndjson")
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"subject_name":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":%q,"decided_at":"2019-01-02","evidence_sha256":%q,"evidence_uri":%q}`+"\n"+
		`{"subject":%q,"subject_name":"Li Stays","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"(2026)stays-1","decided_at":"2026-06-01","evidence_sha256":%q}`+"\n",
		p.subject, p.name, p.caseRef, digest("e01"), p.uri, other, digest("e01-other")))
	mustRun(t, "ingest", "--db", db, "-q", file)
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.RecordByCase(context.Background(), "court.test", p.caseRef)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, "dispute", "open", "--db", db, "--record", itoa(r.ID), "--grounds", p.grounds)
	st, err = openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := st.Disputes(context.Background(), credo.DisputeFilter{Subject: p.subject})
	st.Close()
	if err != nil || len(ds) != 1 || ds[0].Grounds != p.grounds {
		t.Fatalf("the dispute: %+v, %v", ds, err)
	}
	mustRun(t, "dispute", "decide", "--db", db, itoa(ds[0].ID), "--outcome", "upheld", "--reason", p.reason, "--authority", "court.test")
	mustRun(t, "check", "--db", db, p.subject, "aviation")
	mustRun(t, "token", "create", "--db", db, "--role", "subject", "--subject", p.subject)
	return r.ID
}

// TestE01ErasedSubjectLeavesNoTrace: a subject's records are filed, their
// effects end, their retention passes, and `credo retention erase`
// erases them. Before and after, no file of the registry's directory (the
// database, its write-ahead log, the check log, the table snapshot,
// anything) holds their identifier, name, case reference, evidence URI or
// free text in clear; after, their data key is gone from every file, the
// log verifies, the inclusion proofs of their events still verify, and
// checks, show and the API answer as for an unknown subject.
func TestE01ErasedSubjectLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "city.db")
	mustRun(t, "init", "--db", db, "--policy", "testdata/policy.yaml")
	p := personal{subject: ric(901), name: "Wang Erasable-Person", caseRef: "(2019)Jing0105Zhi-E01", uri: "https://court.test/e01/judgment-secret.pdf",
		grounds: "grounds-E01: I paid on 3 May", reason: "reason-E01: no proof of payment"}
	other := ric(902)
	fileSubjectFile(t, db, p, other)

	// The table snapshot (a server's) is in the directory too.
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(ctx, st, registry.Options{Snapshot: db + ".table", SnapshotKey: snapshotKey(st)})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SaveSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := st.SubjectEvents(ctx, p.subject)
	if err != nil || len(evs) < 3 {
		t.Fatalf("the subject's events: %d, %v", len(evs), err)
	}
	sst, ok := st.(*seal.Store)
	if !ok {
		t.Fatalf("the registry's store is not sealed: %T", st)
	}
	pseud := sst.Pseudonym(p.subject)
	st.Close()
	if _, err := os.Stat(db + ".table"); err != nil {
		t.Fatal(err)
	}

	// The scan finds what is there (the records file, outside the
	// registry's directory, holds them in clear).
	if found := scanDir(t, filepath.Join(dir, ".."), p.needles()); len(found) == 0 {
		t.Fatal("the scan finds nothing even in the records file")
	}
	if found := scanDir(t, dir, p.needles()); len(found) > 0 {
		t.Errorf("before erasure, in clear: %v", found)
	}

	// The data key as stored, to look for after.
	raw, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var wrapped, sealedID []byte
	if err := raw.QueryRow("SELECT wrapped, sealed_id FROM subject_keys WHERE pseudonym = ?", pseud).Scan(&wrapped, &sealedID); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	out := mustRun(t, "retention", "erase", "--db", db, "--dry-run")
	if !strings.Contains(out, "would erase "+p.subject) || strings.Contains(out, other) {
		t.Fatalf("dry run:\n%s", out)
	}
	out = mustRun(t, "retention", "erase", "--db", db)
	if !strings.Contains(out, "erased "+p.subject) || !strings.Contains(out, "PIPL art 47") {
		t.Fatalf("erase:\n%s", out)
	}

	// The key row is gone, from the table and from every page.
	raw, err = sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := raw.QueryRow("SELECT count(*) FROM subject_keys WHERE pseudonym = ?", pseud).Scan(&n); err != nil || n != 0 {
		t.Errorf("key rows of the erased subject: %d, %v", n, err)
	}
	raw.Close()
	needles := p.needles()
	needles["wrapped data key"], needles["sealed identifier"] = wrapped, sealedID
	if found := scanDir(t, dir, needles); len(found) > 0 {
		t.Errorf("after erasure, still in the files: %v", found)
	}

	// The log verifies, and the proofs of the subject's events.
	if code, out, errs := runCLI(t, "verify", "--db", db); code != 0 || !strings.Contains(out, "ok: projections equal") {
		t.Errorf("verify after erasure: exit %d\n%s%s", code, out, errs)
	}
	st, err = openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, _ := transparency.AsLog(rawStore(st))
	size, _, err := st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := transparency.Root(ctx, l, size)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		proof, err := transparency.Inclusion(ctx, l, ev.Seq, size)
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		if err := l.EventBodies(ctx, ev.Seq-1, ev.Seq, func(_ int64, b []byte) error { body = b; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(proof, size, root, ev.Seq-1, tlog.RecordHash(body)); err != nil {
			t.Errorf("inclusion proof of event %d after erasure: %v", ev.Seq, err)
		}
	}
	// Nothing of the subject opens any more.
	if got, err := st.SubjectEvents(ctx, p.subject); err != nil || len(got) != 0 {
		t.Errorf("events of the erased subject: %d, %v", len(got), err)
	}
	if _, err := st.RecordByCase(ctx, "court.test", p.caseRef); credo.ErrorCode(err) != credo.ENOTFOUND {
		t.Errorf("the erased record by case: %v, want ENOTFOUND", err)
	}
	if cs, err := st.ChecksOf(ctx, p.subject, 10); err != nil || len(cs) != 0 {
		t.Errorf("checks of the erased subject: %d, %v", len(cs), err)
	}
	if got, err := st.SubjectEvents(ctx, other); err != nil || len(got) == 0 {
		t.Errorf("the other subject's events: %d, %v", len(got), err)
	}

	// Checks and show answer as for a subject never filed about.
	unknown := ric(903)
	for _, args := range [][]string{{"check", "--db", db, "%s", "aviation"}, {"show", "--db", db, "%s"}} {
		run := func(s string) (int, string) {
			a := append([]string(nil), args...)
			a[3] = s
			code, out, errs := runCLI(t, a...)
			return code, strings.ReplaceAll(out+errs, s, "SUBJECT")
		}
		c1, o1 := run(p.subject)
		c2, o2 := run(unknown)
		if c1 != c2 || o1 != o2 {
			t.Errorf("%s of the erased subject (exit %d):\n%s\nof an unknown one (exit %d):\n%s", args[0], c1, o1, c2, o2)
		}
	}
}
