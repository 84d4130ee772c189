package portal

import (
	"context"
	"path/filepath"
	"testing"

	"credo/policies"
	"credo/registry"
	"credo/sqlite"
)

// newBare returns a portal over an empty registry with the example policy.
func newBare(t *testing.T) *Portal {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "credo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.Open(ctx, db, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "beijing.yaml", policies.Beijing, reg.Now().AddDate(-1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	p, err := New(reg, db, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
