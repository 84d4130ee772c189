package sqlite_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// bulkClock is the fixed clock of the loads compared here: the same
// records filed at the same instant give the same hashes.
var bulkClock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// smallRuns is a bound that makes a load of a few thousand records write
// many run files.
const smallRuns = 16 << 10

func openBulk(t testing.TB, path string, runBytes int) *sqlite.DB {
	t.Helper()
	db, err := sqlite.OpenOptions(path, sqlite.Options{Now: func() time.Time { return bulkClock }, BulkRunBytes: runBytes})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// fileLoad files the load of these tests: 3,000 records of 97 subjects
// in batches, one batch again (a no-op), a link of a person who is also a
// record's subject, and a conflicting record (refused).
func fileLoad(t testing.TB, db *sqlite.DB) {
	t.Helper()
	var batches [][]*credo.Record
	for b := range 6 {
		var rs []*credo.Record
		for i := range 500 {
			rs = append(rs, storetest.NewRecord("court.beijing", b*500+i, (b*500+i)%97))
		}
		batches = append(batches, rs)
	}
	batches = append(batches, batches[2][100:300])
	link := &credo.Event{Type: credo.EventLinkAdded, Subject: storetest.USCC(1), Actor: "samr",
		Link: &credo.Link{Org: storetest.USCC(1), Person: storetest.RIC(3), Role: credo.RoleLegalRepresentative, From: bulkClock.AddDate(-1, 0, 0)}}
	conflict := *batches[1][7]
	conflict.Rule = "SOMETHING_ELSE"
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
}

// batchLoad is the reference: the load filed batch after batch.
func batchLoad(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "batches.db")
	db := openBulk(t, path, 0)
	fileLoad(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// sameAsBatches checks that the registry at path (open as db) has the
// reference's log and projections, and that they verify.
func sameAsBatches(t *testing.T, ref, path string, db *sqlite.DB) {
	t.Helper()
	for _, q := range []string{"SELECT seq || ' ' || hex(hash) FROM events", "SELECT seq || ' ' || hex(hash) FROM head",
		"SELECT id || ' ' || subject || ' ' || case_key || ' ' || status FROM records",
		"SELECT subject || ' ' || seq FROM subject_events", "SELECT subject || ' ' || seq || ' ' || hex(body) FROM facts",
		"SELECT id || ' ' || kind || ' ' || first_seq || ' ' || last_seq FROM subjects",
		"SELECT type || ' ' || name || ' ' || tbl_name FROM sqlite_schema"} {
		ra, rb := rows(t, ref, q), rows(t, path, q)
		if len(ra) == 0 || !slices.Equal(ra, rb) {
			t.Errorf("%s: %d rows and %d rows", q, len(ra), len(rb))
		}
	}
	if pr, err := db.VerifyProjections(ctx); err != nil || !pr.OK {
		t.Fatalf("the bulk-loaded store's projections: %+v %v", pr, err)
	}
}

// hasCaseIndex reports whether the registry at path has records_case.
func hasCaseIndex(t *testing.T, path string) bool {
	t.Helper()
	return len(rows(t, path, "SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'records_case'")) == 1
}

// runFiles returns the run files of a bulk load of the registry at path,
// checking they are private.
func runFiles(t *testing.T, path string) []string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(path+".bulk", "run-*"))
	for _, n := range names {
		if fi, err := os.Stat(n); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("run file %s: %v %v", n, fi.Mode(), err)
		}
	}
	return names
}

// TestS06BulkRunsSpill: with a small bound, a bulk load writes its rows
// of subject_events, facts and subjects to several sorted run files (and
// keeps no index of records by identity meanwhile); EndBulk merges them
// into the same registry as filing batch after batch, creates
// records_case again and removes the run files.
func TestS06BulkRunsSpill(t *testing.T) {
	ref := batchLoad(t)
	path := filepath.Join(t.TempDir(), "bulk.db")
	db := openBulk(t, path, smallRuns)
	defer db.Close()
	if err := db.StartBulk(ctx); err != nil {
		t.Fatal(err)
	}
	fileLoad(t, db)
	if n := len(runFiles(t, path)); n < 4 {
		t.Fatalf("%d run files during the load, want several", n)
	}
	if hasCaseIndex(t, path) {
		t.Fatal("records_case during the bulk load")
	}
	// The link's rows keyed by subject wait for EndBulk too, as the
	// records' do: nothing is written at random places during the load.
	for _, table := range []string{"subject_events", "facts", "subjects"} {
		if n := rows(t, path, "SELECT count(*) FROM "+table); n[0] != "0" {
			t.Errorf("%s rows during the bulk load: %s", table, n[0])
		}
	}
	if err := db.EndBulk(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".bulk"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the run files' directory after EndBulk: %v", err)
	}
	if !hasCaseIndex(t, path) {
		t.Fatal("no records_case after EndBulk")
	}
	sameAsBatches(t, ref, path, db)
	// Filing after the load finds the loaded records by their identity.
	again, err := db.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.beijing", 1234, 1234%97)})
	if err != nil || again[0].Created {
		t.Fatalf("re-filing a loaded record: %+v %v", again, err)
	}
}

// TestS06BulkDirElsewhere: with Options.BulkDir, the run files are kept
// there (for a registry whose disk has no room for them), none beside the
// database, and the load ends as with them beside it.
func TestS06BulkDirElsewhere(t *testing.T) {
	ref := batchLoad(t)
	path := filepath.Join(t.TempDir(), "bulk.db")
	other := t.TempDir()
	db, err := sqlite.OpenOptions(path, sqlite.Options{Now: func() time.Time { return bulkClock }, BulkRunBytes: smallRuns, BulkDir: other})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.StartBulk(ctx); err != nil {
		t.Fatal(err)
	}
	fileLoad(t, db)
	if n := len(runFiles(t, filepath.Join(other, "bulk.db"))); n < 4 {
		t.Fatalf("%d run files in the bulk directory during the load, want several", n)
	}
	if _, err := os.Stat(path + ".bulk"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a run directory beside the database: %v", err)
	}
	if err := db.EndBulk(ctx); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(other); len(left) != 0 {
		t.Fatalf("left in the bulk directory after EndBulk: %v", left)
	}
	sameAsBatches(t, ref, path, db)
}

// bulkChild is the process TestS06BulkKilled kills: it loads the registry
// at $CREDO_BULK_CHILD and prints "loaded"; with $CREDO_BULK_STOP set, it
// then runs EndBulk and prints "stopped" after its second commit. Either
// way it waits to be killed.
func bulkChild(t *testing.T, path string) {
	db := openBulk(t, path, smallRuns)
	if err := db.StartBulk(ctx); err != nil {
		t.Fatal(err)
	}
	fileLoad(t, db)
	fmt.Println("loaded")
	if os.Getenv("CREDO_BULK_STOP") != "" {
		commits := 0
		sqlite.SetBulkTx(300, func() error {
			if commits++; commits == 2 {
				fmt.Println("stopped")
				time.Sleep(time.Hour)
			}
			return nil
		})
		db.EndBulk(ctx)
	}
	time.Sleep(time.Hour) // until killed
}

// killChild runs bulkChild on path and kills it (SIGKILL) once it has
// printed want.
func killChild(t *testing.T, path, want string, stop bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestS06BulkKilled$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CREDO_BULK_CHILD="+path)
	if stop {
		cmd.Env = append(cmd.Env, "CREDO_BULK_STOP=1")
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	seen := false
	for !seen && sc.Scan() {
		seen = strings.TrimSpace(sc.Text()) == want
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !seen {
		t.Fatalf("the child did not print %q", want)
	}
}

// TestS06BulkKilled: a process killed (SIGKILL) during a bulk load, with
// rows in run files and in memory, or during EndBulk, after some of its
// transactions, leaves a registry that, once opened, equals filing batch
// after batch: the run files are discarded, the rows are rebuilt from the
// log (those EndBulk had written skipped), and records_case is there
// again.
func TestS06BulkKilled(t *testing.T) {
	if path := os.Getenv("CREDO_BULK_CHILD"); path != "" {
		bulkChild(t, path)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL")
	}
	ref := batchLoad(t)
	for _, inEnd := range []bool{false, true} {
		t.Run(fmt.Sprintf("inEndBulk=%v", inEnd), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "killed.db")
			if inEnd {
				killChild(t, path, "stopped", true)
				if got := rows(t, path, "SELECT count(*) FROM facts"); got[0] == "0" {
					t.Fatal("no facts written before the kill")
				}
			} else {
				killChild(t, path, "loaded", false)
			}
			if n := len(runFiles(t, path)); n == 0 || hasCaseIndex(t, path) {
				t.Fatalf("killed with %d run files and records_case %v; want some and false", n, hasCaseIndex(t, path))
			}
			db := openBulk(t, path, smallRuns)
			defer db.Close()
			if _, err := os.Stat(path + ".bulk"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the run files' directory after the recovery: %v", err)
			}
			if !hasCaseIndex(t, path) {
				t.Fatal("no records_case after the recovery")
			}
			sameAsBatches(t, ref, path, db)
		})
	}
}

// TestS06BulkEndCutShort: EndBulk writes its rows in several transactions;
// stopped after some of them, the load ends the same whether EndBulk is
// called again or the store is closed (the rows of the subjects already
// written are skipped).
func TestS06BulkEndCutShort(t *testing.T) {
	ref := batchLoad(t)
	for _, how := range []string{"again", "close"} {
		t.Run(how, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bulk.db")
			db := openBulk(t, path, smallRuns)
			if err := db.StartBulk(ctx); err != nil {
				t.Fatal(err)
			}
			fileLoad(t, db)
			commits := 0
			restore := sqlite.SetBulkTx(300, func() error {
				if commits++; commits == 3 {
					return errors.New("stopped")
				}
				return nil
			})
			err := db.EndBulk(ctx)
			restore()
			if err == nil || commits != 3 {
				t.Fatalf("EndBulk stopped after %d commits: %v", commits, err)
			}
			if got := rows(t, path, "SELECT count(*) FROM facts"); got[0] == "0" {
				t.Fatal("no facts written before the stop")
			}
			if how == "again" {
				if err := db.EndBulk(ctx); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				db = openBulk(t, path, smallRuns)
			}
			defer db.Close()
			if _, err := os.Stat(path + ".bulk"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the run files' directory: %v", err)
			}
			if !hasCaseIndex(t, path) {
				t.Fatal("no records_case")
			}
			sameAsBatches(t, ref, path, db)
		})
	}
}

// TestS06BulkOpenedMeanwhile: a store opened on a registry while another
// (here of the same process) is in a bulk load leaves the load alone (its
// directory's lock is held), and the load ends as filing batch after
// batch.
func TestS06BulkOpenedMeanwhile(t *testing.T) {
	ref := batchLoad(t)
	path := filepath.Join(t.TempDir(), "bulk.db")
	db := openBulk(t, path, smallRuns)
	defer db.Close()
	if err := db.StartBulk(ctx); err != nil {
		t.Fatal(err)
	}
	fileLoad(t, db)
	other := openBulk(t, path, smallRuns)
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(runFiles(t, path)); n == 0 || hasCaseIndex(t, path) {
		t.Fatalf("after another open: %d run files and records_case %v; want some and false", n, hasCaseIndex(t, path))
	}
	if err := db.EndBulk(ctx); err != nil {
		t.Fatal(err)
	}
	sameAsBatches(t, ref, path, db)
}
