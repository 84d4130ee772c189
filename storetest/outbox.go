package storetest

import (
	"testing"
	"time"

	"credo"
)

// NoticeStore is a store that can find the records whose notice was never
// issued.
type NoticeStore interface {
	credo.Store
	credo.NoticeStore
}

// OutboxStore is a store that queues webhook deliveries with the events
// they are owed for.
type OutboxStore interface {
	credo.Store
	credo.Outbox
}

// RunNotices checks the notice projection: records without a notice, the
// sweep cursor, and the notices the store refuses. open must return a new,
// empty store, closed at cleanup.
func RunNotices(t *testing.T, open func(t *testing.T) NoticeStore) {
	t.Run("NoticeProjection", func(t *testing.T) {
		s := open(t)
		testNoticeProjection(t, s)
		verifiesProjections(t, s)
	})
}

// RunOutbox checks that webhook deliveries are queued in the transaction
// of the event they are owed for, and leased to the workers that claim
// them. open must return a new, empty store, closed at cleanup.
func RunOutbox(t *testing.T, open func(t *testing.T) OutboxStore) {
	t.Run("QueuedWithTheEvent", func(t *testing.T) { testOutboxQueuedWithTheEvent(t, open(t)) })
}

func noticeOf(r *credo.Record) *credo.Event {
	return &credo.Event{Type: credo.EventNoticeIssued, Notice: &credo.Notice{RecordID: r.ID, Rule: r.Rule, Text: credo.NoticeText{EN: "notice", ZH: "告知"}}}
}

func addHook(t *testing.T, db credo.Outbox, events ...credo.EventType) *credo.Webhook {
	t.Helper()
	wh := &credo.Webhook{URL: "https://receiver.example/hook", Events: events}
	if err := db.AddWebhook(ctx, wh); err != nil {
		t.Fatal(err)
	}
	return wh
}

func testNoticeProjection(t *testing.T, db NoticeStore) {
	res := fileN(t, db, 0, 5)
	out, err := db.Append(ctx, []*credo.Event{noticeOf(res[1].Record), noticeOf(res[3].Record)})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Subject != res[1].Record.Subject || out[0].Notice.Subject != res[1].Record.Subject {
		t.Errorf("subject not filled in from the record: %+v", out[0])
	}

	t.Run("records without notice", func(t *testing.T) {
		recs, examined, err := db.RecordsWithoutNotice(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 || recs[0].ID != res[0].Record.ID || recs[1].ID != res[2].Record.ID || recs[2].ID != res[4].Record.ID {
			t.Errorf("records %v", recs)
		}
		if examined != res[4].Record.ID {
			t.Errorf("examined %d, want %d", examined, res[4].Record.ID)
		}
		recs, examined, err = db.RecordsWithoutNotice(ctx, 0, 2)
		if err != nil || len(recs) != 2 || examined != res[2].Record.ID {
			t.Errorf("a page of 2: %v through %d (%v)", recs, examined, err)
		}
		recs, examined, err = db.RecordsWithoutNotice(ctx, res[2].Record.ID, 2)
		if err != nil || len(recs) != 1 || recs[0].ID != res[4].Record.ID || examined != res[4].Record.ID {
			t.Errorf("the next page: %v through %d (%v)", recs, examined, err)
		}
	})

	t.Run("the sweep cursor only moves forward", func(t *testing.T) {
		if c, err := db.NoticeSweepCursor(ctx); err != nil || c != 0 {
			t.Fatalf("cursor %d, %v", c, err)
		}
		for _, set := range []int64{5, 3} {
			if err := db.SetNoticeSweepCursor(ctx, set); err != nil {
				t.Fatal(err)
			}
		}
		if c, _ := db.NoticeSweepCursor(ctx); c != 5 {
			t.Errorf("cursor %d, want 5", c)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		_, err := db.Append(ctx, []*credo.Event{{Type: credo.EventNoticeIssued, Notice: &credo.Notice{RecordID: 999}}})
		if credo.ErrorCode(err) != credo.ENOTFOUND {
			t.Errorf("err %v, want not found", err)
		}
		_, err = db.Append(ctx, []*credo.Event{{Type: credo.EventConsentGiven, Subject: "s", Consent: &credo.Consent{Scheme: "x"}, Notice: &credo.Notice{RecordID: 1}}})
		if credo.ErrorCode(err) != credo.EINVALID {
			t.Errorf("a notice on a consent event: %v", err)
		}
	})
}

func testOutboxQueuedWithTheEvent(t *testing.T, db OutboxStore) {
	res := fileN(t, db, 0, 3)
	before := noticeOf(res[0].Record)
	if _, err := db.Append(ctx, []*credo.Event{before}); err != nil {
		t.Fatal(err)
	}
	notices := addHook(t, db)
	consents := addHook(t, db, credo.EventConsentGiven)

	t.Run("an event appended before the webhook is not queued for it", func(t *testing.T) {
		if ds, _ := db.Deliveries(ctx, "", 10); len(ds) != 0 {
			t.Errorf("%d deliveries", len(ds))
		}
	})
	out, err := db.Append(ctx, []*credo.Event{noticeOf(res[1].Record),
		{Type: credo.EventConsentGiven, Subject: res[1].Record.Subject, Consent: &credo.Consent{Scheme: "green", Given: true}}})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := db.Deliveries(ctx, credo.DeliveryPending, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[1].EventSeq != out[0].Seq || ds[1].WebhookID != notices.ID || ds[0].EventSeq != out[1].Seq || ds[0].WebhookID != consents.ID {
		t.Fatalf("deliveries %+v", ds)
	}

	t.Run("a failed append queues nothing", func(t *testing.T) {
		_, err := db.Append(ctx, []*credo.Event{noticeOf(res[2].Record), {Type: credo.EventNoticeIssued, Notice: &credo.Notice{RecordID: 999}}})
		if err == nil {
			t.Fatal("appended a notice of a record that does not exist")
		}
		if ds, _ := db.Deliveries(ctx, "", 10); len(ds) != 2 {
			t.Errorf("%d deliveries, want 2", len(ds))
		}
	})

	t.Run("claims are leased", func(t *testing.T) {
		now := time.Now()
		got, err := db.ClaimDeliveries(ctx, now, time.Minute, 10)
		if err != nil || len(got) != 2 {
			t.Fatalf("claimed %d, %v", len(got), err)
		}
		if got[0].Secret != notices.Secret || len(got[0].Body) == 0 || got[0].URL != notices.URL {
			t.Errorf("claimed %+v", got[0])
		}
		if again, _ := db.ClaimDeliveries(ctx, now.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
			t.Errorf("claimed %d under lease", len(again))
		}
		// The worker died: after the lease, they are due again.
		again, err := db.ClaimDeliveries(ctx, now.Add(2*time.Minute), time.Minute, 10)
		if err != nil || len(again) != 2 || again[0].Attempts != 0 {
			t.Errorf("after the lease: %d, %v", len(again), err)
		}
		ok, err := db.DeliverySucceeded(ctx, got[0].ID, 1, now)
		if err != nil || !ok {
			t.Fatalf("DeliverySucceeded = %v, %v", ok, err)
		}
		if ok, _ := db.DeliverySucceeded(ctx, got[0].ID, 2, now); ok {
			t.Error("a delivery was marked delivered twice")
		}
		if p, d, err := db.OutboxCounts(ctx); p != 1 || d != 0 || err != nil {
			t.Errorf("counts %d pending, %d dead, %v", p, d, err)
		}
	})
}
