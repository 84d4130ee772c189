package registry_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"credo"
	"credo/policies"
	"credo/policy"
	"credo/synth"
)

// TestS02NoticeTextRenderedFromFacts files a generated city and reads
// every notice back from the log: each is stored as its facts, the version
// of its template and the SHA-256 of each text sent, not the texts (the
// body holds neither); rendered again from the facts and the policy
// version it names, each text hashes as the text sent, and is the text the
// registry gives for the record today. A notice whose facts were altered
// renders another text, which is refused.
func TestS02NoticeTextRenderedFromFacts(t *testing.T) {
	c := &clock{at(2026, 3, 1, 9, 0)}
	ctx := context.Background()
	st, reg := openNoticeStore(t, c, filepath.Join(t.TempDir(), "s02.db"))
	if _, _, err := reg.Publish(ctx, "beijing.yaml", policies.Beijing, time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	city, err := synth.New(synth.Config{People: 1200, Orgs: 250, Years: 2, Seed: 11, End: c.t, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	var recs []*credo.Record
	if err := city.Records(func(r *credo.Record) error {
		c := *r
		recs = append(recs, &c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.FileRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}

	notices, withText := 0, 0
	var altered *credo.Notice
	for after := int64(0); ; {
		evs, err := st.Events(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		after = evs[len(evs)-1].Seq
		for _, ev := range evs {
			n := ev.Notice
			if ev.Type != credo.EventNoticeIssued || n == nil {
				continue
			}
			notices++
			body, err := credo.CanonicalEncoding(&ev)
			if err != nil {
				t.Fatal(err)
			}
			if n.Template == 0 || n.Text != (credo.NoticeText{}) {
				withText++
				continue
			}
			if len(n.TextSHA256.EN) != 64 || len(n.TextSHA256.ZH) != 64 {
				t.Fatalf("notice of record %d: digests %+v", n.RecordID, n.TextSHA256)
			}
			text, err := reg.NoticeText(n)
			if err != nil {
				t.Fatalf("notice of record %d: %v", n.RecordID, err)
			}
			if credo.HashBytes([]byte(text.EN)) != n.TextSHA256.EN || credo.HashBytes([]byte(text.ZH)) != n.TextSHA256.ZH {
				t.Fatalf("notice of record %d: the rendered text does not hash as the text sent", n.RecordID)
			}
			if text.EN == "" || text.ZH == "" || bytes.Contains(body, []byte(text.ZH[:len(text.ZH)/2])) {
				t.Fatalf("notice of record %d: texts %q, %q (in the body?)", n.RecordID, text.EN, text.ZH)
			}
			rec, err := st.Record(ctx, n.RecordID)
			if err != nil {
				t.Fatal(err)
			}
			if now := reg.Notice(ctx, rec); now == nil || now.Text != text {
				t.Fatalf("notice of record %d: rendered %q, the registry gives %+v", n.RecordID, text.EN, now)
			}
			if altered == nil {
				c := *n
				c.CaseRef += "x"
				altered = &c
			}
		}
	}
	t.Logf("%d notices stored as facts", notices)
	if notices < 100 || withText > 0 {
		t.Fatalf("%d notices, %d stored with their texts", notices, withText)
	}
	if _, err := reg.NoticeText(altered); err == nil {
		t.Errorf("a notice whose case reference was altered rendered without complaint")
	}
	// What the API reads (registry.Notices) carries the texts.
	ns := noticesOf(t, reg, altered.Subject)
	if len(ns) == 0 || ns[0].Notice.Text.EN == "" || ns[0].Notice.Text.ZH == "" {
		t.Errorf("Notices(%s) = %+v: without texts", altered.Subject, ns)
	}
}
