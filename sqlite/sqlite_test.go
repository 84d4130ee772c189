package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"credo"
	"credo/ident"
	"credo/sqlite"
	"credo/storetest"
)

var ctx = context.Background()

// openDB opens a new store in a temporary directory, closed at cleanup.
func openDB(t testing.TB) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credo.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// reopenable opens a store like openDB and returns a function that opens
// its file again (after the test closed it), closed at cleanup too.
func reopenable(t *testing.T) (*sqlite.DB, func(t *testing.T) *sqlite.DB) {
	t.Helper()
	db, path := openDB(t)
	return db, func(t *testing.T) *sqlite.DB {
		t.Helper()
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("reopening: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) credo.Store {
		db, _ := openDB(t)
		return db
	})
}

// TestStoreParts runs the conformance checks of the store's other parts:
// due-process queues, notices, outbox, tokens, check log.
func TestStoreParts(t *testing.T) {
	storetest.RunParts(t, func(t *testing.T) (storetest.FullStore, func(*testing.T) storetest.FullStore) {
		db, reopen := reopenable(t)
		return db, func(t *testing.T) storetest.FullStore { return reopen(t) }
	})
}

// fileN files records 0..n-1 of court.test about persons 0..n-1.
func fileN(t testing.TB, db *sqlite.DB, from, n int) []credo.FileResult {
	t.Helper()
	var rs []*credo.Record
	for i := from; i < from+n; i++ {
		rs = append(rs, storetest.NewRecord("court.test", i, i))
	}
	res, err := db.FileRecords(ctx, rs)
	if err != nil {
		t.Fatalf("FileRecords: %v", err)
	}
	return res
}

// rawDB opens the file with a plain database/sql connection, as an
// attacker (or a careless operator) with file access would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	return raw
}

func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestAppendOnlyTriggers(t *testing.T) {
	db, path := openDB(t)
	fileN(t, db, 0, 3)
	raw := rawDB(t, path)
	for _, q := range []string{
		"UPDATE events SET body = x'00' WHERE seq = 2",
		"UPDATE events SET hash = 'x' WHERE seq = 2",
		"DELETE FROM events WHERE seq = 3",
		"DELETE FROM events",
	} {
		_, err := raw.Exec(q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error %v, want the append-only trigger to refuse", q, err)
		}
	}
	res, err := db.Verify(ctx)
	if err != nil || !res.OK || res.Count != 3 {
		t.Errorf("Verify = %+v, %v", res, err)
	}
}

// TestTamper alters a closed store's file behind its back (the
// append-only triggers dropped) and checks that Verify, after a reopen,
// reports the first event that no longer holds.
func TestTamper(t *testing.T) {
	open, tamper := tamperer()
	storetest.RunTamper(t, open, tamper)
}

// rawHash is the SHA-256 of b as a hash column holds it.
func rawHash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// tamperer returns how the tamper tests open a store and alter its file
// (closed first, the append-only triggers dropped, opened again).
func tamperer() (func(t *testing.T) credo.Store, storetest.TamperFunc) {
	tamper := map[string]func(t *testing.T, raw *sql.DB){
		"alter body": func(t *testing.T, raw *sql.DB) {
			mustExec(t, raw, "UPDATE events SET body = CAST(replace(CAST(body AS TEXT), 'JUDGMENT_DEFAULT', 'JUDGMENT_DEFAULX') AS BLOB) WHERE seq = 17")
		},
		"alter body and rehash": func(t *testing.T, raw *sql.DB) {
			var body []byte
			if err := raw.QueryRow("SELECT body FROM events WHERE seq = 19").Scan(&body); err != nil {
				t.Fatal(err)
			}
			body = bytes.Replace(body, []byte("JUDGMENT_DEFAULT"), []byte("JUDGMENT_DEFAULX"), 1)
			mustExec(t, raw, "UPDATE events SET body = ?, hash = ? WHERE seq = 19", body, rawHash(body))
		},
		"swap two events": func(t *testing.T, raw *sql.DB) {
			mustExec(t, raw, "UPDATE events SET seq = -5 WHERE seq = 5")
			mustExec(t, raw, "UPDATE events SET seq = 5 WHERE seq = 6")
			mustExec(t, raw, "UPDATE events SET seq = 6 WHERE seq = -5")
		},
		"delete an event":        func(t *testing.T, raw *sql.DB) { mustExec(t, raw, "DELETE FROM events WHERE seq = 18") },
		"delete the first event": func(t *testing.T, raw *sql.DB) { mustExec(t, raw, "DELETE FROM events WHERE seq = 1") },
		"delete the last event":  func(t *testing.T, raw *sql.DB) { mustExec(t, raw, "DELETE FROM events WHERE seq = 30") },
		"change a hash": func(t *testing.T, raw *sql.DB) {
			mustExec(t, raw, "UPDATE events SET hash = ? WHERE seq = 20", rawHash([]byte("forged")))
		},
		"change the last hash and the head": func(t *testing.T, raw *sql.DB) {
			h := rawHash([]byte("forged"))
			mustExec(t, raw, "UPDATE events SET hash = ? WHERE seq = 30", h)
			mustExec(t, raw, "UPDATE head SET hash = ?", h)
		},
		"change a prev_hash column": func(t *testing.T, raw *sql.DB) {
			mustExec(t, raw, "UPDATE events SET prev_hash = ? WHERE seq = 12", rawHash([]byte("forged")))
		},
		"change a subject column": func(t *testing.T, raw *sql.DB) {
			mustExec(t, raw, "UPDATE events SET subject = 'someone else' WHERE seq = 9")
		},
		"insert an event": func(t *testing.T, raw *sql.DB) {
			mustExec(t, raw, "INSERT INTO events SELECT 31, type, subject, recorded, body, prev_hash, hash FROM events WHERE seq = 30")
		},
	}
	for _, pt := range storetest.ProjectionTamperings {
		tamper[pt.Name] = func(t *testing.T, raw *sql.DB) { mustExec(t, raw, pt.SQL) }
	}
	paths := map[credo.Store]string{}
	return func(t *testing.T) credo.Store {
			db, path := openDB(t)
			paths[db] = path
			return db
		}, func(t *testing.T, s credo.Store, name string) credo.Store {
			f, ok := tamper[name]
			if !ok {
				t.Fatalf("no tampering %q for SQLite", name)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			raw := rawDB(t, paths[s])
			mustExec(t, raw, "DROP TRIGGER events_no_update")
			mustExec(t, raw, "DROP TRIGGER events_no_delete")
			f(t, raw)
			raw.Close()
			db, err := sqlite.Open(paths[s])
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
}

// TestR05TruncatedTail: after the end of the log is cut (or carried past
// its head) behind the store's back, the writer refuses to append.
func TestR05TruncatedTail(t *testing.T) {
	open, tamper := tamperer()
	storetest.RunTamperAppend(t, open, tamper)
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credo.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	first := fileN(t, db, 0, 10)
	evs, err := db.Append(ctx, []*credo.Event{{Type: credo.EventDisputeOpened,
		Dispute: &credo.Dispute{RecordID: first[3].Record.ID, OpenedAt: time.Now(), Grounds: "wrong person"}}})
	if err != nil {
		t.Fatal(err)
	}
	seq, hash, _ := db.Head(ctx)
	before, _ := db.Events(ctx, 0, 0)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.test", 99, 99)}); credo.ErrorCode(err) != credo.EUNAVAILABLE {
		t.Errorf("FileRecords after Close: %v, want %s", err, credo.EUNAVAILABLE)
	}

	db, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s2, h2, _ := db.Head(ctx)
	if s2 != seq || h2 != hash {
		t.Errorf("Head after reopen = %d %s, want %d %s", s2, h2, seq, hash)
	}
	after, _ := db.Events(ctx, 0, 0)
	if len(after) != len(before) {
		t.Fatalf("%d events after reopen, want %d", len(after), len(before))
	}
	for i := range after {
		if after[i].Hash != before[i].Hash {
			t.Errorf("event %d changed across reopen", after[i].Seq)
		}
	}
	// The chain continues, and old records are still known.
	res := fileN(t, db, 5, 10)
	for i, r := range res {
		if created, want := r.Created, i >= 5; created != want {
			t.Errorf("record %d: created %v, want %v", i+5, created, want)
		}
	}
	if res[0].Record.ID != first[5].Record.ID {
		t.Errorf("re-filed record has ID %d, want %d", res[0].Record.ID, first[5].Record.ID)
	}
	if res[5].Record.ID != evs[0].Seq+1 {
		t.Errorf("first new record after reopen has ID %d, want %d", res[5].Record.ID, evs[0].Seq+1)
	}
	v, err := db.Verify(ctx)
	if err != nil || !v.OK || v.Count != 16 {
		t.Errorf("Verify = %+v, %v", v, err)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credo.db")
	versions := func() (n, distinct, maxV int) {
		t.Helper()
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if err := raw.QueryRow("SELECT count(*), count(DISTINCT version), max(version) FROM schema_version").Scan(&n, &distinct, &maxV); err != nil {
			t.Fatal(err)
		}
		return n, distinct, maxV
	}
	var first int
	for i := range 3 {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		fileN(t, db, i, 1)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		n, distinct, _ := versions()
		if i == 0 {
			first = n
		}
		if n != first || distinct != n || n < 1 {
			t.Errorf("after open %d: schema_version has %d rows (%d distinct), want %d", i, n, distinct, first)
		}
	}
	raw := rawDB(t, path)
	var mode string
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var records int
	if err := raw.QueryRow("SELECT count(*) FROM records").Scan(&records); err != nil || records != 3 {
		t.Errorf("%d records after three opens, want 3 (%v)", records, err)
	}
	// A newer schema than the program knows is refused.
	_, _, maxV := versions()
	mustExec(t, raw, "INSERT INTO schema_version (version, name, applied) VALUES (?, 'future', '')", maxV+1000)
	raw.Close()
	if db, err := sqlite.Open(path); err == nil {
		db.Close()
		t.Errorf("Open of a database with a newer schema succeeded")
	}
}

// TestProjectionTables checks the SQL projections directly: statuses,
// disputes, links, subjects.
func TestProjectionTables(t *testing.T) {
	db, path := openDB(t)
	res := fileN(t, db, 0, 4)
	org, person := storetest.USCC(1), storetest.RIC(0)
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	evs, err := db.Append(ctx, []*credo.Event{
		{Type: credo.EventRecordFulfilled, Change: &credo.RecordChange{RecordID: res[0].Record.ID, At: at}},
		{Type: credo.EventRecordRevoked, Change: &credo.RecordChange{RecordID: res[0].Record.ID, At: at.AddDate(0, 1, 0)}},
		{Type: credo.EventRepairApproved, Change: &credo.RecordChange{RecordID: res[1].Record.ID, At: at}},
		{Type: credo.EventDisputeOpened, Dispute: &credo.Dispute{RecordID: res[2].Record.ID, OpenedAt: at}},
		{Type: credo.EventLinkAdded, Link: &credo.Link{Org: org, Person: person, Role: credo.RoleLegalRepresentative, From: at}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Append(ctx, []*credo.Event{
		{Type: credo.EventDisputeDecided, Decision: &credo.DisputeDecision{DisputeID: evs[3].Dispute.ID, At: at.AddDate(0, 0, 10), Outcome: credo.OutcomeCorrected}},
		{Type: credo.EventLinkRemoved, Link: &credo.Link{Org: org, Person: person, Role: credo.RoleLegalRepresentative, Until: at.AddDate(1, 0, 0)}},
	}); err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, path)
	for id, want := range map[int64]string{1: "revoked", 2: "repaired", 3: "revoked", 4: "active"} {
		var status string
		if err := raw.QueryRow("SELECT status FROM records WHERE id = ?", id).Scan(&status); err != nil || status != want {
			t.Errorf("record %d status = %q, %v; want %q", id, status, err, want)
		}
	}
	var outcome string
	if err := raw.QueryRow("SELECT outcome FROM disputes WHERE id = ?", evs[3].Seq).Scan(&outcome); err != nil || outcome != credo.OutcomeCorrected {
		t.Errorf("dispute outcome = %q, %v", outcome, err)
	}
	var until sql.NullString
	if err := raw.QueryRow("SELECT until FROM links WHERE org = ? AND person = ?", org, person).Scan(&until); err != nil || !until.Valid {
		t.Errorf("link until = %v, %v; want set", until, err)
	}
	kinds := map[string]string{}
	rows, err := raw.Query("SELECT id, kind, first_seq, last_seq FROM subjects")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, kind string
		var first, last int64
		if err := rows.Scan(&id, &kind, &first, &last); err != nil {
			t.Fatal(err)
		}
		kinds[id] = kind
		if first > last {
			t.Errorf("subject %s: first_seq %d > last_seq %d", id, first, last)
		}
	}
	rows.Close()
	if kinds[org] != "org" || kinds[person] != "person" || len(kinds) != 5 {
		t.Errorf("subjects = %v, want 4 persons and 1 org", kinds)
	}
	var last int64
	if err := raw.QueryRow("SELECT last_seq FROM subjects WHERE id = ?", person).Scan(&last); err != nil || last != 11 {
		t.Errorf("person last_seq = %d, %v; want 11", last, err)
	}
}

// TestGroupCommitIsolation files and appends from many goroutines at once,
// some calls failing, and checks that each call gets its own outcome.
func TestGroupCommitIsolation(t *testing.T) {
	for name, opts := range map[string]sqlite.Options{
		"default": {},
		"linger":  {Linger: 2 * time.Millisecond, MaxGroup: 16},
	} {
		t.Run(name, func(t *testing.T) {
			db, err := sqlite.OpenOptions(filepath.Join(t.TempDir(), "credo.db"), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			fileN(t, db, 0, 50)
			const callers = 96
			errs := make([]error, callers)
			created := make([]bool, callers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					<-start
					switch i % 6 {
					case 0: // conflicts with a pre-filed record
						r := storetest.NewRecord("court.test", i%50, i%50)
						r.Rule = "OTHER"
						_, errs[i] = db.FileRecord(ctx, r)
					case 1: // refers to a record that does not exist
						_, errs[i] = db.Append(ctx, []*credo.Event{{Type: credo.EventRecordRevoked,
							Change: &credo.RecordChange{RecordID: 100000 + int64(i)}}})
					case 2:
						_, errs[i] = db.Append(ctx, []*credo.Event{{Type: credo.EventConsentGiven, Subject: storetest.RIC(i),
							Consent: &credo.Consent{Scheme: "civic", Given: true}}})
					default:
						var res credo.FileResult
						res, errs[i] = db.FileRecord(ctx, storetest.NewRecord("court.test", 1000+i, i))
						created[i] = res.Created
					}
				})
			}
			close(start)
			wg.Wait()
			good := 0
			for i := range callers {
				switch i % 6 {
				case 0:
					if credo.ErrorCode(errs[i]) != credo.ECONFLICT {
						t.Errorf("caller %d: %v, want a conflict", i, errs[i])
					}
				case 1:
					if credo.ErrorCode(errs[i]) != credo.ENOTFOUND {
						t.Errorf("caller %d: %v, want not found", i, errs[i])
					}
				case 2:
					good++
					if errs[i] != nil {
						t.Errorf("caller %d: %v", i, errs[i])
					}
				default:
					good++
					if errs[i] != nil || !created[i] {
						t.Errorf("caller %d: created %v, %v", i, created[i], errs[i])
					}
				}
			}
			v, err := db.Verify(ctx)
			if err != nil || !v.OK || v.Count != int64(50+good) {
				t.Errorf("Verify = %+v, %v; want OK with %d events", v, err, 50+good)
			}
		})
	}
}

// TestStoreOptions runs the conformance suite with other settings: small
// groups with lingering, SQLite's own checkpoints, larger pages.
func TestStoreOptions(t *testing.T) {
	storetest.Run(t, func(t *testing.T) credo.Store {
		db, err := sqlite.OpenOptions(filepath.Join(t.TempDir(), "credo.db"), sqlite.Options{
			MaxGroup: 3, Linger: 500 * time.Microsecond, CheckpointInterval: -1, PageSize: 16384, MmapMiB: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// TestWALBounded checks that the write-ahead log does not grow without
// bound under back-to-back bulk writes: the checkpointer must restart it.
func TestWALBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("files 400,000 records")
	}
	db, path := openDB(t)
	var largest int64
	for i := range 40 {
		var rs []*credo.Record
		for j := range 10000 {
			rs = append(rs, storetest.NewRecord("court.bulk", i*10000+j, i*10000+j))
		}
		if _, err := db.FileRecords(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			largest = max(largest, fi.Size())
		}
	}
	// One batch of 10,000 records is about 50 MiB of log; the log is
	// restarted from 64 MiB; left unrestarted it passes 300 MiB here.
	if largest > 256<<20 {
		t.Errorf("the write-ahead log grew to %d MiB", largest>>20)
	}
	t.Logf("largest log: %d MiB", largest>>20)
}

func TestCancelled(t *testing.T) {
	db, _ := openDB(t)
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err := db.FileRecords(c, []*credo.Record{storetest.NewRecord("court.test", 1, 1)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("FileRecords with a cancelled context: %v", err)
	}
	if seq, _, _ := db.Head(ctx); seq != 0 {
		t.Errorf("a cancelled call wrote %d events", seq)
	}
}

func TestIDsAreValid(t *testing.T) {
	seen := map[string]bool{}
	for i := range 2000 {
		for _, id := range []string{storetest.RIC(i * 7919), storetest.USCC(i * 7919)} {
			if _, err := ident.Parse(id); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if seen[id] {
				t.Fatalf("%s generated twice", id)
			}
			seen[id] = true
		}
	}
}

// TestR04ProjectionTamper: verify proves the projections equal a replay
// of the log, and the cheap check at open notices a missing row.
func TestR04ProjectionTamper(t *testing.T) {
	open, tamper := tamperer()
	storetest.RunTamperProjections(t, open, tamper)
}

// TestR07DateBounds: dates outside the registry's domain are refused with
// the field and the reason; accepted ones are stored exactly.
func TestR07DateBounds(t *testing.T) {
	storetest.RunDateBounds(t, func(t *testing.T) credo.Store { db, _ := openDB(t); return db })
}
