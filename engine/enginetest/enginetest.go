// Package enginetest generates, for tests, a synthetic city as the
// engine sees it, with what the engine's rules can disagree on: the engine's
// own tests and the registry's census tests use it.
package enginetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/policy"
	"credo/synth"
)

// City is a synthetic city as the engine sees it: every subject's facts
// (a person's with the facts of the organisations it is linked to).
type City struct {
	End      time.Time
	Subjects []string
	Facts    map[string]*engine.Facts
	Records  int
}

// CityFacts generates a city with synth and adds, deterministically, what
// synth does not file: revocations (some void), fulfilments, approved
// repairs, objections (open, decided each way, appeals, new information),
// consents given and withdrawn, conduct decided while a person was a
// minor, and links to organisations (some ended). Each event is recorded
// when it happens, so that an earlier "known" sees less.
func CityFacts(tb testing.TB, pol *policy.Policy, people, orgs int) *City {
	tb.Helper()
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, pol.Calendar.Loc)
	city, err := synth.New(synth.Config{Policy: pol, People: people, Orgs: orgs, Years: 5, End: end, Seed: 19})
	if err != nil {
		tb.Fatal(err)
	}
	c := &City{End: end, Facts: map[string]*engine.Facts{}}
	g := &gen{end: end, events: map[string][]credo.Event{}}
	var firstRule = map[string]credo.Record{}
	if err := city.Records(func(r *credo.Record) error {
		c.Records++
		g.fileRec(*r)
		if _, ok := firstRule[r.Subject]; !ok {
			firstRule[r.Subject] = *r
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < people; i++ {
		s := city.Person(i)
		c.Subjects = append(c.Subjects, s)
		id, err := ident.Parse(s)
		if err != nil {
			tb.Fatal(err)
		}
		g.person(i, s, id, firstRule)
	}
	for i := 0; i < people; i += 30 {
		g.heavyOffender(pol, i, city.Person(i))
	}
	if err := g.links(city); err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < orgs; i++ {
		c.Subjects = append(c.Subjects, city.Org(i))
	}
	for _, s := range c.Subjects {
		id, err := ident.Parse(s)
		if err != nil {
			tb.Fatal(err)
		}
		c.Facts[s] = &engine.Facts{ID: id, Events: g.events[s]}
	}
	for _, s := range c.Subjects {
		c.linkOrgs(s)
	}
	return c
}

const day = 24 * time.Hour

// gen is the events of a city being generated, by subject.
type gen struct {
	end    time.Time
	events map[string][]credo.Event
	seq    int64
}

// add appends an event of a subject and returns its sequence number.
func (g *gen) add(subject string, ev credo.Event) int64 {
	g.seq++
	ev.Seq, ev.Subject = g.seq, subject
	g.events[subject] = append(g.events[subject], ev)
	return g.seq
}

// fileRec files a record and, by its sequence number, changes and
// objections to it.
func (g *gen) fileRec(r credo.Record) {
	id := g.add(r.Subject, credo.Event{Type: credo.EventRecordFiled, Recorded: r.DecidedAt})
	r.ID, r.FiledAt = id, r.DecidedAt
	evs := g.events[r.Subject]
	evs[len(evs)-1].Record = &r
	k := id
	change := func(typ credo.EventType, at time.Time, void bool) {
		g.add(r.Subject, credo.Event{Type: typ, Recorded: at, Change: &credo.RecordChange{RecordID: id, At: at, VoidAbInitio: void}})
	}
	if k%13 == 0 {
		change(credo.EventRecordRevoked, r.DecidedAt.Add(30*day), k%26 == 0)
	}
	if k%7 == 0 {
		change(credo.EventRecordFulfilled, r.DecidedAt.Add(60*day), false)
	}
	if k%17 == 0 {
		change(credo.EventRepairApproved, r.DecidedAt.Add(400*day), false)
	}
	if k%5 == 0 || k%9 == 0 {
		g.dispute(&r)
	}
}

// dispute opens an objection to a record and, for some, decides it.
func (g *gen) dispute(r *credo.Record) {
	k, id := r.ID, r.ID
	opened := r.DecidedAt.Add(time.Duration(5+k%40) * day)
	if k%45 == 0 {
		opened = g.end.Add(-time.Duration(k%20) * day) // open near the end: under objection now
	}
	d := &credo.Dispute{RecordID: id, OpenedAt: opened, Appeal: k%4 == 0, NewInformation: k%3 == 0, Grounds: "test"}
	d.ID = g.add(r.Subject, credo.Event{Type: credo.EventDisputeOpened, Recorded: opened, Dispute: d})
	if k%2 == 0 { // decided (some after the deadline); the others stay open
		at := opened.Add(time.Duration(10+k%90) * day)
		outcome := credo.OutcomeUpheld
		switch k % 6 {
		case 2:
			outcome = credo.OutcomeRevoked
		case 4:
			outcome = credo.OutcomeCorrected
		}
		g.add(r.Subject, credo.Event{Type: credo.EventDisputeDecided, Recorded: at,
			Decision: &credo.DisputeDecision{DisputeID: d.ID, RecordID: id, At: at, Outcome: outcome}})
	}
}

// person adds the i-th person's consents and conduct while a minor.
func (g *gen) person(i int, s string, id ident.ID, firstRule map[string]credo.Record) {
	start := g.end.AddDate(-5, 0, 0)
	if i%3 == 0 {
		g.add(s, credo.Event{Type: credo.EventConsentGiven, Recorded: start.Add(time.Duration(i%700) * day),
			Consent: &credo.Consent{Scheme: "civic", At: start.Add(time.Duration(i%700) * day), Given: true}})
		if i%9 == 0 {
			at := start.Add(time.Duration(700+i%900) * day)
			g.add(s, credo.Event{Type: credo.EventConsentWithdrawn, Recorded: at, Consent: &credo.Consent{Scheme: "civic", At: at}})
		}
	}
	// Conduct while a minor: the subject's first rule again, decided at
	// 16 (or at 17 years and 11 months, to cross the birthday inside
	// the window), and also once decided after 18.
	if r, ok := firstRule[s]; ok && i%4 == 0 {
		for _, at := range []time.Time{id.Birth.AddDate(16, 0, 0), id.Birth.AddDate(17, 11, 0), id.Birth.AddDate(18, 0, 2)} {
			if at.After(start) && at.Before(g.end) {
				r.DecidedAt, r.CaseRef = at, r.CaseRef+"m"
				g.fileRec(r)
			}
		}
	}
}

// heavyOffender makes the i-th person s (every 30th) a heavy offender:
// each scheme's most costly rule filed until the score reaches its floor,
// the last record under an objection opened just before one of the
// instants the tests use (so that a list derived from a tier and
// suspended during disputes turns on the objection).
func (g *gen) heavyOffender(pol *policy.Policy, i int, s string) {
	for _, sc := range pol.Schemes {
		if !sc.Applies("person") {
			continue
		}
		var worst *policy.Rule
		for _, r := range pol.Rules {
			if ps, ok := r.Points[sc.ID]; ok && r.AppliesTo("person") && ps.Each < 0 && (worst == nil || ps.Each < worst.Points[sc.ID].Each) {
				worst = r
			}
		}
		if worst == nil || len(sc.Tiers) < 2 {
			continue
		}
		// Just enough to fall into the lowest tier: without the last
		// record (the one under objection) the subject stays above it.
		floor := sc.Tiers[len(sc.Tiers)-2].Min
		n := min(30, (sc.Base-floor)/-worst.Points[sc.ID].Each+1)
		last := g.end.AddDate(0, 0, -20)
		if i%60 == 30 {
			last = g.end.AddDate(-1, 0, -40)
		}
		for k := n - 1; k >= 0; k-- {
			at := last.AddDate(0, 0, -3*k)
			id := g.add(s, credo.Event{Type: credo.EventRecordFiled, Recorded: at,
				Record: &credo.Record{Subject: s, Rule: worst.Code, Authority: "test", CaseRef: fmt.Sprintf("H%d-%d", i, k), DecidedAt: at, FiledAt: at}})
			evs := g.events[s]
			evs[len(evs)-1].Record.ID = id
			if k == 0 {
				opened := last.AddDate(0, 0, 15)
				d := &credo.Dispute{RecordID: id, OpenedAt: opened, Grounds: "test"}
				d.ID = g.add(s, credo.Event{Type: credo.EventDisputeOpened, Recorded: opened, Dispute: d})
			}
		}
	}
}

// links adds each organisation's legal representative from synth, a
// second role for some, and ends some; a person's events hold its links.
func (g *gen) links(city *synth.City) error {
	n := 0
	return city.Links(func(l credo.Link) error {
		n++
		ls := []credo.Link{l}
		if n%3 == 0 {
			l2 := l
			l2.Role = credo.RoleActualController
			ls = append(ls, l2)
		}
		for _, l := range ls {
			g.add(l.Org, credo.Event{Type: credo.EventLinkAdded, Recorded: l.From, Link: &l})
			g.events[l.Person] = append(g.events[l.Person], g.events[l.Org][len(g.events[l.Org])-1])
			if n%5 == 0 {
				until := g.end.AddDate(0, -(n % 30), 0)
				if until.After(l.From) {
					rm := l
					rm.Until = until
					g.add(l.Org, credo.Event{Type: credo.EventLinkRemoved, Recorded: until, Link: &rm})
					g.events[l.Person] = append(g.events[l.Person], g.events[l.Org][len(g.events[l.Org])-1])
				}
			}
		}
		return nil
	})
}

// linkOrgs gives a person's facts the facts of the organisations its
// links name, in identifier order.
func (c *City) linkOrgs(s string) {
	f := c.Facts[s]
	if f.ID.Kind != credo.Person {
		return
	}
	seen := map[string]bool{}
	for _, ev := range f.Events {
		if ev.Link != nil && ev.Link.Person == s && !seen[ev.Link.Org] {
			seen[ev.Link.Org] = true
			f.Orgs = append(f.Orgs, c.Facts[ev.Link.Org])
		}
	}
	sort.Slice(f.Orgs, func(i, j int) bool { return f.Orgs[i].ID.Canonical < f.Orgs[j].ID.Canonical })
}
