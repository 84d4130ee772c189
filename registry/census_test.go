package registry_test

import (
	"context"
	"testing"
	"time"

	"credo"
	"credo/registry"
)

func TestCensus(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	if _, err := reg.FileRecord(ctx, judgment(adult, "(2026)J1", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	cc := registry.NewCensusCache(reg, registry.CensusOptions{TTL: time.Minute, Points: 3})
	cs, err := cc.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Subjects != 1 || len(cs.Instants) != 3 || !cs.At.Equal(c.t) || !cs.Instants[2].Equal(c.t) {
		t.Fatalf("subjects %d, instants %v, at %v", cs.Subjects, cs.Instants, cs.At)
	}
	// Filed on 1 May: on the list now and a month ago, not two months ago.
	if got := cs.Sizes["debtors"]; len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 1 || cs.Size("debtors") != 1 {
		t.Errorf("debtors sizes %v", got)
	}
	es := cs.Entries["debtors"]
	if len(es) != 1 || es[0].ID.Canonical != adult || es[0].CaseRef != "(2026)J1" || es[0].Conduct == "" {
		t.Errorf("entries %+v", es)
	}
	if n := cs.Filed[c.t.Format("2006-01-02")]; n != 1 {
		t.Errorf("filed today: %d (%v)", n, cs.Filed)
	}

	// Within the TTL the same census is answered; a new record shows once
	// it is older than the TTL (rebuilt while the caller waits).
	if _, err := reg.FileRecord(ctx, judgment(org, "(2026)J2", time.Date(2026, 5, 20, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(30 * time.Second)
	if again, _ := cc.Get(ctx); again != cs {
		t.Error("a census younger than the TTL was rebuilt")
	}
	c.t = c.t.Add(time.Minute)
	cs2, err := cc.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cs2.Subjects != 2 || cs2.Size("debtors") != 2 {
		t.Errorf("after the TTL: %d subjects, %d listed", cs2.Subjects, cs2.Size("debtors"))
	}
}

func TestCensusWarmAndStale(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	cc := registry.NewCensusCache(reg, registry.CensusOptions{TTL: time.Minute, ServeStale: true})
	cc.WarmUp()
	cs, err := cc.Get(ctx) // waits for the warm-up
	if err != nil {
		t.Fatal(err)
	}
	if cs.Subjects != 0 {
		t.Fatalf("%d subjects in an empty registry", cs.Subjects)
	}
	// A record filed later shows once a background rebuild has run;
	// meanwhile the old census is served, not waited for.
	if _, err := reg.FileRecord(ctx, judgment(adult, "(2026)J1", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(2 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for first := true; ; first = false {
		got, err := cc.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if first && got != cs {
			t.Fatal("a stale census was rebuilt while the caller waited")
		}
		if got.Subjects == 1 && len(got.Entries["debtors"]) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the census never caught up: %d subjects", got.Subjects)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCensusCountsLinkedPersons: the census sees subjects as the decision
// table does, so a legal representative with no record of their own (only
// the link that names them) is a subject of the census, like a table entry.
func TestCensusCountsLinkedPersons(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	if _, err := reg.Append(ctx, &credo.Event{Type: credo.EventLinkAdded, Subject: org, Actor: "admin",
		Link: &credo.Link{Org: org, Person: adult, Role: credo.RoleLegalRepresentative, From: time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.FileRecord(ctx, judgment(org, "(2026)L1", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	cs, err := registry.NewCensusCache(reg, registry.CensusOptions{TTL: time.Minute}).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := reg.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Subjects != 2 || cs.Subjects != tb.Len() {
		t.Errorf("census subjects %d, table entries %d; want 2 (the company and its representative)", cs.Subjects, tb.Len())
	}
	if cs.Size("debtors") != 1 || cs.Entries["debtors"][0].ID.Canonical != org {
		t.Errorf("debtors: %d listed, entries %+v; want the company only", cs.Size("debtors"), cs.Entries["debtors"])
	}
}
