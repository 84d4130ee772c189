package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"credo"
)

// RunTokens checks a token store: tokens read back as created, a
// duplicate is refused, revocation keeps the first time. open must return
// a new, empty store, closed at cleanup.
func RunTokens(t *testing.T, open func(t *testing.T) credo.TokenStore) {
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open(t)) })
}

// CheckLogStore is a check log that also counts the checks by day, sector
// and decision (the statistics behind /v1/stats), and can be closed.
type CheckLogStore interface {
	credo.CheckLog
	CountChecks(ctx context.Context, from, to time.Time, fn func(day time.Time, sector, decision string, n int64) error) error
	Close() error
}

// RunCheckLog checks a check log: entries read back by id and by subject,
// a retried batch adds nothing, counts by day, and the log survives a
// reopen. open must return a new, empty store and a function that opens
// its storage again.
func RunCheckLog(t *testing.T, open Reopener[CheckLogStore]) {
	t.Run("CheckLog", func(t *testing.T) {
		db, reopen := open(t)
		testCheckLog(t, db, reopen)
	})
}

func testTokens(t *testing.T, db credo.TokenStore) {
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
	if got.ID != "tok1" || got.Role != credo.RoleChecker || got.Name != "Air China" || len(got.Sectors) != 2 || got.Sectors[1] != "rail" ||
		!got.Revoked.IsZero() || !got.Created.Equal(tok.Created) {
		t.Errorf("token read back as %+v, want %+v", got, tok)
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
	if all, err := db.Tokens(ctx); err != nil || len(all) != 1 {
		t.Errorf("Tokens with one created: %+v %v", all, err)
	}
	sub := &credo.Token{ID: "tok2", Hash: "h2", Role: credo.RoleSubject, Subject: RIC(1)}
	if err := db.CreateToken(ctx, sub); err != nil {
		t.Fatal(err)
	}
	all, err := db.Tokens(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "tok1" || all[1].Subject != sub.Subject || all[1].Sectors != nil {
		t.Errorf("Tokens: %+v %v", all, err)
	}
}

func testCheckLog(t *testing.T, db CheckLogStore, reopen func(t *testing.T) CheckLogStore) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var cs []credo.CheckEntry
	for i := 0; i < 30; i++ {
		d := "allow"
		if i%3 == 0 {
			d = "deny"
		}
		c := credo.CheckEntry{ID: fmt.Sprintf("c%03d", i), Checker: "tok1", Subject: fmt.Sprintf("S%d", i%2),
			Sector: "aviation", At: base.Add(time.Duration(i) * time.Hour), Known: base.Add(time.Duration(i) * time.Hour),
			Policy: "p1", Decision: d}
		if d == "deny" {
			c.Measures = []string{"flight-ban", "rail-limit"}
		}
		cs = append(cs, c)
	}
	if err := db.LogChecks(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if err := db.LogChecks(ctx, cs[:5]); err != nil { // a retried flush adds nothing
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = reopen(t) // survives reopening
	got, err := db.ChecksOf(ctx, "S0", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 15 || got[0].ID != "c028" || got[14].ID != "c000" {
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		t.Fatalf("ChecksOf: %d entries %v, want 15 from c028 to c000", len(got), ids)
	}
	if got, _ := db.ChecksOf(ctx, "S0", 4); len(got) != 4 || got[3].ID != "c022" {
		t.Errorf("ChecksOf with a limit of 4: %d entries", len(got))
	}
	c, err := db.Check(ctx, "c003")
	if err != nil {
		t.Fatal(err)
	}
	if c.Decision != "deny" || !c.At.Equal(base.Add(3*time.Hour)) || len(c.Measures) != 2 || c.Measures[1] != "rail-limit" || c.Subject != "S1" {
		t.Errorf("Check: %+v", c)
	}
	if c, err := db.Check(ctx, "c004"); err != nil || c.Measures != nil {
		t.Errorf("Check without measures: %+v, %v", c, err)
	}
	if _, err := db.Check(ctx, "nope"); credo.ErrorCode(err) != credo.ENOTFOUND {
		t.Errorf("unknown check: %v", err)
	}
	// Hours 0-13 fall on 03-01, 14-29 on 03-02; deny every third.
	want := map[string]int64{"2026-03-01/allow": 9, "2026-03-01/deny": 5, "2026-03-02/allow": 11, "2026-03-02/deny": 5}
	rows := 0
	err = db.CountChecks(ctx, base, base.Add(48*time.Hour), func(day time.Time, sector, decision string, n int64) error {
		rows++
		if k := day.Format("2006-01-02") + "/" + decision; want[k] != n || sector != "aviation" {
			t.Errorf("%s %s: %d, want %d", k, sector, n, want[k])
		}
		return nil
	})
	if err != nil || rows != len(want) {
		t.Errorf("CountChecks: %d rows, want %d (%v)", rows, len(want), err)
	}
	// Only the first day.
	rows = 0
	err = db.CountChecks(ctx, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		func(day time.Time, _, _ string, _ int64) error {
			rows++
			if day.Day() != 1 {
				t.Errorf("counted day %v outside [03-01, 03-02)", day)
			}
			return nil
		})
	if err != nil || rows != 2 {
		t.Errorf("CountChecks of one day: %d rows, want 2 (%v)", rows, err)
	}
}
