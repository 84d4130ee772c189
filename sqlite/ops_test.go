package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"credo"
	"credo/sqlite"
)

func TestTokens(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tok := &credo.Token{ID: "tok1", Hash: "h1", Role: credo.RoleChecker, Name: "Air China", Sectors: []string{"aviation", "rail"}}
	if err := db.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(ctx, tok); credo.ErrorCode(err) != credo.ECONFLICT {
		t.Errorf("duplicate: %v, want conflict", err)
	}
	got, err := db.TokenByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "tok1" || got.Role != credo.RoleChecker || len(got.Sectors) != 2 || got.Sectors[1] != "rail" || !got.Revoked.IsZero() {
		t.Errorf("token read back as %+v", got)
	}
	if _, err := db.TokenByHash(ctx, "nope"); credo.ErrorCode(err) != credo.ENOTFOUND {
		t.Errorf("unknown hash: %v", err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := db.RevokeToken(ctx, "tok1", at); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeToken(ctx, "tok1", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ = db.TokenByHash(ctx, "h1")
	if !got.Revoked.Equal(at) {
		t.Errorf("revoked %v, want the first revocation %v", got.Revoked, at)
	}
	if err := db.RevokeToken(ctx, "nope", at); credo.ErrorCode(err) != credo.ENOTFOUND {
		t.Errorf("revoking unknown: %v", err)
	}
	all, err := db.Tokens(ctx)
	if err != nil || len(all) != 1 {
		t.Errorf("Tokens: %v %v", all, err)
	}
}

func TestCheckLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var cs []credo.CheckEntry
	for i := 0; i < 30; i++ {
		d := "allow"
		if i%3 == 0 {
			d = "deny"
		}
		cs = append(cs, credo.CheckEntry{ID: fmt.Sprintf("c%03d", i), Checker: "tok1", Subject: fmt.Sprintf("S%d", i%2),
			Sector: "aviation", At: base.Add(time.Duration(i) * time.Hour), Known: base.Add(time.Duration(i) * time.Hour),
			Policy: "p1", Decision: d, Measures: []string{"flight-ban"}})
	}
	if err := db.LogChecks(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if err := db.LogChecks(ctx, cs[:5]); err != nil { // a retried flush adds nothing
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(path) // survives reopening
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.ChecksOf(ctx, "S0", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 15 || got[0].ID != "c028" || got[14].ID != "c000" {
		t.Fatalf("ChecksOf: %d entries, first %v", len(got), got[0].ID)
	}
	c, err := db.Check(ctx, "c003")
	if err != nil {
		t.Fatal(err)
	}
	if c.Decision != "deny" || !c.At.Equal(base.Add(3*time.Hour)) || len(c.Measures) != 1 {
		t.Errorf("Check: %+v", c)
	}
	stats, err := db.CheckStats(ctx, base, base.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Hours 0-13 fall on 03-01, 14-29 on 03-02; deny every third.
	want := map[string]int64{"2026-03-01/allow": 9, "2026-03-01/deny": 5, "2026-03-02/allow": 11, "2026-03-02/deny": 5}
	for _, s := range stats {
		if w := want[s.Day+"/"+s.Decision]; w != s.Count {
			t.Errorf("%s %s: %d, want %d", s.Day, s.Decision, s.Count, w)
		}
	}
	if len(stats) != len(want) {
		t.Errorf("%d stat rows, want %d", len(stats), len(want))
	}
}
