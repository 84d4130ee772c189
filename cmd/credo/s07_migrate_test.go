package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"credo"
	"credo/internal/storecore"
	"credo/registry"
	"credo/sqlite"
)

// testdata/format1.db is a registry written by the program before the
// compact encoding (JSON bodies, hex hashes, schema version 70): a
// generated city of 40 people and 8 organisations (221 records, 7 links,
// 6 notices), a dispute opened and decided, a record fulfilled.
// testdata/format1-show.json is what that program's `credo show --json
// --at 2026-06-01 --known 2027-06-01` answered for 11 of its subjects.

// legacyLog reads every event of a registry in the old format, as stored.
func legacyLog(t *testing.T, path string) (evs []*credo.Event, headSeq int64, headHash string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow("SELECT seq, hash FROM head").Scan(&headSeq, &headHash); err != nil {
		t.Fatal(err)
	}
	rows, err := raw.Query("SELECT body FROM events ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			t.Fatal(err)
		}
		ev, err := storecore.LegacyEvent(body)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs, headSeq, headHash
}

// TestS07Migrate: a registry in the old format is refused with the command
// that converts it; `credo migrate` converts it (the old chain verified,
// every event re-encoded, a log.migrated event recording the old head, the
// new chain and the projections verified); the converted log holds the
// same events, its notices render the texts that were sent, and `credo
// show` answers what the old program answered.
func TestS07Migrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	b, err := os.ReadFile("testdata/format1.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	old, oldSeq, oldHash := legacyLog(t, path)
	if len(old) < 200 || oldSeq != int64(len(old)) {
		t.Fatalf("fixture: %d events, head %d", len(old), oldSeq)
	}

	// Refused, with the way out, and left as it was.
	for _, args := range [][]string{{"verify", "--db", path}, {"show", "--db", path, old[len(old)-1].Subject}} {
		code, out, errOut := runCLI(t, args...)
		if code == 0 || !strings.Contains(errOut, "credo migrate --db "+path) || !strings.Contains(errOut, "format before the compact event encoding") {
			t.Fatalf("%v on the old format: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	if after, _, _ := legacyLog(t, path); len(after) != len(old) {
		t.Fatalf("the refused open changed the log: %d events, was %d", len(after), len(old))
	}

	code, out, errOut := runCLI(t, "migrate", "--db", path)
	if code != 0 || !strings.Contains(out, "ok: the new log and its projections verify") {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errOut)
	}
	t.Log(out)
	if code, out, errOut := runCLI(t, "verify", "--db", path); code != 0 {
		t.Fatalf("verify after migrate: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "migrate", "--db", path); code == 0 || !strings.Contains(errOut, "nothing to convert") {
		t.Errorf("migrating twice: exit %d, %s", code, errOut)
	}

	ctx := context.Background()
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, err := registry.Open(ctx, st, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(ctx, 0, len(old)+10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(old)+1 {
		t.Fatalf("%d events after migrating %d", len(evs), len(old))
	}
	facts := 0
	for i, o := range old {
		ev := evs[i]
		if n := ev.Notice; n != nil && n.Template != 0 {
			facts++
			if n.Text != (credo.NoticeText{}) {
				t.Errorf("event %d: a notice kept as its facts has its texts in the body", ev.Seq)
			}
			if n.Text, err = reg.NoticeText(n); err != nil {
				t.Fatalf("event %d: %v", ev.Seq, err)
			}
			n.Template, n.TextSHA256 = 0, credo.NoticeText{}
		}
		if ev.Hash == o.PrevHash || (i > 0 && ev.PrevHash != evs[i-1].Hash) {
			t.Fatalf("event %d: not chained anew", ev.Seq)
		}
		ev.Hash, ev.PrevHash, o.PrevHash = "", "", ""
		if !reflect.DeepEqual(&ev, o) {
			a, _ := json.Marshal(ev)
			b, _ := json.Marshal(o)
			t.Fatalf("event %d changed:\n got %s\nwant %s", o.Seq, a, b)
		}
	}
	if facts == 0 {
		t.Errorf("no notice was converted to its facts")
	}
	m := evs[len(old)]
	if m.Type != credo.EventLogMigrated || m.Migration == nil || m.Migration.OldHeadSeq != oldSeq || m.Migration.OldHeadHash != oldHash ||
		m.Migration.NewHeadHash != m.PrevHash || m.Migration.FromEncoding != 1 || m.Migration.ToEncoding != credo.EncodingVersion ||
		m.Migration.NoticesAsFacts != int64(facts) {
		t.Fatalf("the last event is %+v (%+v), want log.migrated from head %d %s", m, m.Migration, oldSeq, oldHash)
	}

	// What the old program showed, the converted registry shows.
	var golden map[string]json.RawMessage
	b, err = os.ReadFile("testdata/format1-show.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	for subject, want := range golden {
		code, out, errOut := runCLI(t, "show", "--db", path, subject, "--at", "2026-06-01", "--known", "2027-06-01", "--json")
		if code != 0 {
			t.Fatalf("show %s: exit %d %s", subject, code, errOut)
		}
		var got, w any
		json.Unmarshal([]byte(out), &got)
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(got, w) {
			t.Errorf("show %s after migrating:\n%s\nwant\n%s", subject, out, want)
		}
	}
}
