package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"credo"
	"credo/internal/storecore"
	"credo/storetest"
)

// TestCheckCountsTogether: the projection check at open counts its tables
// on several connections at once (countTogether). Those counts are the
// check's only if their snapshot is its own: a counter that reads another
// head is refused, one that reports another snapshot's counts cannot make
// the registry doubtful (a difference is counted again in the check's own
// transaction), and a table really tampered with is still found.
func TestCheckCountsTogether(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "credo.db")
	db, err := OpenOptions(path, Options{ReadConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rs []*credo.Record
	for i := range 300 {
		rs = append(rs, storetest.NewRecord("court.beijing", i, i%40))
	}
	if _, err := db.FileRecords(ctx, rs); err != nil {
		t.Fatal(err)
	}
	head, _, err := db.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	queries := []string{"SELECT count(*) FROM facts", "SELECT count(DISTINCT subject) FROM subject_events", "SELECT count(*) FROM records"}
	if ns, err := db.countTogether(ctx, "head", head, queries); err != nil || ns[0] != 300 || ns[1] != 40 || ns[2] != 300 {
		t.Fatalf("counted together: %v %v", ns, err)
	}
	if _, err := db.countTogether(ctx, "head", head-1, queries); !errors.Is(err, storecore.ErrSnapshot) {
		t.Fatalf("counting at another head: %v, want ErrSnapshot", err)
	}

	check := func(count storecore.Counter) credo.ProjectionResult {
		t.Helper()
		conn, done, err := db.readTx(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		defer done()
		res, _, err := storecore.CheckProjectionsCounted(ctx, connQuerier{conn}, "test", "head", count)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	lying := func(ctx context.Context, table string, seq int64, qs []string) ([]int64, error) {
		ns, err := db.countTogether(ctx, table, seq, qs)
		if err == nil {
			ns[0]-- // facts, as another snapshot would count them
		}
		return ns, err
	}
	stale := func(context.Context, string, int64, []string) ([]int64, error) { return nil, storecore.ErrSnapshot }
	for name, c := range map[string]storecore.Counter{"together": db.countTogether, "another snapshot's counts": lying, "no snapshot": stale, "alone": nil} {
		if res := check(c); !res.OK || res.Tables["facts"] != 300 {
			t.Errorf("%s: %+v", name, res)
		}
	}

	// A fact row deleted behind the store's back is found, counted together.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("DELETE FROM facts WHERE rowid IN (SELECT rowid FROM facts LIMIT 1)"); err != nil {
		if _, err := raw.Exec("DELETE FROM facts WHERE (subject, seq) IN (SELECT subject, seq FROM facts LIMIT 1)"); err != nil {
			t.Fatal(err)
		}
	}
	res, err := db.CheckProjections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || len(res.Problems) != 1 || res.Problems[0].Table != "facts" || res.Problems[0].Stored != 299 {
		t.Fatalf("a deleted fact: %+v", res)
	}
}
