package seal_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/registry"
	"credo/storetest"
)

// TestE07SealedNoticeKeepsFacts: a notice rendered from its facts is
// sealed as its facts, as the plain log keeps it (the texts, three times
// the rest of the notice, are rendered again when read): its seal is
// smaller than its English text alone, and the texts read back through
// the registry are those sent, naming the subject's case.
func TestE07SealedNoticeKeepsFacts(t *testing.T) {
	ctx := context.Background()
	s, _ := openSealed(t)
	now := time.Now()
	reg, err := registry.Open(ctx, s, registry.Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "policy.yaml", src, now.AddDate(-1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRecord("court.test", 1, 1)
	r.Rule, r.DecidedAt = "JUDGMENT_DEFAULT", now.AddDate(0, -1, 0)
	if _, err := reg.FileRecords(ctx, []*credo.Record{r}); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Unwrap().Events(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var stored *credo.Event
	for i := range raw {
		if raw[i].Type == credo.EventNoticeIssued {
			stored = &raw[i]
		}
	}
	if stored == nil || stored.Notice.Template == 0 {
		t.Fatalf("no notice rendered from its facts in the log: %+v", stored)
	}
	evs, err := s.SubjectEvents(ctx, r.Subject)
	if err != nil {
		t.Fatal(err)
	}
	var n *credo.Notice
	for i := range evs {
		if evs[i].Notice != nil {
			n = evs[i].Notice
		}
	}
	if n == nil {
		t.Fatal("the notice does not open")
	}
	text, err := reg.NoticeText(n)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.EN, r.CaseRef) || text.ZH == "" {
		t.Fatalf("the notice's texts read back do not name case %s: %q / %q", r.CaseRef, text.EN, text.ZH)
	}
	if len(stored.Sealed) >= len(text.EN) {
		t.Errorf("the notice's seal is %d bytes, its English text %d: the texts are sealed, not rendered again from the facts", len(stored.Sealed), len(text.EN))
	}
	if strings.Contains(string(stored.Sealed), r.CaseRef) || stored.Notice.CaseRef == r.CaseRef {
		t.Error("the stored notice holds the case reference in clear")
	}
	// The digests of the texts sent are sealed too: in clear they would
	// confirm a guess of the whole text (name, case) to whoever holds the
	// file, erased or not. Opened, the notice has them, and they match.
	if stored.Notice.TextSHA256 != (credo.NoticeText{}) {
		t.Errorf("the stored notice holds the digests of its texts in clear: %+v", stored.Notice.TextSHA256)
	}
	if n.TextSHA256.EN != credo.HashBytes([]byte(text.EN)) || n.TextSHA256.ZH != credo.HashBytes([]byte(text.ZH)) {
		t.Errorf("the opened notice's digests %+v are not those of its texts", n.TextSHA256)
	}
}
