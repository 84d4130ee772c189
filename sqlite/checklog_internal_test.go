package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"credo"
)

func checkEntry(id, subject string, at time.Time) credo.CheckEntry {
	return credo.CheckEntry{ID: id, Checker: "tok_air", Org: "Air China", Subject: subject, Sector: "aviation",
		At: at, Known: at, Policy: "p1", Decision: "allow"}
}

func checkIDs(cs []credo.CheckEntry) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

// smallRuns makes the access log's runs tiny for a test.
func smallRuns(t *testing.T, flush, fanout, maxLevel, chunk int) {
	f, o, m, c := checkTailFlush, checkRunFanout, checkMaxMergeLevel, checkChunk
	checkTailFlush, checkRunFanout, checkMaxMergeLevel, checkChunk = flush, fanout, maxLevel, chunk
	t.Cleanup(func() { checkTailFlush, checkRunFanout, checkMaxMergeLevel, checkChunk = f, o, m, c })
}

// checkIndexInvariants: every logged check is in exactly one place (the
// tail or one run), under its subject's key, and runs cover disjoint seq
// ranges after one another.
func checkIndexInvariants(t *testing.T, cl *sql.DB) {
	t.Helper()
	ctx := context.Background()
	var n, indexed, wrong int
	if err := cl.QueryRowContext(ctx, `SELECT count(*) FROM checks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := cl.QueryRowContext(ctx, `SELECT count(*), count(*) - count(DISTINCT seq) FROM
		(SELECT seq FROM check_tail UNION ALL SELECT seq FROM check_index WHERE run IN (SELECT id FROM check_runs WHERE state = 0))`).Scan(&indexed, &wrong); err != nil {
		t.Fatal(err)
	}
	if indexed != n || wrong != 0 {
		t.Fatalf("%d checks logged, %d index entries of which %d duplicates", n, indexed, wrong)
	}
	if err := cl.QueryRowContext(ctx, `SELECT count(*) FROM checks c WHERE NOT EXISTS
		(SELECT 1 FROM check_tail WHERE skey = c.skey AND seq = c.seq) AND NOT EXISTS
		(SELECT 1 FROM check_index i JOIN check_runs r ON r.id = i.run WHERE r.state = 0 AND i.skey = c.skey AND i.seq = c.seq AND i.seq BETWEEN r.lo AND r.hi)`).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Fatalf("%d checks are not indexed under their key, in a run that covers them", wrong)
	}
	rows, err := cl.QueryContext(ctx, `SELECT lo, hi FROM check_runs WHERE state = 0 ORDER BY lo`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prev int64
	for rows.Next() {
		var lo, hi int64
		rows.Scan(&lo, &hi)
		if lo <= prev || hi < lo {
			all, _ := cl.QueryContext(ctx, `SELECT id, lo, hi, level, state, chunks, done FROM check_runs ORDER BY id`)
			for all.Next() {
				var v [7]int64
				all.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6])
				t.Logf("run %v", v)
			}
			all.Close()
			t.Fatalf("run [%d, %d] after a run ending at %d", lo, hi, prev)
		}
		prev = hi
	}
	var tailLo sql.NullInt64
	cl.QueryRowContext(ctx, `SELECT min(seq) FROM check_tail`).Scan(&tailLo)
	if tailLo.Valid && tailLo.Int64 <= prev {
		t.Fatalf("the tail starts at %d, inside the runs (up to %d)", tailLo.Int64, prev)
	}
}

// TestAccessLogRuns: as checks are logged in batches of every size, the
// tail becomes runs and runs merge; after every batch each subject's
// access log is exactly its checks, newest first, with the limit applied,
// and every check is indexed once. A retried batch adds nothing.
func TestAccessLogRuns(t *testing.T) {
	smallRuns(t, 5, 3, 2, 16)
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	subjects := []string{"110105199003074578", "110101198001010053", "91110108MA0003B13Q", "11010519491231002X"}
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	want := map[string][]string{} // newest first
	n := 0
	for batch, size := range []int{1, 3, 7, 2, 11, 4, 1, 1, 9, 6, 13, 2, 5, 8, 3, 17} {
		var cs []credo.CheckEntry
		for range size {
			n++
			s := subjects[(n*7+batch)%len(subjects)]
			id := fmt.Sprintf("chk_%04d", n)
			cs = append(cs, checkEntry(id, s, at.Add(time.Duration(n)*time.Second)))
			want[s] = append([]string{id}, want[s]...)
		}
		if err := db.LogChecks(ctx, cs); err != nil {
			t.Fatal(err)
		}
		if batch%5 == 0 { // a retried batch: nothing new
			if err := db.LogChecks(ctx, cs); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range subjects {
			got, err := db.ChecksOf(ctx, s, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(checkIDs(got), want[s]) {
				t.Fatalf("after batch %d, ChecksOf(%s) = %v, want %v", batch, s, checkIDs(got), want[s])
			}
			if got, _ := db.ChecksOf(ctx, s, 3); !slices.Equal(checkIDs(got), want[s][:min(3, len(want[s]))]) {
				t.Fatalf("after batch %d, ChecksOf(%s, 3) = %v, want %v", batch, s, checkIDs(got), want[s][:min(3, len(want[s]))])
			}
		}
		cl, _ := db.checkLog()
		checkIndexInvariants(t, cl)
	}
	cl, _ := db.checkLog()
	runLevels := func() (live map[int]int, busy int) {
		live = map[int]int{}
		rows, err := cl.QueryContext(ctx, `SELECT level, state FROM check_runs`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var l, st int
			rows.Scan(&l, &st)
			if st == 0 {
				live[l]++
			} else {
				busy++
			}
		}
		return live, busy
	}
	// Compaction goes a step a batch: more batches of one check let it
	// finish.
	for i := 0; ; i++ {
		live, busy := runLevels()
		if busy == 0 && live[0] < 3 && live[1] < 3 {
			if live[2] == 0 {
				t.Errorf("runs by level %v: no merge reached level 2", live)
			}
			break
		}
		if i == 200 {
			t.Fatalf("compaction never finished: live runs by level %v, %d runs being merged or deleted", live, busy)
		}
		n++
		id := fmt.Sprintf("chk_%04d", n)
		if err := db.LogChecks(ctx, []credo.CheckEntry{checkEntry(id, subjects[0], at.Add(time.Duration(n)*time.Second))}); err != nil {
			t.Fatal(err)
		}
		want[subjects[0]] = append([]string{id}, want[subjects[0]]...)
		checkIndexInvariants(t, cl)
	}
	for _, s := range subjects {
		if got, _ := db.ChecksOf(ctx, s, 1000); !slices.Equal(checkIDs(got), want[s]) {
			t.Errorf("after compaction, ChecksOf(%s) = %v, want %v", s, checkIDs(got), want[s])
		}
	}
	var dead int
	cl.QueryRowContext(ctx, `SELECT count(*) FROM check_index WHERE run NOT IN (SELECT id FROM check_runs)`).Scan(&dead)
	if dead != 0 {
		t.Errorf("%d index entries of deleted runs remain", dead)
	}
	if got, err := db.ChecksOf(ctx, "110101190001010012", 10); err != nil || len(got) != 0 {
		t.Errorf("ChecksOf of a subject never checked = %v, %v; want none", got, err)
	}

	// The subject's checks are read with index probes, not a scan.
	var plan strings.Builder
	prows, err := cl.QueryContext(ctx, "EXPLAIN QUERY PLAN "+checksOfQuery, subjectKey(subjects[0]), subjects[0], 10)
	if err != nil {
		t.Fatal(err)
	}
	for prows.Next() {
		var id, parent, notused int
		var detail string
		prows.Scan(&id, &parent, &notused, &detail)
		plan.WriteString(detail + "\n")
	}
	prows.Close()
	if strings.Contains(plan.String(), "SCAN checks") || strings.Contains(plan.String(), "SCAN ci") {
		t.Errorf("the access log's query scans:\n%s", plan.String())
	}
}

// TestAccessLogIndexMigrated: a check log written with the former index
// (one B-tree by subject) becomes one run when opened, its checks are
// still found, and new checks are indexed after it.
func TestAccessLogIndexMigrated(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	old, err := sql.Open("sqlite", dsn(CheckLogPath(path)))
	if err != nil {
		t.Fatal(err)
	}
	const oldSchema = `CREATE TABLE checks (
		seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, skey INTEGER NOT NULL, checker TEXT NOT NULL,
		org TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL, sector TEXT NOT NULL, at TEXT NOT NULL,
		known TEXT NOT NULL, policy TEXT NOT NULL, decision TEXT NOT NULL, measures TEXT NOT NULL DEFAULT '');
	CREATE INDEX checks_skey ON checks(skey);`
	if _, err := old.ExecContext(ctx, oldSchema); err != nil {
		t.Fatal(err)
	}
	const subject, other = "110105199003074578", "110101198001010053"
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for i, s := range []string{subject, other, subject} {
		if _, err := old.ExecContext(ctx, `INSERT INTO checks(id, skey, checker, subject, sector, at, known, policy, decision)
			VALUES (?, ?, 'tok_air', ?, 'aviation', ?, ?, 'p1', 'deny')`, fmt.Sprintf("chk_old%d", i), subjectKey(s), s, utcText(at), utcText(at)); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.LogChecks(ctx, []credo.CheckEntry{checkEntry("chk_new", subject, at.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	got, err := db.ChecksOf(ctx, subject, 10)
	if err != nil {
		t.Fatal(err)
	}
	if ids := checkIDs(got); !slices.Equal(ids, []string{"chk_new", "chk_old2", "chk_old0"}) {
		t.Errorf("ChecksOf after migration = %v, want [chk_new chk_old2 chk_old0]", ids)
	}
	cl, _ := db.checkLog()
	checkIndexInvariants(t, cl)
	var n int
	cl.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'checks_skey'").Scan(&n)
	if n != 0 {
		t.Error("the former index is still there")
	}
}
