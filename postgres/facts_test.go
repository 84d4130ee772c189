package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"credo/postgres"
	"credo/storetest"
)

// TestS03FactsBackfill: a registry whose log predates the facts
// projection gets its facts written from the log when it is opened, and
// they pass the projection check.
func TestS03FactsBackfill(t *testing.T) {
	db, dsn := openDB(t)
	storetest.FileBackfillLog(t, db)
	db.Close()
	// The schema as it was before migration 0093.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE facts", "DROP TABLE facts_backfill", "DELETE FROM schema_migrations WHERE version = 93"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	conn.Close(ctx)

	db, err = postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.CheckFactsBackfilled(t, db)
}
