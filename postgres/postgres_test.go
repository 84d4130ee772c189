package postgres_test

import (
	"context"
	"testing"

	"credo"
	"credo/internal/pgtest"
	"credo/postgres"
	"credo/storetest"
)

var ctx = context.Background()

// openDB opens a store on a fresh database, closed at cleanup; it returns
// the store and the database's DSN.
func openDB(t testing.TB) (*postgres.DB, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	db, err := postgres.Open(ctx, dsn)
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
