package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"credo/seal"
)

// fileOld files one long-past judgment about each subject (case
// "(2019)old-SUBJECT"), named "Name SUBJECT".
func fileOld(t *testing.T, db string, subjects ...string) {
	t.Helper()
	var b strings.Builder
	for _, s := range subjects {
		b.WriteString(`{"subject":"` + s + `","subject_name":"Name ` + s + `","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"(2019)old-` + s + `","decided_at":"2019-01-02","evidence_sha256":"` + digest(s) + `"}` + "\n")
	}
	file := filepath.Join(t.TempDir(), "old.ndjson")
	writeFile(t, file, b.String())
	mustRun(t, "ingest", "--db", db, "-q", file)
}

func keyRows(t *testing.T, db string) (n int, kekIDs []string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query("SELECT kek_id FROM subject_keys")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		n++
		kekIDs = append(kekIDs, id)
	}
	return n, kekIDs
}

// TestE02RestoreDoesNotResurrect: a backup taken before an erasure,
// restored, does not bring the erased subject back: the erasure ledger
// beside the registry (DB.erasures) is applied again when the restored
// registry is opened. Without the ledger, the same restore would.
func TestE02RestoreDoesNotResurrect(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "city.db")
	mustRun(t, "init", "--db", db, "--policy", "testdata/policy.yaml")
	gone, stays := ric(911), ric(912)
	fileOld(t, db, gone, stays)
	backup := filepath.Join(t.TempDir(), "before.db")
	mustRun(t, "backup", "--db", db, "--to", backup)

	out := mustRun(t, "erase", "--db", db, gone, "--reason", "court order", "--basis", "PIPL art 47")
	if !strings.Contains(out, "erased "+gone) {
		t.Fatalf("erase: %s", out)
	}
	show := func() string { return mustRun(t, "show", "--db", db, gone) }
	if strings.Contains(show(), "(2019)old-"+gone) {
		t.Fatal("the erased subject's record still shows")
	}

	out = mustRun(t, "restore", "--from", backup, "--db", db, "--force")
	if !strings.Contains(out, "re-applied 1 erasure(s)") {
		t.Errorf("restore:\n%s", out)
	}
	if s := show(); strings.Contains(s, "(2019)old-"+gone) || strings.Contains(s, "Name "+gone) {
		t.Errorf("the restored backup brought the erased subject back:\n%s", s)
	}
	if s := mustRun(t, "show", "--db", db, stays); !strings.Contains(s, "(2019)old-"+stays) {
		t.Errorf("the other subject is gone after the restore:\n%s", s)
	}
	if n, _ := keyRows(t, db); n != 1 {
		t.Errorf("%d data keys after the restore, want 1 (the other subject's)", n)
	}
	if code, out, errs := runCLI(t, "verify", "--db", db); code != 0 {
		t.Errorf("verify after the restore: exit %d\n%s%s", code, out, errs)
	}
	// Restoring the same backup again re-applies the erasure again.
	if out := mustRun(t, "restore", "--from", backup, "--db", db, "--force"); !strings.Contains(out, "re-applied 1 erasure(s)") {
		t.Errorf("second restore:\n%s", out)
	}
	if strings.Contains(mustRun(t, "show", "--db", db, gone), "(2019)old-"+gone) {
		t.Error("the second restore brought the subject back")
	}

	// The control: without the ledger, the old backup resurrects them.
	if err := os.Remove(seal.LedgerPath(db)); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "restore", "--from", backup, "--db", db, "--force")
	if !strings.Contains(show(), "(2019)old-"+gone) {
		t.Error("without the ledger the backup should bring the subject back (the control of this test)")
	}
}

// TestE03WrongKeysRefused: a sealed registry opens only with its own keys:
// none, another's, a keys file others may read, or keys for a registry
// created without them are refused with a message that says so.
func TestE03WrongKeysRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "city.db")
	code, _, errs := runCLI(t, "init", "--db", db, "--policy", "testdata/policy.yaml")
	if code != 0 || !strings.Contains(errs, "keys: created "+db+".keys (mode 0600)") {
		t.Fatalf("init: exit %d\n%s", code, errs)
	}
	if fi, err := os.Stat(db + ".keys"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys file: %v %v", fi, err)
	}
	fileOld(t, db, ric(921))
	if out := mustRun(t, "show", "--db", db, ric(921)); !strings.Contains(out, "(2019)old-") {
		t.Fatalf("show with the keys beside the file:\n%s", out)
	}

	other, err := seal.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(t.TempDir(), "other.keys")
	if err := other.Write(otherFile); err != nil {
		t.Fatal(err)
	}
	refused := func(what, want string, args ...string) {
		t.Helper()
		code, out, errs := runCLI(t, args...)
		if code == 0 || !strings.Contains(errs, want) || strings.Contains(out, "(2019)old-") {
			t.Errorf("%s: exit %d, want refused with %q\n%s%s", what, code, want, out, errs)
		}
	}
	refused("another registry's keys", "the keys given are not this registry's", "show", "--db", db, "--keys", otherFile, ric(921))

	mine, err := seal.Load(db + ".keys")
	if err != nil {
		t.Fatal(err)
	}
	half := *mine
	half.KEK = other.KEK
	halfFile := filepath.Join(t.TempDir(), "half.keys")
	if err := half.Write(halfFile); err != nil {
		t.Fatal(err)
	}
	refused("the right lookup secret, another KEK", "its key-encryption key is another", "show", "--db", db, "--keys", halfFile, ric(921))

	loose := filepath.Join(t.TempDir(), "loose.keys")
	b, _ := os.ReadFile(db + ".keys")
	if err := os.WriteFile(loose, b, 0o644); err != nil {
		t.Fatal(err)
	}
	refused("a keys file others may read", "accessible by group or others", "show", "--db", db, "--keys", loose, ric(921))

	// The right keys from the environment, the file moved away.
	moved := filepath.Join(t.TempDir(), "kept-elsewhere.keys")
	if err := os.Rename(db+".keys", moved); err != nil {
		t.Fatal(err)
	}
	refused("no keys", "is sealed: give its keys", "show", "--db", db, ric(921))
	if out := mustRun(t, "show", "--db", db, "--keys", moved, ric(921)); !strings.Contains(out, "(2019)old-") {
		t.Errorf("show --keys:\n%s", out)
	}
	kv := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			kv[k] = v
		}
	}
	t.Setenv(seal.EnvKEK, kv[seal.EnvKEK])
	t.Setenv(seal.EnvLookup, kv[seal.EnvLookup])
	if out := mustRun(t, "show", "--db", db, ric(921)); !strings.Contains(out, "(2019)old-") {
		t.Errorf("show with the keys in the environment:\n%s", out)
	}
	t.Setenv(seal.EnvLookup, "")
	refused("half the environment", "go together", "show", "--db", db, ric(921))
}

// TestE04KeysRotate: `credo keys rotate` re-wraps every subject's data key
// under a new key-encryption key without touching the log; the registry
// then opens with the new keys only, and reads as before.
func TestE04KeysRotate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "city.db")
	mustRun(t, "init", "--db", db, "--policy", "testdata/policy.yaml")
	fileOld(t, db, ric(931), ric(932), ric(933))
	headOf := func(keys string) string {
		out := mustRun(t, "verify", "--db", db, "--keys", keys)
		return regexp.MustCompile(`head \d+ [0-9a-f]+`).FindString(out)
	}
	oldKeys := db + ".keys"
	before := headOf(oldKeys)

	old, err := seal.Load(oldKeys)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := seal.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.keys")
	if err := fresh.Write(bad); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "keys", "rotate", "--db", db, "--keys", oldKeys, "--new-keys", bad); code == 0 || !strings.Contains(errs, "must keep the lookup secret") {
		t.Errorf("rotate to another lookup secret: exit %d %s", code, errs)
	}
	fresh.Lookup = old.Lookup
	newKeys := filepath.Join(t.TempDir(), "new.keys")
	if err := fresh.Write(newKeys); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "keys", "rotate", "--db", db, "--keys", oldKeys, "--new-keys", newKeys)
	if !strings.Contains(out, "re-wrapped 3 data key(s) under key-encryption key "+fresh.KEKID()) {
		t.Errorf("rotate: %s", out)
	}
	n, ids := keyRows(t, db)
	for _, id := range ids {
		if id != fresh.KEKID() {
			t.Errorf("a key is still under %s, want %s", id, fresh.KEKID())
		}
	}
	if n != 3 {
		t.Errorf("%d keys, want 3", n)
	}
	if after := headOf(newKeys); after != before || before == "" {
		t.Errorf("the log changed: %q, was %q", after, before)
	}
	if out := mustRun(t, "show", "--db", db, "--keys", newKeys, ric(932)); !strings.Contains(out, "(2019)old-"+ric(932)) {
		t.Errorf("show with the new keys:\n%s", out)
	}
	if code, _, errs := runCLI(t, "show", "--db", db, "--keys", oldKeys, ric(932)); code == 0 || !strings.Contains(errs, "key-encryption key is another") {
		t.Errorf("the old keys after rotation: exit %d %s", code, errs)
	}
	// A second run has nothing left to do (and the old keys are refused).
	if out := mustRun(t, "keys", "rotate", "--db", db, "--keys", newKeys, "--new-keys", newKeys); !strings.Contains(out, "re-wrapped 0") {
		t.Errorf("second rotation: %s", out)
	}
}
