package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// TestS06BulkLoadIdentical files the same records, with repeats and a
// conflict, batch after batch into one registry and in a bulk load into
// another: the events, their hashes, the head and every projection are
// identical, and the bulk-loaded store passes the projection check. A
// bulk load cut short (the store closed before EndBulk) is finished when
// the store is next opened.
func TestS06BulkLoadIdentical(t *testing.T) {
	ctx := context.Background()
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	open := func(path string) *sqlite.DB {
		db, err := sqlite.OpenOptions(path, sqlite.Options{Now: func() time.Time { return fixed }})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	var batches [][]*credo.Record
	for b := range 6 {
		var rs []*credo.Record
		for i := range 500 {
			rs = append(rs, storetest.NewRecord("court.beijing", b*500+i, (b*500+i)%97))
		}
		batches = append(batches, rs)
	}
	batches = append(batches, batches[2][100:300]) // filed again: a no-op
	link := &credo.Event{Type: credo.EventLinkAdded, Subject: storetest.USCC(1), Actor: "samr",
		Link: &credo.Link{Org: storetest.USCC(1), Person: storetest.RIC(3), Role: credo.RoleLegalRepresentative, From: fixed.AddDate(-1, 0, 0)}}
	conflict := *batches[1][7]
	conflict.Rule = "SOMETHING_ELSE"

	load := func(path string, bulk, cutShort bool) *sqlite.DB {
		db := open(path)
		if bulk {
			if err := db.StartBulk(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for i, rs := range batches {
			if _, err := db.FileRecords(ctx, rs); err != nil {
				t.Fatal(err)
			}
			if i == 3 {
				if _, err := db.Append(ctx, []*credo.Event{link}); err != nil {
					t.Fatal(err)
				}
				if _, err := db.FileRecords(ctx, []*credo.Record{&conflict}); credo.ErrorCode(err) != credo.ECONFLICT {
					t.Fatalf("a conflicting record: %v", err)
				}
			}
		}
		if cutShort {
			db.Close()
			return open(path)
		}
		if bulk {
			if err := db.EndBulk(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return db
	}
	dir := t.TempDir()
	a := load(filepath.Join(dir, "batches.db"), false, false)
	defer a.Close()
	for _, cut := range []bool{false, true} {
		path := filepath.Join(dir, "bulk.db")
		if cut {
			path = filepath.Join(dir, "cut.db")
		}
		b := load(path, true, cut)
		defer b.Close()
		ha, hashA := head(t, a)
		hb, hashB := head(t, b)
		if ha != hb || hashA != hashB || ha < 3000 {
			t.Fatalf("cut short %v: heads %d %s and %d %s", cut, ha, hashA, hb, hashB)
		}
		ea, err := a.Events(ctx, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		eb, err := b.Events(ctx, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		if len(ea) != len(eb) {
			t.Fatalf("%d and %d events", len(ea), len(eb))
		}
		for i := range ea {
			if ea[i].Hash != eb[i].Hash {
				t.Fatalf("event %d differs", ea[i].Seq)
			}
		}
		if pr, err := b.VerifyProjections(ctx); err != nil || !pr.OK {
			t.Fatalf("cut short %v: the bulk-loaded store's projections: %+v %v", cut, pr, err)
		}
		for _, q := range []string{"SELECT subject || ' ' || seq FROM subject_events", "SELECT subject || ' ' || seq || ' ' || hex(body) FROM facts",
			"SELECT id || ' ' || kind || ' ' || first_seq || ' ' || last_seq FROM subjects", "SELECT count(*) FROM bulk_facts", "SELECT count(*) FROM bulk_subject_events"} {
			if ra, rb := rows(t, filepath.Join(dir, "batches.db"), q), rows(t, path, q); !slices.Equal(ra, rb) {
				t.Errorf("cut short %v: %s: %d rows and %d rows", cut, q, len(ra), len(rb))
			}
		}
	}
	// Only into a registry without records.
	if err := a.StartBulk(ctx); credo.ErrorCode(err) != credo.EINVALID {
		t.Errorf("a bulk load into a registry with records: %v", err)
	}
}

func head(t *testing.T, db *sqlite.DB) (int64, string) {
	t.Helper()
	seq, hash, err := db.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq, hash
}

func rows(t *testing.T, path, q string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(q + " ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
