package main

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"credo/internal/pgtest"
	"credo/seal"
)

// TestE01PostgresErasure is TestE01's flow on PostgreSQL: a registry
// sealed with keys given at init holds no identifier, name or case
// reference in clear in any table (text or bytea, read row by row as
// text); erasing a subject deletes their key row; verify passes; show
// answers as for an unknown subject; without keys it is refused.
func TestE01PostgresErasure(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	t.Setenv(envPostgres, "")
	keys := filepath.Join(t.TempDir(), "pg.keys")
	k, err := seal.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Write(keys); err != nil {
		t.Fatal(err)
	}
	pg := []string{"--postgres", dsn, "--keys", keys}
	run := func(args ...string) string { return mustRun(t, append(args, pg...)...) }
	run("init", "--policy", "testdata/policy.yaml")
	subject, name, caseRef := ric(941), "Zhao Erasable-PG", "(2019)PG-erase-1"
	file := filepath.Join(t.TempDir(), "r.ndjson")
	writeFile(t, file, `{"subject":"`+subject+`","subject_name":"`+name+`","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"`+caseRef+`","decided_at":"2019-01-02","evidence_sha256":"`+digest("pg")+`"}`+"\n")
	run("ingest", "-q", file)
	if out := run("show", subject); !strings.Contains(out, caseRef) {
		t.Fatalf("show:\n%s", out)
	}
	if code, _, errs := runCLI(t, "show", "--postgres", dsn, subject); code == 0 || !strings.Contains(errs, "is sealed") {
		t.Errorf("show without keys: exit %d %s", code, errs)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	scan := func() []string {
		t.Helper()
		rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, tb := range tables {
			rows, err := conn.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{tb}.Sanitize()+` t`)
			if err != nil {
				t.Fatal(err)
			}
			texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			for _, txt := range texts {
				for what, n := range map[string]string{"identifier": subject, "name": name, "case reference": caseRef} {
					if strings.Contains(txt, n) || strings.Contains(txt, hex.EncodeToString([]byte(n))) {
						found = append(found, tb+": "+what)
					}
				}
			}
		}
		return found
	}
	if found := scan(); len(found) > 0 {
		t.Errorf("in clear in the database: %v", found)
	}
	if out := run("erase", subject, "--reason", "court order", "--basis", "PIPL art 47"); !strings.Contains(out, "erased "+subject) {
		t.Fatalf("erase: %s", out)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM subject_keys`).Scan(&n); err != nil || n != 0 {
		t.Errorf("key rows after erasure: %d %v", n, err)
	}
	if found := scan(); len(found) > 0 {
		t.Errorf("in clear after erasure: %v", found)
	}
	if out := run("verify"); !strings.Contains(out, "ok: projections equal") {
		t.Errorf("verify: %s", out)
	}
	// The two shows run a moment apart: the instant each states may be
	// another second.
	instant := regexp.MustCompile(` at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d `)
	erased, unknown := run("show", subject), run("show", ric(942))
	if instant.ReplaceAllString(strings.ReplaceAll(erased, subject, "S"), " at T ") != instant.ReplaceAllString(strings.ReplaceAll(unknown, ric(942), "S"), " at T ") {
		t.Errorf("show of the erased subject:\n%s\nof an unknown one:\n%s", erased, unknown)
	}
}
