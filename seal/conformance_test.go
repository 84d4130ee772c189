package seal_test

import (
	"context"
	"path/filepath"
	"testing"

	"credo"
	"credo/internal/pgtest"
	"credo/postgres"
	"credo/seal"
	"credo/sqlite"
	"credo/storetest"
)

var testKeys = func() *seal.Keys {
	var k seal.Keys
	for i := range k.KEK {
		k.KEK[i], k.Lookup[i] = byte(i), byte(100+i)
	}
	return &k
}()

// openSealed opens a sealed store over a new SQLite file; reopen opens
// the same file again.
func openSealed(t *testing.T) (*seal.Store, func(t *testing.T) *seal.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credo.db")
	open := func(t *testing.T) *seal.Store {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := seal.Open(context.Background(), db, testKeys, seal.Options{Ledger: seal.LedgerPath(path)})
		if err != nil {
			db.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open(t), open
}

// The sealed store passes the stores' conformance suite: it is a store.
func TestSealedConformance(t *testing.T) {
	storetest.EventsAreOpened = true
	storetest.Run(t, func(t *testing.T) credo.Store {
		s, _ := openSealed(t)
		return s
	})
}

func TestSealedParts(t *testing.T) {
	storetest.RunParts(t, func(t *testing.T) (storetest.FullStore, func(*testing.T) storetest.FullStore) {
		s, reopen := openSealed(t)
		return s, func(t *testing.T) storetest.FullStore { return reopen(t) }
	})
}

// The sealed store over PostgreSQL passes the conformance suite too.
func TestSealedConformancePostgres(t *testing.T) {
	storetest.EventsAreOpened = true
	storetest.Run(t, func(t *testing.T) credo.Store {
		dsn := pgtest.NewDatabase(t)
		db, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		s, err := seal.Open(context.Background(), db, testKeys, seal.Options{})
		if err != nil {
			db.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
