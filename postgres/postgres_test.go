package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"credo"
	"credo/internal/pgtest"
	"credo/postgres"
	"credo/sqlite"
	"credo/storetest"
)

var ctx = context.Background()

// sharedDSN is a database created for this package's tests (see TestMain):
// each test gets a schema of its own in it, which is much faster to make
// than a database.
var sharedDSN string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		base := os.Getenv(pgtest.EnvDSN)
		if base == "" {
			return m.Run() // the tests skip (or fail in CI) through pgtest.DSN
		}
		var b [6]byte
		rand.Read(b[:])
		name := "credo_pgtest_" + hex.EncodeToString(b[:])
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			fmt.Fprintf(os.Stderr, "connecting to %s: %v\n", pgtest.EnvDSN, err)
			return 1
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			fmt.Fprintf(os.Stderr, "creating the test database: %v\n", err)
			return 1
		}
		defer conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		u, err := url.Parse(base)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s is not a URL: %v\n", pgtest.EnvDSN, err)
			return 1
		}
		u.Path = "/" + name
		sharedDSN = u.String()
		return m.Run()
	}())
}

// freshDSN returns the DSN of an empty schema of its own for the test (the
// store's tables are created in the first schema of search_path).
func freshDSN(t testing.TB) string {
	t.Helper()
	pgtest.DSN(t) // skips, or fails in CI, without a server
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	c, err := pgx.Connect(ctx, sharedDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(sharedDSN)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// openDB opens a store on a fresh schema, closed at cleanup; it returns
// the store and the DSN.
func openDB(t testing.TB) (*postgres.DB, string) {
	t.Helper()
	return openDBOptions(t, postgres.Options{})
}

func openDBOptions(t testing.TB, opts postgres.Options) (*postgres.DB, string) {
	t.Helper()
	dsn := freshDSN(t)
	db, err := postgres.OpenOptions(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) credo.Store {
		db, _ := openDB(t)
		return db
	})
}

// reopenable opens a store like openDB and returns a function that opens
// its schema again (after the test closed it), closed at cleanup too.
func reopenable(t *testing.T) (*postgres.DB, func(t *testing.T) *postgres.DB) {
	t.Helper()
	db, dsn := openDB(t)
	return db, func(t *testing.T) *postgres.DB {
		t.Helper()
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("reopening: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// TestStoreParts runs the conformance checks of the store's other parts:
// due-process queues, notices, outbox, tokens, check log.
func TestStoreParts(t *testing.T) {
	storetest.RunParts(t, func(t *testing.T) (storetest.FullStore, func(*testing.T) storetest.FullStore) {
		db, reopen := reopenable(t)
		return db, func(t *testing.T) storetest.FullStore { return reopen(t) }
	})
}

// TestStoreCopy runs the conformance suite with every filing written
// through COPY, the bulk path.
func TestStoreCopy(t *testing.T) {
	storetest.Run(t, func(t *testing.T) credo.Store {
		db, _ := openDBOptions(t, postgres.Options{CopyThreshold: 1})
		return db
	})
}

// fileN files records from..from+n-1 of court.test about persons from..
func fileN(t testing.TB, db *postgres.DB, from, n int) []credo.FileResult {
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

// rawConn connects to the database directly, as an operator with
// database access (or an attacker) would.
func rawConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func mustExec(t *testing.T, c *pgx.Conn, query string, args ...any) {
	t.Helper()
	if _, err := c.Exec(ctx, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestAppendOnlyTriggers(t *testing.T) {
	db, dsn := openDB(t)
	fileN(t, db, 0, 3)
	raw := rawConn(t, dsn)
	for _, q := range []string{
		"UPDATE events SET body = '\\x00' WHERE seq = 2",
		"UPDATE events SET hash = '\\x00' WHERE seq = 2",
		"DELETE FROM events WHERE seq = 3",
		"DELETE FROM events",
		"TRUNCATE events CASCADE",
	} {
		_, err := raw.Exec(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error %v, want the append-only trigger to refuse", q, err)
		}
	}
	res, err := db.Verify(ctx)
	if err != nil || !res.OK || res.Count != 3 {
		t.Errorf("Verify = %+v, %v", res, err)
	}
}

// TestTamper alters the database behind the store's back, with the
// append-only triggers disabled, and checks that Verify reports the first
// event that no longer holds.
func TestTamper(t *testing.T) {
	open, tamper := tamperer()
	storetest.RunTamper(t, open, tamper)
}

// TestR05TruncatedTail: after the end of the log is cut (or carried past
// its head) behind the store's back, the writer refuses to append.
func TestR05TruncatedTail(t *testing.T) {
	open, tamper := tamperer()
	storetest.RunTamperAppend(t, open, tamper)
}

// tamperer returns how the tamper tests open a store and alter its
// database (the append-only triggers disabled meanwhile).
func tamperer() (func(t *testing.T) credo.Store, storetest.TamperFunc) {
	tamper := map[string]func(t *testing.T, raw *pgx.Conn){
		"alter body": func(t *testing.T, raw *pgx.Conn) {
			mustExec(t, raw, "UPDATE events SET body = decode(replace(encode(body, 'hex'), encode('JUDGMENT_DEFAULT'::bytea, 'hex'), encode('JUDGMENT_DEFAULX'::bytea, 'hex')), 'hex') WHERE seq = 17")
		},
		"alter body and rehash": func(t *testing.T, raw *pgx.Conn) {
			var body []byte
			if err := raw.QueryRow(ctx, "SELECT body FROM events WHERE seq = 19").Scan(&body); err != nil {
				t.Fatal(err)
			}
			body = bytes.Replace(body, []byte("JUDGMENT_DEFAULT"), []byte("JUDGMENT_DEFAULX"), 1)
			mustExec(t, raw, "UPDATE events SET body = $1, hash = $2 WHERE seq = 19", body, rawHash(body))
		},
		"swap two events": func(t *testing.T, raw *pgx.Conn) {
			mustExec(t, raw, "UPDATE events SET seq = -5 WHERE seq = 5")
			mustExec(t, raw, "UPDATE events SET seq = 5 WHERE seq = 6")
			mustExec(t, raw, "UPDATE events SET seq = 6 WHERE seq = -5")
		},
		"delete an event":        func(t *testing.T, raw *pgx.Conn) { mustExec(t, raw, "DELETE FROM events WHERE seq = 18") },
		"delete the first event": func(t *testing.T, raw *pgx.Conn) { mustExec(t, raw, "DELETE FROM events WHERE seq = 1") },
		"delete the last event":  func(t *testing.T, raw *pgx.Conn) { mustExec(t, raw, "DELETE FROM events WHERE seq = 30") },
		"change a hash": func(t *testing.T, raw *pgx.Conn) {
			mustExec(t, raw, "UPDATE events SET hash = $1 WHERE seq = 20", rawHash([]byte("forged")))
		},
		"change the last hash and the head": func(t *testing.T, raw *pgx.Conn) {
			h := rawHash([]byte("forged"))
			mustExec(t, raw, "UPDATE events SET hash = $1 WHERE seq = 30", h)
			mustExec(t, raw, "UPDATE log_head SET hash = $1", h)
		},
		"change a prev_hash column": func(t *testing.T, raw *pgx.Conn) {
			mustExec(t, raw, "UPDATE events SET prev_hash = $1 WHERE seq = 12", rawHash([]byte("forged")))
		},
		"change a subject column": func(t *testing.T, raw *pgx.Conn) {
			mustExec(t, raw, "UPDATE events SET subject = 'someone else' WHERE seq = 9")
		},
		"insert an event": func(t *testing.T, raw *pgx.Conn) {
			mustExec(t, raw, "INSERT INTO events SELECT 31, type, subject, recorded, body, prev_hash, hash FROM events WHERE seq = 30")
		},
	}
	for _, pt := range storetest.ProjectionTamperings {
		tamper[pt.Name] = func(t *testing.T, raw *pgx.Conn) { mustExec(t, raw, pt.SQL) }
	}
	dsns := map[credo.Store]string{}
	return func(t *testing.T) credo.Store {
			db, dsn := openDB(t)
			dsns[db] = dsn
			return db
		}, func(t *testing.T, s credo.Store, name string) credo.Store {
			f, ok := tamper[name]
			if !ok {
				t.Fatalf("no tampering %q for PostgreSQL", name)
			}
			raw := rawConn(t, dsns[s])
			mustExec(t, raw, "ALTER TABLE events DISABLE TRIGGER events_no_update")
			f(t, raw)
			mustExec(t, raw, "ALTER TABLE events ENABLE TRIGGER events_no_update")
			return s
		}
}

// TestMigrations opens one database from several stores at once (nodes
// starting together), then again: the migrations are applied once, each
// recorded once, and a schema newer than the program is refused.
func TestMigrations(t *testing.T) {
	dsn := freshDSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := postgres.Open(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			if _, err := db.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.test", i, i)}); err != nil {
				errs[i] = err
			}
			errs[i] = db.Close()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	raw := rawConn(t, dsn)
	var n, distinct, maxV int
	if err := raw.QueryRow(ctx, "SELECT count(*), count(DISTINCT version), max(version) FROM schema_migrations").Scan(&n, &distinct, &maxV); err != nil {
		t.Fatal(err)
	}
	if n == 0 || distinct != n {
		t.Errorf("schema_migrations has %d rows (%d distinct)", n, distinct)
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := db.Verify(ctx); err != nil || !res.OK || res.Count != 4 {
		t.Errorf("Verify after four concurrent opens = %+v, %v", res, err)
	}
	db.Close()
	var again int
	raw.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&again)
	if again != n {
		t.Errorf("reopening recorded %d more migrations", again-n)
	}
	mustExec(t, raw, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')", maxV+1000)
	if db, err := postgres.Open(ctx, dsn); err == nil {
		db.Close()
		t.Errorf("Open of a database with a newer schema succeeded")
	}
}

// TestLogOrderUnderConcurrentNodes is the log's ordering guarantee: many
// goroutines on two stores with their own pools (two nodes) file records
// and append events at once, while a reader tails the log with
// Events(after, limit). The reader must see every sequence number exactly
// once, in order, with no gaps, and never an event behind its position;
// the chain must verify.
func TestLogOrderUnderConcurrentNodes(t *testing.T) {
	dsn := freshDSN(t)
	var nodes [2]*postgres.DB
	for i := range nodes {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		nodes[i] = db
	}
	const writers, perWriter = 16, 60
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		db := nodes[g%2]
		wg.Go(func() {
			for i := range perWriter {
				n := g*perWriter + i
				var err error
				switch {
				case i%15 == 0:
					// A large batch from time to time: the COPY path.
					var rs []*credo.Record
					for j := range 1000 {
						rs = append(rs, storetest.NewRecord("court.bulk", n*1000+j, j))
					}
					_, err = db.FileRecords(ctx, rs)
				case i%3 == 0:
					_, err = db.Append(ctx, []*credo.Event{{Type: credo.EventConsentGiven, Subject: storetest.RIC(n),
						Consent: &credo.Consent{Scheme: "civic", At: time.Now(), Given: true}}})
				default:
					_, err = db.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.test", n, n)})
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, call %d: %w", g, i, err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	// The reader tails through its own pool, like a replica follower.
	reader, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var after int64
	seen := 0
	prevHash := ""
	finished := false
	for {
		evs, err := reader.Events(ctx, after, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Seq != after+1 {
				t.Fatalf("tailing after %d read event %d: an event was skipped or repeated", after, ev.Seq)
			}
			if ev.PrevHash != prevHash {
				t.Fatalf("event %d does not chain to event %d", ev.Seq, after)
			}
			after, prevHash = ev.Seq, ev.Hash
			seen++
		}
		if finished && len(evs) == 0 {
			break
		}
		select {
		case <-done:
			finished = true // one more read after every writer has returned
		default:
		}
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	perG := 0
	for i := range perWriter {
		switch {
		case i%15 == 0:
			perG += 1000
		default:
			perG++
		}
	}
	if want := writers * perG; seen != want {
		t.Errorf("the reader saw %d events, want %d", seen, want)
	}
	seq, _, err := reader.Head(ctx)
	if err != nil || seq != int64(seen) {
		t.Errorf("Head = %d, %v; want %d", seq, err, seen)
	}
	res, err := reader.Verify(ctx)
	if err != nil || !res.OK || res.Count != int64(seen) {
		t.Errorf("Verify = %+v, %v", res, err)
	}
}

// TestGroupCommitIsolation files, from many goroutines at once, calls
// that conflict, are refused, or succeed: each call gets its own outcome
// even when committed in one group.
func TestGroupCommitIsolation(t *testing.T) {
	db, _ := openDB(t)
	fileN(t, db, 0, 10)
	var wg sync.WaitGroup
	const calls = 250
	errs := make([]error, calls)
	for i := range calls {
		wg.Go(func() {
			var evs []*credo.Event
			switch i % 5 {
			case 0: // conflicts with a stored record
				r := storetest.NewRecord("court.test", i%10, i%10)
				r.Rule = "OTHER"
				_, errs[i] = db.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.new", i, i), r})
				return
			case 1: // an append that fails
				evs = []*credo.Event{{Type: credo.EventConsentGiven, Subject: storetest.RIC(i), Consent: &credo.Consent{Scheme: "civic", Given: true}},
					{Type: credo.EventRecordRevoked, Change: &credo.RecordChange{RecordID: 99999}}}
			case 2: // an append that succeeds
				evs = []*credo.Event{{Type: credo.EventConsentGiven, Subject: storetest.RIC(i), Consent: &credo.Consent{Scheme: "civic", Given: true}}}
			case 3:
				_, errs[i] = db.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.new", i, i)})
				return
			case 4:
				if i%10 == 9 { // a filing that cannot be encoded
					r := storetest.NewRecord("court.bad", i, i)
					r.DecidedAt = time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
					_, errs[i] = db.FileRecords(ctx, []*credo.Record{r})
					return
				} // an append that fails before it reads or writes anything
				evs = []*credo.Event{{Type: credo.EventConsentGiven, Subject: storetest.RIC(i),
					Consent: &credo.Consent{Scheme: "civic", Given: true, At: time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC)}}}
			}
			_, errs[i] = db.Append(ctx, evs)
		})
	}
	wg.Wait()
	for i, err := range errs {
		var want string
		switch i % 5 {
		case 0:
			want = credo.ECONFLICT
		case 1:
			want = credo.ENOTFOUND
		case 4:
			want = credo.EINVALID
		}
		if credo.ErrorCode(err) != want {
			t.Errorf("call %d: error %v, want code %q", i, err, want)
		}
	}
	seq, _, _ := db.Head(ctx)
	if want := int64(10 + 2*calls/5); seq != want {
		t.Errorf("head %d, want %d", seq, want)
	}
	for i := range calls {
		_, err := db.RecordByCase(ctx, "court.new", storetest.NewRecord("court.new", i, i).CaseRef)
		if (i%5 == 3) != (err == nil) {
			t.Errorf("record court.new %d: %v", i, err)
		}
	}
	if res, err := db.Verify(ctx); err != nil || !res.OK || res.Count != seq {
		t.Errorf("Verify = %+v, %v", res, err)
	}
}

// TestPing answers while the database does, and fails once the pool is
// closed.
func TestPing(t *testing.T) {
	db, _ := openDB(t)
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := db.Ping(ctx); err == nil {
		t.Error("Ping of a closed store succeeded")
	}
	if _, err := db.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.test", 1, 1)}); credo.ErrorCode(err) != credo.EUNAVAILABLE {
		t.Errorf("filing on a closed store: %v, want unavailable", err)
	}
}

// TestOpenBadDSN reports an unreachable or malformed database clearly.
func TestOpenBadDSN(t *testing.T) {
	if _, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"); credo.ErrorCode(err) != credo.EUNAVAILABLE {
		t.Errorf("unreachable: %v, want unavailable", err)
	}
	if _, err := postgres.Open(ctx, "postgres://a b"); credo.ErrorCode(err) != credo.EINVALID {
		t.Errorf("malformed: %v, want invalid", err)
	}
}

// TestProjectionTables checks the SQL projections directly: statuses,
// revocation times, disputes, links, subjects.
func TestProjectionTables(t *testing.T) {
	db, dsn := openDB(t)
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
		// A later revocation does not move the first one's time; an
		// earlier one does.
		{Type: credo.EventRecordRevoked, Change: &credo.RecordChange{RecordID: res[0].Record.ID, At: at.AddDate(0, 2, 0)}},
		{Type: credo.EventRecordRevoked, Change: &credo.RecordChange{RecordID: res[2].Record.ID, At: at.AddDate(0, 0, 5)}},
	}); err != nil {
		t.Fatal(err)
	}
	raw := rawConn(t, dsn)
	for id, want := range map[int64]string{1: "revoked", 2: "repaired", 3: "revoked", 4: "active"} {
		var status string
		if err := raw.QueryRow(ctx, "SELECT status FROM records WHERE id = $1", id).Scan(&status); err != nil || status != want {
			t.Errorf("record %d status = %q, %v; want %q", id, status, err, want)
		}
	}
	for id, want := range map[int64]time.Time{1: at.AddDate(0, 1, 0), 3: at.AddDate(0, 0, 5)} {
		var revoked time.Time
		if err := raw.QueryRow(ctx, "SELECT revoked_at FROM records WHERE id = $1", id).Scan(&revoked); err != nil || !revoked.Equal(want) {
			t.Errorf("record %d revoked_at = %v, %v; want %v", id, revoked, err, want)
		}
	}
	var outcome string
	if err := raw.QueryRow(ctx, "SELECT outcome FROM disputes WHERE id = $1", evs[3].Seq).Scan(&outcome); err != nil || outcome != credo.OutcomeCorrected {
		t.Errorf("dispute outcome = %q, %v", outcome, err)
	}
	var until *time.Time
	if err := raw.QueryRow(ctx, "SELECT until FROM links WHERE org = $1 AND person = $2", org, person).Scan(&until); err != nil || until == nil || !until.Equal(at.AddDate(1, 0, 0)) {
		t.Errorf("link until = %v, %v; want %v", until, err, at.AddDate(1, 0, 0))
	}
	kinds := map[string]string{}
	rows, err := raw.Query(ctx, "SELECT id, kind, first_seq, last_seq FROM subjects")
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
	if err := raw.QueryRow(ctx, "SELECT last_seq FROM subjects WHERE id = $1", person).Scan(&last); err != nil || last != 12 {
		t.Errorf("person last_seq = %d, %v; want 12", last, err)
	}
}

// TestTextRefused: strings PostgreSQL cannot store in text columns
// (invalid UTF-8, NUL) are refused as invalid input naming the field, not
// as an internal error, and nothing is written.
func TestTextRefused(t *testing.T) {
	db, _ := openDB(t)
	for name, change := range map[string]func(r *credo.Record){
		"case_ref": func(r *credo.Record) { r.CaseRef = "A\x00B" },
		"subject":  func(r *credo.Record) { r.Subject = "\xff\xfe" },
		"rule":     func(r *credo.Record) { r.Rule = "R\x00" },
	} {
		r := storetest.NewRecord("court.test", 1, 1)
		change(r)
		_, err := db.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.test", 2, 2), r})
		if credo.ErrorCode(err) != credo.EINVALID || !strings.Contains(err.Error(), "records[1]."+name) {
			t.Errorf("%s: %v, want invalid records[1].%s", name, err, name)
		}
	}
	_, err := db.Append(ctx, []*credo.Event{{Type: credo.EventConsentGiven, Subject: "x\x00", Consent: &credo.Consent{Scheme: "civic"}}})
	if credo.ErrorCode(err) != credo.EINVALID {
		t.Errorf("append with a NUL subject: %v", err)
	}
	// Only the body holds the subject name: invalid UTF-8 there is kept
	// as JSON encodes it.
	r := storetest.NewRecord("court.test", 3, 3)
	r.SubjectName = "张三\xff"
	if _, err := db.FileRecords(ctx, []*credo.Record{r}); err != nil {
		t.Errorf("a subject name with invalid UTF-8: %v", err)
	}
	if seq, _, _ := db.Head(ctx); seq != 1 {
		t.Errorf("head %d, want 1", seq)
	}
}

// TestCopyMatchesInsert files the same records through COPY (binary,
// encoded by the store) and through INSERT (encoded by pgx) and compares
// every projected column, times before and after 2000 included.
func TestCopyMatchesInsert(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	var rs []*credo.Record
	for i, d := range []time.Time{
		time.Date(1999, 12, 31, 23, 59, 59, 123456789, cst),
		time.Date(1969, 7, 20, 20, 17, 40, 999, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 1000, cst),
	} {
		r := storetest.NewRecord("court.test", i, i)
		r.DecidedAt = d
		r.FiledAt = d.Add(time.Hour)
		rs = append(rs, r)
	}
	rs[1].Subject = storetest.USCC(1)
	columns := func(opts postgres.Options) []string {
		db, dsn := openDBOptions(t, opts)
		if _, err := db.FileRecords(ctx, rs); err != nil {
			t.Fatal(err)
		}
		raw := rawConn(t, dsn)
		var out []string
		for _, q := range []string{
			"SELECT seq::text || type || subject || recorded::text || encode(body, 'hex') || prev_hash || hash FROM events ORDER BY seq",
			"SELECT id::text || authority || case_ref || subject || rule || decided_at::text || filed_at::text || status FROM records ORDER BY id",
			"SELECT subject || seq::text FROM subject_events ORDER BY seq, subject",
			"SELECT id || kind || first_seq::text || last_seq::text FROM subjects ORDER BY id",
		} {
			rows, err := raw.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, got...)
		}
		return out
	}
	viaCopy := columns(postgres.Options{CopyThreshold: 1})
	viaInsert := columns(postgres.Options{CopyThreshold: -1})
	if len(viaCopy) != 3+3+3+3 {
		t.Fatalf("%d rows through COPY, want 12", len(viaCopy))
	}
	for i := range viaCopy {
		if viaCopy[i] != viaInsert[i] {
			t.Errorf("row %d differs:\n  COPY   %s\n  INSERT %s", i, viaCopy[i], viaInsert[i])
		}
	}
}

// TestSameChainAsSQLite writes the same calls, with the same clock, to
// this store and to the embedded SQLite store: every event, and so the
// head of the hash chain, must be byte for byte the same (bulk COPY and
// group commit included), so that `credo verify` means the same on both.
func TestSameChainAsSQLite(t *testing.T) {
	clock := func() time.Time { return time.Date(2026, 5, 4, 3, 2, 1, 123456789, time.UTC) }
	pg, _ := openDBOptions(t, postgres.Options{Now: clock, CopyThreshold: 50})
	lite, err := sqlite.OpenOptions(filepath.Join(t.TempDir(), "credo.db"), sqlite.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	for _, s := range []credo.Store{pg, lite} {
		var bulk []*credo.Record
		for i := range 120 { // through COPY on PostgreSQL
			bulk = append(bulk, storetest.NewRecord("court.bulk", i, i))
		}
		bulk[7].SubjectName = "张三 <Zhang San> & \"Co\""
		bulk[8].Quantity = 12.5
		if _, err := s.FileRecords(ctx, bulk); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.test", 1, 1)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, []*credo.Event{
			{Type: credo.EventPolicyPublished, Actor: "admin", Policy: &credo.PolicyVersion{Name: "p", Effective: clock(), Source: []byte("rules: []\n")}},
			{Type: credo.EventDisputeOpened, Actor: "subject", Dispute: &credo.Dispute{RecordID: 3, OpenedAt: clock(), Grounds: "paid"}},
			{Type: credo.EventLinkAdded, Link: &credo.Link{Org: storetest.USCC(1), Person: storetest.RIC(1), Role: credo.RolePrincipal, From: clock()}},
			{Type: credo.EventNoticeIssued, Notice: &credo.Notice{RecordID: 5, Rule: "JUDGMENT_DEFAULT", Text: credo.NoticeText{EN: "notice", ZH: "告知"}}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	pgLog, err := pg.Events(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	liteLog, err := lite.Events(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pgLog) != 125 || len(liteLog) != len(pgLog) {
		t.Fatalf("%d events on PostgreSQL, %d on SQLite, want 125", len(pgLog), len(liteLog))
	}
	for i := range pgLog {
		a, _ := credo.CanonicalEncoding(&pgLog[i])
		b, _ := credo.CanonicalEncoding(&liteLog[i])
		if !bytes.Equal(a, b) || pgLog[i].Hash != liteLog[i].Hash {
			t.Fatalf("event %d differs:\n  postgres %s\n  sqlite   %s", i+1, a, b)
		}
	}
	ps, ph, _ := pg.Head(ctx)
	ls, lh, _ := lite.Head(ctx)
	if ps != ls || ph != lh {
		t.Errorf("heads differ: %d %s on PostgreSQL, %d %s on SQLite", ps, ph, ls, lh)
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

// rawHash is the SHA-256 of b as a hash column holds it.
func rawHash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}
