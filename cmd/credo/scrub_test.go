package main

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	chttp "credo/http"
	"credo/registry"
	"credo/transparency"
)

// TestT04ScrubFindsMovedEvent is issue 17 item 4's scrub: a server whose
// log had one event's body moved to another subject (the database file
// edited: the body, the row's subject and the subject index) answered
// from the forged data without a word. The scrub re-verifies the whole
// log and turns /readyz to 503 with the event's position.
func TestT04ScrubFindsMovedEvent(t *testing.T) {
	db := newRegistry(t)
	fileJudgments(t, db, 4)
	from, to := ric(501), ric(503)

	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	evs, err := st.SubjectEvents(ctx, from)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events of %s: %v", from, err)
	}
	moved := evs[0].Seq
	sc, err := transparency.NewScrubber(rawStore(st), nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Scrub(ctx); err != nil || sc.Passes() != 1 {
		t.Fatalf("scrub of the intact log: %v", err)
	}
	st.Close()

	from, to = pseudonym(t, db, from), pseudonym(t, db, to) // the store knows them by these
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"DROP TRIGGER events_no_update",
		"UPDATE events SET subject = '" + to + "', body = replace(body, '" + from + "', '" + to + "') WHERE seq = " + itoa(moved),
		"UPDATE subject_events SET subject = '" + to + "' WHERE seq = " + itoa(moved),
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	st, err = openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if evs, _ := st.SubjectEvents(ctx, from); len(evs) > 0 && evs[0].Seq == moved {
		t.Fatal("the edit did not move the event")
	}
	reg, err := registry.Open(ctx, st, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &serveFlags{scrubEvery: 1e18, scrubRate: 1e6}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sc2, err := newScrub(f, st, nil, nil)
	if err != nil || sc2 == nil {
		t.Fatalf("newScrub: %v", err)
	}
	go sc2.Run(cctx, f.scrubEvery)
	// Wait for the first pass (no timing: Scrub again, synchronously).
	if err := sc2.Scrub(ctx); err == nil {
		t.Fatal("the scrub did not find the moved event")
	}
	srv := chttp.NewServer(reg, st, st, chttp.Options{Scrub: sc2})
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "damaged at event " + itoa(moved)
	if resp.StatusCode != 503 || !strings.Contains(string(body), want) {
		t.Fatalf("readyz: %d %s, want 503 with %q", resp.StatusCode, body, want)
	}
}
