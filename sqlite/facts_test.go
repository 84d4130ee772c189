package sqlite_test

import (
	"context"
	"database/sql"
	"testing"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// TestS03FactsBackfill: a registry whose log predates the facts
// projection gets its facts written from the log when it is opened, and
// they pass the projection check.
func TestS03FactsBackfill(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	var rs []*credo.Record
	for i := range 40 {
		rs = append(rs, storetest.NewRecord("court.beijing", i, i%7))
	}
	if _, err := db.FileRecords(ctx, rs); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The file as it was before migration 0093.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE facts", "DROP TABLE facts_backfill", "DROP TABLE bulk_facts", "DROP TABLE bulk_subject_events",
		"DELETE FROM schema_version WHERE version >= 93"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	raw.Close()

	db, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	subjects := 0
	if err := db.ScanFacts(ctx, "", "", func(subject string, evs []credo.Event) error {
		subjects++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if subjects != 7 {
		t.Errorf("%d subjects with facts after the backfill, want 7", subjects)
	}
	for _, check := range []func(context.Context) (credo.ProjectionResult, error){db.VerifyProjections, db.CheckProjections} {
		if pr, err := check(ctx); err != nil || !pr.OK || pr.Tables["facts"] != 40 {
			t.Errorf("projections after the backfill: %+v, %v", pr, err)
		}
	}
}
