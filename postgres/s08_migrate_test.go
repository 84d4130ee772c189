package postgres_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"credo"
	"credo/postgres"
	"credo/storetest"
)

// toFormat1 rewrites a registry's log in the format before the compact
// encoding, as that program wrote it: JSON bodies chained by hex hashes in
// text columns, schema version 80.
func toFormat1(t *testing.T, dsn string, evs []credo.Event) {
	t.Helper()
	c := rawConn(t, dsn)
	mustExec(t, c, "ALTER TABLE events DISABLE TRIGGER events_no_update")
	mustExec(t, c, `ALTER TABLE events ALTER COLUMN prev_hash TYPE text USING encode(prev_hash, 'hex'),
		ALTER COLUMN hash TYPE text USING encode(hash, 'hex')`)
	mustExec(t, c, "ALTER TABLE log_head ALTER COLUMN hash TYPE text USING encode(hash, 'hex')")
	mustExec(t, c, "ALTER TABLE projection_audit ALTER COLUMN hash TYPE text USING encode(hash, 'hex')")
	prev := ""
	for _, ev := range evs {
		ev.Hash, ev.PrevHash = "", prev
		body, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(body)
		prev = hex.EncodeToString(h[:])
		mustExec(t, c, "UPDATE events SET body = $1, prev_hash = $2, hash = $3 WHERE seq = $4", body, ev.PrevHash, prev, ev.Seq)
	}
	mustExec(t, c, "UPDATE log_head SET hash = $1", prev)
	mustExec(t, c, "DELETE FROM tree_hashes")
	mustExec(t, c, "DELETE FROM schema_migrations WHERE version >= 90")
	mustExec(t, c, "DROP TABLE subject_keys, seal_info, facts, facts_backfill") // 0092 and 0093 come after the conversion
	mustExec(t, c, "ALTER TABLE events ENABLE TRIGGER events_no_update")
}

// TestS08MigratePostgres: a PostgreSQL registry in the format before the
// compact encoding is refused with the command that converts it;
// ConvertFormat converts it (a log.migrated event records the old head),
// and the converted log holds the same events, verifies, and opens.
func TestS08MigratePostgres(t *testing.T) {
	db, dsn := openDB(t)
	fileN(t, db, 0, 40)
	res := fileN(t, db, 40, 1)
	if _, err := db.Append(ctx, []*credo.Event{
		{Type: credo.EventNoticeIssued, Notice: &credo.Notice{RecordID: res[0].Record.ID, Rule: "R", Text: credo.NoticeText{EN: "notice", ZH: "告知"}}},
		{Type: credo.EventRecordRevoked, Change: &credo.RecordChange{RecordID: 3, At: res[0].Record.DecidedAt, Reason: "wrong person"}},
	}); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	toFormat1(t, dsn, evs)

	if _, err := postgres.Open(ctx, dsn); err == nil || !strings.Contains(err.Error(), "credo migrate --postgres URL") {
		t.Fatalf("Open on the old format: %v", err)
	}
	oldHead := evs[len(evs)-1]
	conv, err := postgres.ConvertFormat(ctx, dsn, nil)
	if err != nil {
		t.Fatalf("ConvertFormat: %v", err)
	}
	if conv.Events != int64(len(evs)) || !conv.Verified.OK {
		t.Fatalf("ConvertFormat: %+v", conv)
	}
	if _, err := postgres.ConvertFormat(ctx, dsn, nil); err == nil || !strings.Contains(err.Error(), "nothing to convert") {
		t.Errorf("converting twice: %v", err)
	}
	db2, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if v, err := db2.Verify(ctx); err != nil || !v.OK || v.HeadSeq != int64(len(evs))+1 {
		t.Fatalf("Verify after converting: %+v, %v", v, err)
	}
	got, err := db2.Events(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs)+1 {
		t.Fatalf("%d events after converting %d", len(got), len(evs))
	}
	for i := range evs {
		// Re-encoded with the same content: the same hashes as the
		// compact encoding gave when they were appended.
		if !reflect.DeepEqual(got[i], evs[i]) {
			t.Fatalf("event %d changed:\n got %+v\nwant %+v", evs[i].Seq, got[i], evs[i])
		}
	}
	m := got[len(evs)].Migration
	if got[len(evs)].Type != credo.EventLogMigrated || m == nil || m.OldHeadSeq != oldHead.Seq || m.NewHeadHash != oldHead.Hash || len(m.OldHeadHash) != 64 {
		t.Fatalf("last event %+v, migration %+v", got[len(evs)], m)
	}
	// The converted registry takes new events.
	if _, err := db2.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.test", 99, 99)}); err != nil {
		t.Fatal(err)
	}
	if v, err := db2.Verify(ctx); err != nil || !v.OK {
		t.Fatalf("Verify after filing: %+v, %v", v, err)
	}
}
