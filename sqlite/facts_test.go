package sqlite_test

import (
	"database/sql"
	"testing"

	"credo/sqlite"
	"credo/storetest"
)

// TestS03FactsBackfill: a registry whose log predates the facts
// projection gets its facts written from the log when it is opened, and
// they pass the projection check.
func TestS03FactsBackfill(t *testing.T) {
	db, path := openDB(t)
	storetest.FileBackfillLog(t, db)
	res := storedRecords(t, db, path)
	db.Close()
	// The file as it was before migration 0093 (and so before 0096).
	oldRecordsLayout(t, path, res)
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
	storetest.CheckFactsBackfilled(t, db)
}
