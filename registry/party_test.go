package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/registry"
	"credo/sqlite"
	"credo/storetest"
)

// partyEnv is the due-process env whose flight ban extends to a
// company's legal representative and exempts private purposes.
func partyEnv(t *testing.T) *dueEnv {
	t.Helper()
	c := &clock{at(2026, 3, 1, 9, 0)}
	st, err := sqlite.OpenOptions(filepath.Join(t.TempDir(), "party.db"), sqlite.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	reg, err := registry.Open(ctx, st, registry.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/dueprocess.yaml")
	if err != nil {
		t.Fatal(err)
	}
	old := `legal_basis: SPC 2015 art 3(1)}`
	if !strings.Contains(string(src), old) {
		t.Fatal("test policy changed: no flight ban")
	}
	src = []byte(strings.Replace(string(src), old, `legal_basis: SPC 2015 art 3(1), extends_to: [legal_representative], exempt_private: true}`, 1))
	if _, _, err := reg.Publish(ctx, "party.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return &dueEnv{t: t, ctx: ctx, c: c, reg: reg, st: st}
}

func link(org, p string) credo.Link {
	return credo.Link{Org: org, Person: p, Role: credo.RoleLegalRepresentative, Authority: "court.test",
		LegalBasis: "Company Law art 10", From: at(2025, 1, 1, 0, 0)}
}

// TestG06PartyNoticeAndObjection: a legal representative whom a company's
// listing reaches gets a notice of their own, is denied with the
// private-purposes exemption in the reason, and may object to the record.
func TestG06PartyNoticeAndObjection(t *testing.T) {
	e := partyEnv(t)
	org, rep, other := storetest.USCC(1), person(1), person(2)
	if _, _, err := e.reg.AddLink(e.ctx, link(org, rep), registry.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	rec := e.file(org, "JUDGMENT_DEFAULT", at(2026, 2, 1, 9, 0))
	e.check(rep, "aviation", "deny")
	d, err := e.reg.Check(e.ctx, rep, "aviation")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Reasons) != 1 || !d.Reasons[0].ExemptPrivate || !strings.Contains(d.Reasons[0].Note, "private purposes") {
		t.Errorf("reasons %+v: want the private-purposes exemption", d.Reasons)
	}

	ns, err := e.reg.PartyNotices(e.ctx, rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 {
		t.Fatalf("party notices of the representative: %d, want 1", len(ns))
	}
	n := ns[0]
	if n.RecordID != rec.ID || n.Subject != rep || n.Party == nil || n.Party.Org != org || n.Party.Role != credo.RoleLegalRepresentative {
		t.Errorf("party notice %+v", n)
	}
	if n.LegalBasis == "" || n.Lasts.IsZero() || n.HowToObject == "" || len(n.Party.Measures) != 1 || !n.Party.Measures[0].ExemptPrivate {
		t.Errorf("party notice lacks what, why, until when or how to contest: %+v", n)
	}
	for _, want := range []string{"legal representative", "flight-ban", "object", "private purposes"} {
		if !strings.Contains(n.Text.EN, want) {
			t.Errorf("notice text lacks %q: %s", want, n.Text.EN)
		}
	}
	if ns, _ := e.reg.PartyNotices(e.ctx, other); len(ns) != 0 {
		t.Errorf("an unlinked person has party notices: %+v", ns)
	}
	if ok, _ := e.reg.IsParty(e.ctx, rec.ID, rep); !ok {
		t.Error("the representative is not a party to the record")
	}
	if ok, _ := e.reg.IsParty(e.ctx, rec.ID, other); ok {
		t.Error("an unlinked person is a party to the record")
	}
}

// TestG07Links: links are added and ended with validation, the same link
// again appends nothing, and ending it ends the measures that reached the
// person through it.
func TestG07Links(t *testing.T) {
	e := partyEnv(t)
	org, rep := storetest.USCC(1), person(1)
	e.file(org, "JUDGMENT_DEFAULT", at(2026, 2, 1, 9, 0))
	bad := map[string]func(l *credo.Link){
		"org":         func(l *credo.Link) { l.Org = person(3) },
		"person":      func(l *credo.Link) { l.Person = org },
		"role":        func(l *credo.Link) { l.Role = "chairman" },
		"authority":   func(l *credo.Link) { l.Authority = "nobody" },
		"legal_basis": func(l *credo.Link) { l.LegalBasis = " " },
		"from":        func(l *credo.Link) { l.From = at(2027, 1, 1, 0, 0) },
	}
	for field, spoil := range bad {
		l := link(org, rep)
		spoil(&l)
		_, _, err := e.reg.AddLink(e.ctx, l, registry.ActorAdmin)
		refused(t, err, credo.EINVALID, field)
	}
	_, _, err := e.reg.AddLink(e.ctx, link(org, rep), "env.test")
	refused(t, err, credo.EFORBIDDEN, "authority")

	if _, created, err := e.reg.AddLink(e.ctx, link(org, rep), "court.test"); err != nil || !created {
		t.Fatalf("add: created %v, %v", created, err)
	}
	head, _, _ := e.st.Head(e.ctx)
	if _, created, err := e.reg.AddLink(e.ctx, link(org, rep), "court.test"); err != nil || created {
		t.Fatalf("the same link again: created %v, %v", created, err)
	}
	if h, _, _ := e.st.Head(e.ctx); h != head {
		t.Errorf("the same link again appended %d events", h-head)
	}
	l2 := link(org, rep)
	l2.From = at(2025, 6, 1, 0, 0)
	_, _, err = e.reg.AddLink(e.ctx, l2, "court.test")
	refused(t, err, credo.ECONFLICT, "person")
	e.check(rep, "aviation", "deny")

	end := link(org, rep)
	end.Until = at(2027, 1, 1, 0, 0)
	_, err = e.reg.EndLink(e.ctx, end, "court.test")
	refused(t, err, credo.EINVALID, "until")
	end.Until = at(2026, 2, 20, 0, 0)
	if _, err := e.reg.EndLink(e.ctx, end, "court.test"); err != nil {
		t.Fatal(err)
	}
	e.check(rep, "aviation", "allow")
	_, err = e.reg.EndLink(e.ctx, end, "court.test")
	refused(t, err, credo.ENOTFOUND, "person")
	ls, err := e.reg.Links(e.ctx, org)
	if err != nil || len(ls) != 1 || ls[0].Authority != "court.test" || ls[0].LegalBasis == "" || !ls[0].Until.Equal(end.Until) {
		t.Errorf("links %+v, %v", ls, err)
	}
}

// TestG07DecidedOn: a decision taken on paper is recorded at its date,
// bounded by now and by the opening of the dispute or application.
func TestG07DecidedOn(t *testing.T) {
	e := newDueEnv(t)
	rec := e.file(person(1), "JUDGMENT_DEFAULT", at(2026, 2, 1, 9, 0))
	e.set(at(2026, 3, 2, 10, 0))
	d, err := e.reg.OpenDispute(e.ctx, rec.ID, "paid", "", false, false, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	e.set(at(2026, 3, 20, 10, 0))
	_, err = e.reg.DecideDisputeOn(e.ctx, d.ID, credo.OutcomeUpheld, "stands", "court.test", at(2026, 3, 1, 10, 0))
	refused(t, err, credo.EINVALID, "decided_at", "before")
	_, err = e.reg.DecideDisputeOn(e.ctx, d.ID, credo.OutcomeUpheld, "stands", "court.test", at(2026, 3, 25, 10, 0))
	refused(t, err, credo.EINVALID, "decided_at", "future")
	on := at(2026, 3, 10, 15, 0)
	c, err := e.reg.DecideDisputeOn(e.ctx, d.ID, credo.OutcomeUpheld, "stands", "court.test", on)
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "decided", c.DecidedAt, on)
	stored, err := e.reg.Dispute(e.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "stored decision", stored.DecidedAt, on)
	if stored.DecidedLate {
		t.Error("decided on paper within the deadline, yet late")
	}
}
