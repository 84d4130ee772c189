package sqlite_test

import (
	"database/sql"
	"slices"
	"testing"
	"time"

	"credo"
	"credo/internal/storecore"
	"credo/sqlite"
	"credo/storetest"
)

// columnsOf returns the columns of a table, in order.
func columnsOf(t *testing.T, raw *sql.DB, table string) []string {
	t.Helper()
	rows, err := raw.Query("SELECT name FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	return cols
}

// TestS09RecordsCompact: the records table keeps what the log does not say
// (authority, subject, the case key, the status columns), and nothing is
// indexed by the two strings of a record's identity.
func TestS09RecordsCompact(t *testing.T) {
	db, path := openDB(t)
	fileN(t, db, 0, 20)
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	want := []string{"id", "authority", "subject", "case_key", "status", "revoked_at", "fulfilled_at", "repaired_at", "changed_seq"}
	if got := columnsOf(t, raw, "records"); !slices.Equal(got, want) {
		t.Fatalf("records columns = %v, want %v", got, want)
	}
	var n int
	if err := raw.QueryRow("SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'records' AND type = 'index' AND name <> 'records_case'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("records has %d indexes besides records_case (%v)", n, err)
	}
	// Each row's key is the one of its identity.
	for i := range 20 {
		r := storetest.NewRecord("court.test", i, i)
		got, err := db.RecordByCase(ctx, r.Authority, r.CaseRef)
		if err != nil {
			t.Fatal(err)
		}
		var key int64
		if err := raw.QueryRow("SELECT case_key FROM records WHERE id = ?", got.ID).Scan(&key); err != nil {
			t.Fatal(err)
		}
		if key != storecore.CaseKey(r.Authority, r.CaseRef) {
			t.Fatalf("record %d: case_key %d, want %d", got.ID, key, storecore.CaseKey(r.Authority, r.CaseRef))
		}
	}
}

// TestS09CaseKeyCollision: two identities with one case key (made here by
// giving record A the key of record B) are told apart by the events they
// read: a lookup of B finds B, re-filing B is idempotent, and filing a new
// record under A's identity is not mistaken for either.
func TestS09CaseKeyCollision(t *testing.T) {
	db, path := openDB(t)
	res := fileN(t, db, 0, 10)
	a, b := res[2].Record, res[7].Record
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("UPDATE records SET case_key = ? WHERE id = ?", storecore.CaseKey(b.Authority, b.CaseRef), a.ID); err != nil {
		t.Fatal(err)
	}
	got, err := db.RecordByCase(ctx, b.Authority, b.CaseRef)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != b.ID {
		t.Fatalf("RecordByCase(B) = record %d, want %d (record %d shares its key)", got.ID, b.ID, a.ID)
	}
	again, err := db.FileRecord(ctx, storetest.NewRecord("court.test", 7, 7))
	if err != nil {
		t.Fatalf("re-filing B: %v", err)
	}
	if again.Created || again.Record.ID != b.ID {
		t.Fatalf("re-filing B: created %v, id %d, want the stored %d", again.Created, again.Record.ID, b.ID)
	}
	// The check of the projections sees the altered key.
	pr, err := db.VerifyProjections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pr.OK || !slices.ContainsFunc(pr.Problems, func(p credo.ProjectionProblem) bool { return p.Table == "records" }) {
		t.Fatalf("VerifyProjections after a case key was altered: %+v", pr)
	}
}

// TestS09RecordsMigrated: a registry whose records table has the layout
// before migration 0096 (the identity as two indexed strings, the rule and
// the dates repeated), with a dispute whose row refers to a record, is
// rebuilt on open: every record is found by its identity, re-filing is
// idempotent, the dispute is read as before and the projections verify.
func TestS09RecordsMigrated(t *testing.T) {
	db, path := openDB(t)
	res := fileN(t, db, 0, 30)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	if _, err := db.Append(ctx, []*credo.Event{{Type: credo.EventDisputeOpened, Actor: "subject",
		Dispute: &credo.Dispute{RecordID: res[4].Record.ID, OpenedAt: at, Grounds: "not me"}}}); err != nil {
		t.Fatal(err)
	}
	before, err := db.Disputes(ctx, credo.DisputeFilter{})
	if err != nil || len(before) != 1 {
		t.Fatalf("Disputes: %v, %v", before, err)
	}
	db.Close()
	oldRecordsLayout(t, path, res)

	db2, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	for i, r := range res {
		nr := storetest.NewRecord("court.test", i, i)
		got, err := db2.RecordByCase(ctx, nr.Authority, nr.CaseRef)
		if err != nil || got.ID != r.Record.ID {
			t.Fatalf("record %d after the migration: %v, %v", r.Record.ID, got, err)
		}
	}
	refiled, err := db2.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.test", 3, 3), storetest.NewRecord("court.test", 30, 30)})
	if err != nil {
		t.Fatal(err)
	}
	if refiled[0].Created || refiled[0].Record.ID != res[3].Record.ID || !refiled[1].Created {
		t.Fatalf("filing after the migration: %+v", refiled)
	}
	after, err := db2.Disputes(ctx, credo.DisputeFilter{})
	if err != nil || len(after) != 1 || after[0].CaseRef != before[0].CaseRef || after[0].Rule != before[0].Rule || after[0].Authority != before[0].Authority {
		t.Fatalf("Disputes after the migration: %+v, %v; before %+v", after, err, before)
	}
	pr, err := db2.VerifyProjections(ctx)
	if err != nil || !pr.OK {
		t.Fatalf("VerifyProjections after the migration: %+v, %v", pr, err)
	}
}

// oldRecordsLayout gives the registry at path the records table it had
// before migration 0096, filled from res, and forgets that 0096 ran.
func oldRecordsLayout(t *testing.T, path string, res []credo.FileResult) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	text := func(tm time.Time) string { return tm.UTC().Format("2006-01-02T15:04:05.000000000Z") }
	steps := []string{
		"PRAGMA foreign_keys = OFF",
		"DROP TABLE records",
		`CREATE TABLE records (
			id INTEGER PRIMARY KEY, authority TEXT NOT NULL, case_ref TEXT NOT NULL, subject TEXT NOT NULL,
			rule TEXT NOT NULL, decided_at TEXT NOT NULL, filed_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active',
			revoked_at TEXT, fulfilled_at TEXT, repaired_at TEXT, changed_seq INTEGER, UNIQUE (authority, case_ref))`,
		"DELETE FROM schema_version WHERE version >= 96",
	}
	for _, q := range steps {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	for _, r := range res {
		rec := r.Record
		if _, err := raw.Exec("INSERT INTO records (id, authority, case_ref, subject, rule, decided_at, filed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			rec.ID, rec.Authority, rec.CaseRef, rec.Subject, rec.Rule, text(rec.DecidedAt), text(rec.FiledAt)); err != nil {
			t.Fatal(err)
		}
	}
	var left int
	if err := raw.QueryRow("SELECT count(*) FROM pragma_table_info('records') WHERE name = 'case_key'").Scan(&left); err != nil || left != 0 {
		t.Fatal("the old layout has a case_key column", err)
	}
}

// storedRecords returns the records of the registry at path, as filing
// results, in id order.
func storedRecords(t *testing.T, db *sqlite.DB, path string) []credo.FileResult {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query("SELECT id FROM records ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var res []credo.FileResult
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		r, err := db.Record(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, credo.FileResult{Record: r})
	}
	return res
}

// TestS06BulkFreesStaging: a bulk load leaves no free pages in the loaded
// file: a new registry (made with auto_vacuum = INCREMENTAL) gives the
// pages freed during the load back to the file system, and a file made
// without it (before auto_vacuum) has none to give back either, since the
// load stages nothing in SQLite (its rows wait in run files, bulkruns.go).
func TestS06BulkFreesStaging(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		path := t.TempDir() + "/credo.db"
		if legacy {
			raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec("CREATE TABLE early (x)"); err != nil { // a table first: auto_vacuum stays NONE
				t.Fatal(err)
			}
			raw.Close()
		}
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.StartBulk(ctx); err != nil {
			t.Fatal(err)
		}
		for from := 0; from < 4000; from += 1000 {
			fileN(t, db, from, 1000)
		}
		if err := db.EndBulk(ctx); err != nil {
			t.Fatal(err)
		}
		db.Close()
		raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var av, free, facts int
		if err := raw.QueryRow("SELECT (SELECT auto_vacuum FROM pragma_auto_vacuum), (SELECT freelist_count FROM pragma_freelist_count), (SELECT count(*) FROM facts)").Scan(&av, &free, &facts); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		if facts != 4000 {
			t.Fatalf("legacy %v: %d facts after the bulk load, want 4000", legacy, facts)
		}
		switch {
		case !legacy && (av != 2 || free != 0):
			t.Fatalf("new registry: auto_vacuum %d, %d free pages after the bulk load; want 2 and 0", av, free)
		case legacy && (av != 0 || free != 0):
			t.Fatalf("legacy file: auto_vacuum %d, %d free pages; want 0 and 0", av, free)
		}
	}
}
