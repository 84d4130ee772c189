package registry_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/registry"
	"credo/sqlite"
)

// noticePolicy is the test policy with a 10-day notice period on the
// debtors list.
func noticePolicy(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(src), "notice: 0d", "notice: 10d", 1)
	if s == string(src) {
		t.Fatal("the test policy no longer has a debtors notice period to change")
	}
	return []byte(s)
}

// openNoticeStore opens a store and a registry over it with the notice
// policy published.
func openNoticeStore(t *testing.T, c *clock, path string) (*sqlite.DB, *registry.Registry) {
	t.Helper()
	st, err := sqlite.OpenOptions(path, sqlite.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := registry.Open(context.Background(), st, registry.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return st, reg
}

func noticesOf(t *testing.T, reg *registry.Registry, subject string) []credo.Event {
	t.Helper()
	ns, err := reg.Notices(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestNoticeIssuedOnFiling(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	ctx := context.Background()
	_, reg := openNoticeStore(t, c, filepath.Join(t.TempDir(), "n.db"))
	if _, _, err := reg.Publish(ctx, "policy.yaml", noticePolicy(t), time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	decided := time.Date(2026, 5, 20, 0, 0, 0, 0, shanghai)
	res, err := reg.FileRecord(ctx, judgment(adult, "(2026)N1", decided))
	if err != nil {
		t.Fatal(err)
	}
	ns := noticesOf(t, reg, adult)
	if len(ns) != 1 {
		t.Fatalf("%d notices, want 1", len(ns))
	}
	ev := ns[0]
	n := ev.Notice
	if ev.Seq != res.Record.ID+1 {
		t.Errorf("notice event %d, want %d: right after the record", ev.Seq, res.Record.ID+1)
	}
	// Filed 2026-06-01 09:00 (Shanghai); the 10-day notice period runs
	// from then: the listing takes effect on 2026-06-11 at 09:00.
	wantFrom := time.Date(2026, 6, 11, 9, 0, 0, 0, shanghai)
	if !n.EffectiveFrom.Equal(wantFrom) {
		t.Errorf("effective from %v, want %v", n.EffectiveFrom, wantFrom)
	}
	if len(n.Lists) != 1 || n.Lists[0].List != "debtors" || !n.Lists[0].From.Equal(wantFrom) || !n.Lists[0].UntilFulfilled {
		t.Fatalf("lists %+v", n.Lists)
	}
	// until_fulfilled, at most 5 years from the decision; lifetime 5 years.
	wantUntil := time.Date(2031, 5, 20, 0, 0, 0, 0, shanghai)
	if !n.Lists[0].Until.Equal(wantUntil) || !n.Lasts.Equal(wantUntil) || !n.ObjectUntil.Equal(wantUntil) {
		t.Errorf("until %v lasts %v object until %v, want %v", n.Lists[0].Until, n.Lasts, n.ObjectUntil, wantUntil)
	}
	if len(n.Points) != 1 || n.Points[0].Scheme != "civic" || n.Points[0].Points != -30 {
		t.Errorf("points %+v", n.Points)
	}
	for _, c := range []struct{ name, got, want string }{
		{"record subject", n.Subject, adult},
		{"rule", n.Rule, "JUDGMENT_DEFAULT"},
		{"authority", n.Authority.ID + "/" + n.Authority.Name, "court.test/Test People's Court"},
		{"legal basis", n.LegalBasis, "SPC Provisions (2017) art 1(1)"},
		{"review within", n.ReviewWithin, "15d"},
		{"appeal to", n.AppealTo, "Test Intermediate Court (court.appeal)"},
		{"appeal within", n.AppealWithin, "10d"},
	} {
		if c.got != c.want {
			t.Errorf("%s %q, want %q", c.name, c.got, c.want)
		}
	}
	if !n.RepairFrom.Equal(time.Date(2027, 5, 20, 0, 0, 0, 0, shanghai)) {
		t.Errorf("repair from %v", n.RepairFrom)
	}
	for _, want := range []string{"from 2026-06-11", "at the latest until 2031-05-20", "Test People's Court", "within 15 days"} {
		if !strings.Contains(n.Text.EN, want) {
			t.Errorf("English text lacks %q: %s", want, n.Text.EN)
		}
	}
	for _, want := range []string{"自2026-06-11起", "黑名单", "15日"} {
		if !strings.Contains(n.Text.ZH, want) {
			t.Errorf("Chinese text lacks %q: %s", want, n.Text.ZH)
		}
	}

	t.Run("the engine lists exactly from then", func(t *testing.T) {
		for _, tc := range []struct {
			at     time.Time
			listed bool
		}{{wantFrom.Add(-time.Second), false}, {wantFrom, true}} {
			st, err := reg.State(ctx, adult, tc.at, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Listing("debtors") != nil; got != tc.listed {
				t.Errorf("at %v listed %v, want %v", tc.at, got, tc.listed)
			}
		}
	})

	t.Run("re-filing the identical record issues none", func(t *testing.T) {
		head, _, _ := reg.Store().Head(ctx)
		again, err := reg.FileRecord(ctx, judgment(adult, "(2026)N1", decided))
		if err != nil || again.Created {
			t.Fatalf("re-file: created %v, err %v", again.Created, err)
		}
		if ns := noticesOf(t, reg, adult); len(ns) != 1 {
			t.Errorf("%d notices after re-filing, want 1", len(ns))
		}
		if h, _, _ := reg.Store().Head(ctx); h != head {
			t.Errorf("head moved from %d to %d", head, h)
		}
	})

	t.Run("the store never keeps two notices for one record", func(t *testing.T) {
		dup := *n
		dup.Text.EN = "a second notice"
		out, err := reg.Store().Append(ctx, []*credo.Event{{Type: credo.EventNoticeIssued, Notice: &dup}})
		if err != nil {
			t.Fatal(err)
		}
		if out[0].Seq != ev.Seq || out[0].Notice.Text.EN == "a second notice" {
			t.Errorf("second notice appended as %d, want the first (%d) returned", out[0].Seq, ev.Seq)
		}
		if ns := noticesOf(t, reg, adult); len(ns) != 1 {
			t.Errorf("%d notices, want 1", len(ns))
		}
	})

	t.Run("notice served earlier by the authority", func(t *testing.T) {
		r := judgment(bob, "(2026)N2", decided)
		r.NotifiedAt = time.Date(2026, 5, 25, 15, 0, 0, 0, shanghai)
		if _, err := reg.FileRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		ns := noticesOf(t, reg, bob)
		if len(ns) != 1 {
			t.Fatalf("%d notices", len(ns))
		}
		if want := time.Date(2026, 6, 4, 15, 0, 0, 0, shanghai); !ns[0].Notice.EffectiveFrom.Equal(want) || !ns[0].Notice.ServedAt.Equal(r.NotifiedAt) {
			t.Errorf("effective from %v (served %v), want %v", ns[0].Notice.EffectiveFrom, ns[0].Notice.ServedAt, want)
		}
	})

	t.Run("points only: effective from the decision", func(t *testing.T) {
		r := &credo.Record{Subject: carol, Rule: "LATE_UTILITY", Authority: "utility.water", CaseRef: "W-1",
			DecidedAt: decided, Quantity: 3, EvidenceSHA256: evidence}
		if _, err := reg.FileRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		ns := noticesOf(t, reg, carol)
		if len(ns) != 1 {
			t.Fatalf("%d notices", len(ns))
		}
		n := ns[0].Notice
		if !n.EffectiveFrom.Equal(decided) || len(n.Lists) != 0 || len(n.Points) != 1 || n.Points[0].Points != -15 || !n.Points[0].Capped {
			t.Errorf("notice %+v", n)
		}
		if want := time.Date(2027, 5, 20, 0, 0, 0, 0, shanghai); !n.Lasts.Equal(want) {
			t.Errorf("lasts %v, want %v", n.Lasts, want)
		}
	})

	t.Run("a minor is told they are not listed", func(t *testing.T) {
		if _, err := reg.FileRecord(ctx, judgment(minor, "(2026)N3", decided)); err != nil {
			t.Fatal(err)
		}
		ns := noticesOf(t, reg, minor)
		if len(ns) != 1 || !ns[0].Notice.Minor || len(ns[0].Notice.Lists) != 0 {
			t.Fatalf("notices %+v", ns)
		}
	})
}

var (
	bob   = ric("11010519800101003")
	carol = ric("11010519800101004")
)

// failingNotices is a store whose notice appends fail: the process
// "crashes" between filing a record and issuing its notice.
type failingNotices struct{ credo.RegistryStore }

func (f failingNotices) Append(ctx context.Context, evs []*credo.Event) ([]*credo.Event, error) {
	for _, ev := range evs {
		if ev.Type == credo.EventNoticeIssued {
			return nil, errors.New("simulated crash")
		}
	}
	return f.RegistryStore.Append(ctx, evs)
}

func TestNoticeSweeper(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st, reg := openNoticeStore(t, c, path)
	if _, _, err := reg.Publish(ctx, "policy.yaml", noticePolicy(t), time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	decided := time.Date(2026, 5, 20, 0, 0, 0, 0, shanghai)

	// One record filed through the store directly, bypassing the
	// registry; one through a registry whose notice append fails.
	direct, err := st.FileRecords(ctx, []*credo.Record{judgment(adult, "(2026)S1", decided)})
	if err != nil {
		t.Fatal(err)
	}
	broken, err := registry.Open(ctx, failingNotices{st}, registry.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	viaBroken, err := broken.FileRecord(ctx, judgment(bob, "(2026)S2", decided))
	if err != nil {
		t.Fatalf("filing must not fail when its notice does: %v", err)
	}
	if len(noticesOf(t, reg, adult))+len(noticesOf(t, reg, bob)) != 0 {
		t.Fatal("notices issued despite the crash")
	}
	if viaBroken.Record.ID != direct[0].Record.ID+1 {
		t.Fatalf("record ids %d, %d", direct[0].Record.ID, viaBroken.Record.ID)
	}

	// Later: the process restarts.
	c.t = c.t.Add(2 * time.Hour)
	st.Close()
	_, reg2 := openNoticeStore(t, c, path)
	for _, tc := range []struct {
		subject string
		rec     *credo.Record
	}{{adult, direct[0].Record}, {bob, viaBroken.Record}} {
		ns := noticesOf(t, reg2, tc.subject)
		if len(ns) != 1 {
			t.Fatalf("%s: %d notices after reopening, want 1", tc.subject, len(ns))
		}
		n := ns[0].Notice
		if n.RecordID != tc.rec.ID {
			t.Errorf("notice of record %d, want %d", n.RecordID, tc.rec.ID)
		}
		// The notice period runs from the filing, as the engine applies it.
		if want := engine.NoticeServed(tc.rec).In(shanghai).AddDate(0, 0, 10); !n.EffectiveFrom.Equal(want) {
			t.Errorf("effective from %v, want %v", n.EffectiveFrom, want)
		}
		if !ns[0].Recorded.Equal(c.t) {
			t.Errorf("issued %v, want at the restart %v", ns[0].Recorded, c.t)
		}
	}

	t.Run("a second sweep issues nothing", func(t *testing.T) {
		n, err := reg2.SweepNotices(ctx)
		if err != nil || n != 0 {
			t.Errorf("swept %d (%v), want 0", n, err)
		}
		for _, s := range []string{adult, bob} {
			if ns := noticesOf(t, reg2, s); len(ns) != 1 {
				t.Errorf("%s: %d notices, want 1", s, len(ns))
			}
		}
	})

	t.Run("records without effect are passed over", func(t *testing.T) {
		src := strings.Replace(string(noticePolicy(t)), "    points: {civic: {per_unit: -5, unit: month, cap: 60, per: 1y}}\n", "", 1)
		if _, _, err := reg2.Publish(ctx, "v2.yaml", []byte(src), c.t.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		r := &credo.Record{Subject: carol, Rule: "LATE_UTILITY", Authority: "utility.water", CaseRef: "W-2",
			DecidedAt: decided, EvidenceSHA256: evidence}
		if _, err := reg2.FileRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		if ns := noticesOf(t, reg2, carol); len(ns) != 0 {
			t.Errorf("%d notices of a record without effect", len(ns))
		}
		if n, err := reg2.SweepNotices(ctx); err != nil || n != 0 {
			t.Errorf("swept %d (%v), want 0", n, err)
		}
	})
}

// TestNoticesIssuedThrough: after a load whose every notice this registry
// issued, the sweeper's cursor is moved to the load's end, so the next
// sweep examines nothing again; after a notice that could not be appended,
// it is not, and the sweep issues that notice.
func TestNoticesIssuedThrough(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	ctx := context.Background()
	st, reg := openNoticeStore(t, c, filepath.Join(t.TempDir(), "s.db"))
	if _, _, err := reg.Publish(ctx, "policy.yaml", noticePolicy(t), time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	decided := time.Date(2026, 5, 20, 0, 0, 0, 0, shanghai)
	res, err := reg.FileRecord(ctx, judgment(adult, "(2026)T1", decided))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := reg.NoticesIssuedThrough(ctx, res.Record.ID); err != nil || !ok {
		t.Fatalf("NoticesIssuedThrough = %v, %v; want true", ok, err)
	}
	if cur, err := st.NoticeSweepCursor(ctx); err != nil || cur != res.Record.ID {
		t.Fatalf("cursor %d (%v), want %d", cur, err, res.Record.ID)
	}
	if len(noticesOf(t, reg, adult)) != 1 {
		t.Fatal("the filing issued no notice")
	}

	// A registry whose notice append fails does not move the cursor.
	broken, err := registry.Open(ctx, failingNotices{st}, registry.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	res2, err := broken.FileRecord(ctx, judgment(bob, "(2026)T2", decided))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := broken.NoticesIssuedThrough(ctx, res2.Record.ID); err != nil || ok {
		t.Fatalf("NoticesIssuedThrough after a failed notice = %v, %v; want false", ok, err)
	}
	if cur, err := st.NoticeSweepCursor(ctx); err != nil || cur != res.Record.ID {
		t.Fatalf("cursor moved to %d (%v) past a record whose notice failed", cur, err)
	}
	if n, err := reg.SweepNotices(ctx); err != nil || n != 1 {
		t.Fatalf("swept %d (%v), want the 1 missing notice", n, err)
	}
}
