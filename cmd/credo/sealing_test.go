package main

import (
	"os"
	"testing"

	"credo/seal"
)

// pseudonym returns the pseudonym the sealed registry at db knows a
// subject by (for tests that edit the file).
func pseudonym(t *testing.T, db, subject string) string {
	t.Helper()
	k, err := seal.Load(db + ".keys")
	if err != nil {
		t.Fatal(err)
	}
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_ = k
	return st.(*seal.Store).Pseudonym(subject)
}

// openTestStore opens a registry file as the commands do: sealed with the
// keys beside it (DB.keys) when it has them.
func openTestStore(path string) (store, error) {
	return openStore(storeFlag{db: path, dbSet: true}, true)
}

// copyKeys puts the keys of the registry at from beside the one at to.
func copyKeys(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from + ".keys")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to+".keys", b, 0o600); err != nil {
		t.Fatal(err)
	}
}
