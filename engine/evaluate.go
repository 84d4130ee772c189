package engine

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"credo"
	"credo/ident"
	"credo/policy"
)

// AgeOfMajority is the age below which nobody is sanctioned (principle 9,
// docs/domain.md: minors are never listed). Conduct decided before a subject's
// 18th birthday has no effect at all, then or later: it puts them on no
// list, counts toward no scheme's points (so no score- or tier-derived list
// can follow from it either), and no measure reaches them through an
// organisation for records decided before that birthday. The record stays
// in the subject's file, visible and contestable.
const AgeOfMajority = 18

const adultAge = AgeOfMajority

// MinorAt reports whether a subject was under the age of majority at instant
// t, judged by the calendar date of t in loc (a 29 February birthday is
// reached on 1 March in a common year). Subjects without a birth date
// (organisations, passports) are never minors. The engine and the notices
// use this one function.
func MinorAt(id ident.ID, t time.Time, loc *time.Location) bool {
	return id.HasBirth() && id.AgeAt(t, loc) < AgeOfMajority
}

// AdultFrom is the instant a subject reaches the age of majority (midnight
// of the 18th birthday in loc); zero for subjects without a birth date.
func AdultFrom(id ident.ID, loc *time.Location) time.Time {
	if !id.HasBirth() {
		return time.Time{}
	}
	return birthday(id, AgeOfMajority, loc)
}

// birthday is midnight of a subject's birthday of the given age in loc; a
// 29 February birthday is reached on 1 March in a common year.
func birthday(id ident.ID, years int, loc *time.Location) time.Time {
	b := id.Birth
	d := time.Date(b.Year()+years, b.Month(), b.Day(), 0, 0, 0, 0, loc)
	if d.Month() != b.Month() {
		d = time.Date(b.Year()+years, time.March, 1, 0, 0, 0, 0, loc)
	}
	return d
}

// recordFacts is what the known events say about one record. It points at
// the record in its event: nothing is copied.
type recordFacts struct {
	rec       *credo.Record
	idx       int32     // its place in the evaluator's records (disputes point at it)
	ndisp     int32     // how many objections it has
	revokedAt time.Time // zero: not revoked
	void      bool      // revoked as a correction: never had effect
	fulfilled time.Time
	repaired  time.Time
}

type disputeFacts struct {
	d         *credo.Dispute
	rec       int32     // the record it objects to
	decidedAt time.Time // zero: open
	outcome   string
}

// recFacts is a record as filed with nothing known about it since (for
// ListingSpan).
type recFacts struct{ rec credo.Record }

// interval is a half-open span of valid time [from, to); a zero to is open.
type interval struct{ from, to time.Time }

func (iv interval) contains(t time.Time) bool {
	return !t.Before(iv.from) && (iv.to.IsZero() || t.Before(iv.to))
}

// nexter collects the earliest instant after at.
type nexter struct {
	at   time.Time
	next time.Time
}

func (n *nexter) add(t time.Time) {
	if t.IsZero() || !t.After(n.at) {
		return
	}
	if n.next.IsZero() || t.Before(n.next) {
		n.next = t
	}
}

func minTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if !t.IsZero() && (m.IsZero() || t.Before(m)) {
			m = t
		}
	}
	return m
}

// Evaluator evaluates subjects, reusing its working memory from one
// subject to the next: Entry computes what the decision table keeps (the
// measures in force and the next change) without the explanation (no
// record copies, no listings, no contributions), and Evaluate (the
// package function) is the same evaluation with the explanation added on
// top. Both run the one function Evaluator.run, so that each rule has one
// implementation; Entry also remembers the outcome of the policy's
// conditions by the variables they read (most subjects share a handful of
// combinations), where Evaluate evaluates every condition. An Evaluator
// is not safe for concurrent use: keep one per goroutine.
type Evaluator struct {
	order    []int32 // the known events, by sequence number
	recs     []recordFacts
	sorted   []*recordFacts // recs by decision date, then id
	disputes []disputeFacts
	byID     map[int64]int32
	dispByID map[int64]int32
	consents []*credo.Consent
	links    []credo.Link
	evals    []recEval
	credited []int // points credited per eval (rule caps)
	scored   []*policy.Scheme
	lists    []string
	vars     policy.Vars
	undisp   policy.Vars
	child    *Evaluator // for the organisations a person answers for

	// The outcome of the conditions by the variables they read, one
	// memory per policy (Entry and Standing only: Evaluate evaluates every
	// condition); memo is memoPol's.
	memoPol *policy.Policy
	memo    *condMemo
	memos   map[*policy.Policy]*condMemo
	key     []byte

	stand    *Standing // non-nil while Standing evaluates: what it collects
	standing Standing  // its memory
}

// condMemo is an evaluator's memory of the conditions under one policy.
type condMemo struct {
	m      map[string]memoEntry
	scores bool // some condition reads scores
	undisp bool // some derived list is suspended during disputes
}

// memoEntry is the outcome of the conditions for one key: the measures in
// force against the subject itself and the derived lists it is on (in
// declaration order; nil: none).
type memoEntry struct {
	inForce MeasureSet
	derived []string
}

// memoPolicies bounds how many policies' memories an evaluator keeps (the
// census evaluates instants under the versions in force at each).
const memoPolicies = 4

// memoMax bounds the conditions' memory of one evaluator (a variable for
// the tests, which make it small to exercise the clearing).
var memoMax = 1 << 12

// NewEvaluator returns an evaluator with empty working memory.
func NewEvaluator() *Evaluator {
	return &Evaluator{
		byID: map[int64]int32{}, dispByID: map[int64]int32{},
		vars:   policy.Vars{Tiers: map[string]string{}, Scores: map[string]int64{}, Subject: map[string]any{}},
		undisp: policy.Vars{Tiers: map[string]string{}, Scores: map[string]int64{}},
	}
}

var evaluators = sync.Pool{New: func() any { return NewEvaluator() }}

// Entry computes a subject's decision entry at instant at from the events
// known by instant known: exactly EntryOf(Evaluate(pol, f, at, known)).
func (e *Evaluator) Entry(pol *policy.Policy, f *Facts, at, known time.Time) Entry {
	inForce, next := e.run(pol, f, at, known, time.Time{}, nil)
	en := Entry{InForce: inForce, Next: never}
	if !next.IsZero() {
		en.Next = next.UnixNano()
	}
	return en
}

// Standing is what a census reads of a subject at an instant, without the
// explanation Evaluate builds: the lists it is on, its standing in every
// scheme that applies to it and the next change. It is exactly what the
// State of Evaluate says of these (a test holds them equal).
type Standing struct {
	// Lists are the lists the subject is on (State.Listings' lists): the
	// rule-based ones sorted, then the derived ones in declaration order.
	Lists []string
	// Schemes are the schemes that apply to the subject, in the policy's
	// order (State.Schemes without the scores and contributions).
	Schemes []SchemeStanding
	Next    time.Time // State.Next: zero if nothing changes
	// InForce are the measures in force (State.InForce: the subject's own
	// and those that reach it through an organisation), by policy index.
	InForce MeasureSet
}

// SchemeStanding is a subject's standing in one scheme: its tier, or why
// it is not scored.
type SchemeStanding struct {
	Scheme string
	Scored bool
	Score  int    // when scored
	Tier   string // when scored
	Why    string // when not
}

// Standing computes a subject's standing at instant at from the events
// known by instant known, remembering the outcome of the conditions as
// Entry does. The result and its slices are the evaluator's: valid until
// its next use.
func (e *Evaluator) Standing(pol *policy.Policy, f *Facts, at, known time.Time) *Standing {
	st := &e.standing
	st.Lists, st.Schemes, st.Next = st.Lists[:0], st.Schemes[:0], time.Time{}
	e.stand = st
	st.InForce, st.Next = e.run(pol, f, at, known, time.Time{}, nil)
	e.stand = nil
	return st
}

// EntryFor is Evaluator.Entry with an evaluator from a pool.
func EntryFor(pol *policy.Policy, f *Facts, at, known time.Time) Entry {
	e := evaluators.Get().(*Evaluator)
	en := e.Entry(pol, f, at, known)
	evaluators.Put(e)
	return en
}

// fold reads the known events into per-record facts, consents and links:
// the known events in log order, each event's facts, then the records by
// decision date.
func (e *Evaluator) fold(f *Facts, known time.Time) {
	e.knownInOrder(f, known)
	clear(e.byID)
	clear(e.dispByID)
	e.recs, e.disputes, e.consents, e.links = e.recs[:0], e.disputes[:0], e.consents[:0], e.links[:0]
	for _, i := range e.order {
		e.foldEvent(&f.Events[i])
	}
	e.sortRecords()
}

// knownInOrder sets e.order to the events known by instant known, by
// sequence number.
func (e *Evaluator) knownInOrder(f *Facts, known time.Time) {
	e.order = e.order[:0]
	inOrder := true
	for i := range f.Events {
		ev := &f.Events[i]
		if ev.Recorded.After(known) {
			continue
		}
		if n := len(e.order); n > 0 && ev.Seq < f.Events[e.order[n-1]].Seq {
			inOrder = false
		}
		e.order = append(e.order, int32(i))
	}
	if !inOrder {
		slices.SortStableFunc(e.order, func(a, b int32) int { return cmp.Compare(f.Events[a].Seq, f.Events[b].Seq) })
	}
}

// foldEvent adds what one event says to the facts.
func (e *Evaluator) foldEvent(ev *credo.Event) {
	switch ev.Type {
	case credo.EventRecordFiled:
		if ev.Record != nil {
			idx := int32(len(e.recs))
			e.recs = append(e.recs, recordFacts{rec: ev.Record, idx: idx})
			e.byID[ev.Record.ID] = idx
		}
	case credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved:
		e.foldChange(ev)
	case credo.EventDisputeOpened:
		if d := ev.Dispute; d != nil {
			if ri, ok := e.byID[d.RecordID]; ok {
				e.dispByID[d.ID] = int32(len(e.disputes))
				e.disputes = append(e.disputes, disputeFacts{d: d, rec: ri})
				e.recs[ri].ndisp++
			}
		}
	case credo.EventDisputeDecided:
		e.foldDecision(ev.Decision)
	case credo.EventConsentGiven, credo.EventConsentWithdrawn:
		if c := ev.Consent; c != nil {
			e.consents = append(e.consents, c)
		}
	case credo.EventLinkAdded:
		if ev.Link != nil {
			e.links = append(e.links, *ev.Link)
		}
	case credo.EventLinkRemoved:
		if l := ev.Link; l != nil {
			e.endLink(l)
		}
	}
}

// foldChange applies a revocation, a fulfilment or an approved repair to
// its record: the earliest of each counts.
func (e *Evaluator) foldChange(ev *credo.Event) {
	c := ev.Change
	if c == nil {
		return
	}
	ri, ok := e.byID[c.RecordID]
	if !ok {
		return
	}
	r := &e.recs[ri]
	switch ev.Type {
	case credo.EventRecordRevoked:
		if r.revokedAt.IsZero() || c.At.Before(r.revokedAt) {
			r.revokedAt = c.At
		}
		r.void = r.void || c.VoidAbInitio
	case credo.EventRecordFulfilled:
		if r.fulfilled.IsZero() {
			r.fulfilled = c.At
		}
	case credo.EventRepairApproved:
		if r.repaired.IsZero() {
			r.repaired = c.At
		}
	}
}

// foldDecision applies a dispute's decision: a revoking or correcting
// outcome voids its record.
func (e *Evaluator) foldDecision(dd *credo.DisputeDecision) {
	if dd == nil {
		return
	}
	di, ok := e.dispByID[dd.DisputeID]
	if !ok {
		return
	}
	df := &e.disputes[di]
	df.decidedAt, df.outcome = dd.At, dd.Outcome
	if dd.Outcome == credo.OutcomeRevoked || dd.Outcome == credo.OutcomeCorrected {
		r := &e.recs[e.byID[df.d.RecordID]]
		if r.revokedAt.IsZero() || dd.At.Before(r.revokedAt) {
			r.revokedAt = dd.At
		}
		r.void = true // the objection showed the record wrong
	}
}

// endLink ends the open links a removal names.
func (e *Evaluator) endLink(l *credo.Link) {
	for i := range e.links {
		if e.links[i].Org == l.Org && e.links[i].Person == l.Person && e.links[i].Role == l.Role && e.links[i].Until.IsZero() {
			e.links[i].Until = l.Until
		}
	}
}

// sortRecords sets e.sorted to the records by decision date, then id.
func (e *Evaluator) sortRecords() {
	e.sorted = e.sorted[:0]
	for i := range e.recs {
		e.sorted = append(e.sorted, &e.recs[i])
	}
	slices.SortStableFunc(e.sorted, func(a, b *recordFacts) int {
		if c := a.rec.DecidedAt.Compare(b.rec.DecidedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.rec.ID, b.rec.ID)
	})
}

// recEval is a record's computed effect at the instant.
type recEval struct {
	*recordFacts
	rule      *policy.Rule
	minor     bool // decided before the subject (or, through a link, the person) came of age: no effect
	pointsOn  bool // counts for points at the instant
	end       time.Time
	disputed  bool // under an open objection at the instant
	overdue   bool
	deadline  time.Time
	suspended bool // an overdue objection suspends all its effects at the instant
}

// Evaluate computes a subject's state at instant at from the events known
// by instant known under one policy, with everything that explains it. It
// is a pure function of its inputs. The decision table needs only
// EntryOf of it: Evaluator.Entry computes that alone.
func Evaluate(pol *policy.Policy, f *Facts, at, known time.Time) *State {
	e := evaluators.Get().(*Evaluator)
	s := e.explain(pol, f, at, known, time.Time{})
	evaluators.Put(e)
	return s
}

// explain is run with the explanation kept in a State.
func (e *Evaluator) explain(pol *policy.Policy, f *Facts, at, known, noEffectBefore time.Time) *State {
	s := &State{Subject: f.ID.Canonical, Kind: f.ID.Kind.String(), At: at, Known: known, pol: pol}
	x := &explanation{s: s, onList: map[string]*Listing{}}
	s.InForce, s.Next = e.run(pol, f, at, known, noEffectBefore, x)
	return s
}

// explanation is what Evaluate keeps beside the entry; nil when only the
// entry is wanted.
type explanation struct {
	s      *State
	onList map[string]*Listing
}

// run evaluates a subject: the measures in force at at and the next change.
// Records decided before noEffectBefore count as a minor's (no points, no
// listing): an organisation evaluated for a person linked to it passes the
// person's coming of age, so that no measure reaches them through conduct
// decided while they were a minor. With x, the explanation is filled in.
func (e *Evaluator) run(pol *policy.Policy, f *Facts, at, known, noEffectBefore time.Time, x *explanation) (inForce MeasureSet, next time.Time) {
	kind := f.ID.Kind.String()
	nx := nexter{at: at}
	e.fold(f, known)
	age := ageAt(pol, f, at, &nx)
	evals := e.evalRecords(pol, f, at, noEffectBefore, &nx, x)
	lists := e.ruleListings(pol, evals, at, &nx, x)
	vars := e.schemes(pol, f, kind, age, at, evals, &nx, x)

	// The conditions: derived lists, then the measures against the subject
	// itself. They read only the condition variables, so the table's
	// evaluation remembers their outcome for variables it has seen.
	slices.Sort(lists)
	minorNow := age >= 0 && age < adultAge
	if x != nil {
		inForce = e.conditions(pol, kind, vars, lists, evals, minorNow, x)
	} else {
		var derived []string
		inForce, derived = e.remembered(pol, f, kind, vars, lists, evals, minorNow, age)
		if st := e.stand; st != nil {
			st.Lists = append(append(st.Lists[:0], lists...), derived...)
		}
	}

	// Measures that reach the subject as a responsible person of an
	// organisation: only those whose policy says so (principle 9), and
	// never a minor, whom no sanction may reach (the 18th birthday is
	// already a next change).
	if !minorNow {
		for _, org := range f.Orgs {
			inForce = e.viaOrg(pol, f, org, at, known, inForce, &nx, x)
		}
	}
	return inForce, nx.next
}

// ageAt is a subject's age at the instant (-1: no birth date), adding
// the birthdays ahead that change its standing (the age of majority, the
// schemes' minimum ages) as next changes.
func ageAt(pol *policy.Policy, f *Facts, at time.Time, nx *nexter) int {
	if !f.ID.HasBirth() {
		return -1
	}
	cal := pol.Calendar
	age := f.ID.AgeAt(at, cal.Loc)
	if age < adultAge {
		nx.add(birthday(f.ID, adultAge, cal.Loc))
	}
	for _, sc := range pol.Schemes {
		if sc.MinAge > 0 && age < sc.MinAge {
			nx.add(birthday(f.ID, sc.MinAge, cal.Loc))
		}
	}
	return age
}

// evalRecords computes every record's status, lifetime and disputes at
// the instant, in decision order.
func (e *Evaluator) evalRecords(pol *policy.Policy, f *Facts, at, noEffectBefore time.Time, nx *nexter, x *explanation) []recEval {
	cal := pol.Calendar
	e.evals = e.evals[:0]
	if x != nil && len(e.sorted) > 0 {
		x.s.Records = make([]RecordState, 0, len(e.sorted)) // sized once: a RecordState holds a whole record
	}
	for _, r := range e.sorted {
		minor := MinorAt(f.ID, r.rec.DecidedAt, cal.Loc) || r.rec.DecidedAt.Before(noEffectBefore)
		e.evals = append(e.evals, evalRecord(pol, r, e.disputes, at, nx, minor))
		if x != nil {
			x.s.Records = append(x.s.Records, recordState(pol, &e.evals[len(e.evals)-1], at))
		}
	}
	return e.evals
}

// ruleListings returns the lists the subject's records put it on at the
// instant (unsorted), adding each listing's start and end as next changes.
func (e *Evaluator) ruleListings(pol *policy.Policy, evals []recEval, at time.Time, nx *nexter, x *explanation) []string {
	lists := e.lists[:0]
	for i := range evals {
		ev := &evals[i]
		if ev.rule == nil || ev.void || ev.minor {
			continue
		}
		for _, lid := range ev.rule.ListIDs() {
			l := pol.List(lid)
			spec := ev.rule.Lists[lid]
			from, to := spanOf(pol, l, spec, ev.rec, ev.fulfilled, ev.revokedAt, ev.repaired)
			nx.add(from)
			nx.add(to)
			if !listedBy(l, ev, from, to, at) {
				continue
			}
			if !contains(lists, lid) {
				lists = append(lists, lid)
			}
			if x != nil {
				x.listing(l, spec, from, to, ev.rec.ID)
			}
		}
	}
	return lists
}

// schemes scores the subject in every scheme that applies to it and
// returns the condition variables (tiers, scores, subject attributes);
// e.scored holds the schemes it was scored in.
func (e *Evaluator) schemes(pol *policy.Policy, f *Facts, kind string, age int, at time.Time, evals []recEval, nx *nexter, x *explanation) *policy.Vars {
	vars := &e.vars
	clear(vars.Tiers)
	clear(vars.Scores)
	subjectVars(vars.Subject, f, age)
	e.scored = e.scored[:0]
	for _, sc := range pol.Schemes {
		if !sc.Applies(kind) {
			continue
		}
		ss := SchemeState{Scheme: sc.ID}
		switch {
		case sc.MinAge > 0 && age >= 0 && age < sc.MinAge:
			ss.Why = "under_min_age"
		case sc.ConsentRequired() && !consented(e.consents, sc.ID, at, nx):
			ss.Why = "no_consent"
		default:
			ss.Scored = true
			var contribs *[]Contribution
			if x != nil {
				contribs = &ss.Contributions
			}
			ss.Score = e.score(pol, sc, evals, false, contribs)
			ss.Tier = sc.TierOf(ss.Score)
			vars.Tiers[sc.ID] = ss.Tier
			vars.Scores[sc.ID] = int64(ss.Score)
			e.scored = append(e.scored, sc)
		}
		if x != nil {
			x.s.Schemes = append(x.s.Schemes, ss)
		}
		if st := e.stand; st != nil {
			st.Schemes = append(st.Schemes, SchemeStanding{Scheme: sc.ID, Scored: ss.Scored, Score: ss.Score, Tier: ss.Tier, Why: ss.Why})
		}
	}
	return vars
}

// remembered is conditions without the explanation, answered from the
// evaluator's memory of the conditions' outcome by the variables they read
// when it has seen them. It also returns the derived lists the subject is
// on (the memory's: not to be changed).
func (e *Evaluator) remembered(pol *policy.Policy, f *Facts, kind string, vars *policy.Vars, lists []string, evals []recEval, minorNow bool, age int) (MeasureSet, []string) {
	e.memoFor(pol)
	e.lists = lists[:0]
	key := e.memoKey(pol, kind, vars, lists, evals, minorNow, age, f)
	me, ok := e.memo.m[string(key)]
	if !ok {
		me.inForce = e.conditions(pol, kind, vars, lists, evals, minorNow, nil)
		if d := vars.Lists[len(lists):]; len(d) > 0 {
			me.derived = slices.Clone(d)
		}
		if len(e.memo.m) >= memoMax {
			clear(e.memo.m)
		}
		e.memo.m[string(key)] = me
	}
	return me.inForce, me.derived
}

// viaOrg adds to inForce the measures that reach the subject as a
// responsible person of one organisation, through each of its links to
// it in force at the instant.
func (e *Evaluator) viaOrg(pol *policy.Policy, f *Facts, org *Facts, at, known time.Time, inForce MeasureSet, nx *nexter, x *explanation) MeasureSet {
	for i := range e.links {
		ln := &e.links[i]
		if ln.Org != org.ID.Canonical || ln.Person != f.ID.Canonical {
			continue
		}
		nx.add(ln.From)
		nx.add(ln.Until)
		if !(interval{ln.From, ln.Until}).contains(at) {
			continue
		}
		inForce = e.viaLink(pol, f, org, ln, at, known, inForce, nx, x)
	}
	return inForce
}

// viaLink evaluates the organisation as far as the person answers for it
// (not for records decided before they came of age) and adds the measures
// that extend to the link's role.
func (e *Evaluator) viaLink(pol *policy.Policy, f *Facts, org *Facts, ln *credo.Link, at, known time.Time, inForce MeasureSet, nx *nexter, x *explanation) MeasureSet {
	if e.child == nil {
		e.child = NewEvaluator()
	}
	of := Facts{ID: org.ID, Events: org.Events}
	adult := AdultFrom(f.ID, pol.Calendar.Loc)
	var (
		orgIn   MeasureSet
		orgNext time.Time
		os      *State
	)
	if x != nil {
		os = e.child.explain(pol, &of, at, known, adult)
		orgIn, orgNext = os.InForce, os.Next
	} else {
		orgIn, orgNext = e.child.run(pol, &of, at, known, adult, nil)
	}
	nx.add(orgNext)
	for _, m := range pol.Measures {
		if !orgIn.Has(m.Index()) || !contains(m.ExtendsTo, ln.Role) || inForce.Has(m.Index()) {
			continue
		}
		inForce.Add(m.Index())
		if x != nil {
			x.viaMeasure(os, m, org.ID.Canonical, ln.Role)
		}
	}
	return inForce
}

// viaMeasure adds a measure that reaches the subject through an
// organisation to the explanation, as the organisation's state explains it.
func (x *explanation) viaMeasure(os *State, m *policy.Measure, org, role string) {
	for _, ms := range os.Measures {
		if ms.Measure == m.ID {
			ms.Via, ms.ViaRole, ms.ExemptPrivate = org, role, m.ExemptPrivate
			x.s.Measures = append(x.s.Measures, ms)
			return
		}
	}
}

// conditions decides the derived lists, in declaration order (minors are
// never listed; a list that is suspended during a dispute is decided on
// the scores without the records under an open objection, as a rule-named
// list is without the disputed record), then the measures against the
// subject itself. lists are the rule-based lists the subject is on,
// sorted.
func (e *Evaluator) conditions(pol *policy.Policy, kind string, vars *policy.Vars, lists []string, evals []recEval, minorNow bool, x *explanation) (inForce MeasureSet) {
	// Derived lists, in declaration order; minors are never listed. A
	// list that is suspended during a dispute is decided on the scores
	// without the records under an open objection, as a rule-named list
	// is without the disputed record.
	vars.Lists = lists
	var undisputed *policy.Vars
	for _, l := range pol.Lists {
		if !l.Derived() || minorNow {
			continue
		}
		v := vars
		if l.SuspendedDuringDispute() && disputedPoints(evals) {
			if undisputed == nil {
				undisputed = e.undisputedVars(pol, evals, vars)
			}
			undisputed.Lists = vars.Lists
			v = undisputed
		}
		if policy.Eval(l.Program(), v) {
			if x != nil {
				x.onList[l.ID] = &Listing{List: l.ID, Kind: l.Kind, Derived: true, LegalBasis: l.LegalBasis.String()}
			}
			vars.Lists = append(vars.Lists, l.ID)
		}
	}
	e.lists = vars.Lists[:0] // keep the memory
	if x != nil {
		for _, l := range pol.Lists {
			if li := x.onList[l.ID]; li != nil {
				x.s.Listings = append(x.s.Listings, *li)
			}
		}
	}

	// Measures against the subject itself.
	for _, m := range pol.Measures {
		if !m.AppliesTo(kind) || !policy.Eval(m.Program(), vars) {
			continue
		}
		inForce.Add(m.Index())
		if x != nil {
			x.s.Measures = append(x.s.Measures, measureState(m, x.onList, "", ""))
		}
	}

	return inForce
}

// memoFor prepares the memory of the conditions for a policy. A condition is a pure function of the
// condition variables (lists, tiers, scores, subject): the same variables
// give the same outcome. Scores are part of the key only when a condition
// names them (CEL reads a variable only by its name).
func (e *Evaluator) memoFor(pol *policy.Policy) {
	if e.memoPol == pol {
		return
	}
	m := e.memos[pol]
	if m == nil {
		m = &condMemo{m: map[string]memoEntry{}}
		for _, l := range pol.Lists {
			m.scores = m.scores || strings.Contains(l.When, policy.VarScores)
			m.undisp = m.undisp || (l.Derived() && l.SuspendedDuringDispute())
		}
		for _, ms := range pol.Measures {
			m.scores = m.scores || strings.Contains(ms.When, policy.VarScores)
		}
		if e.memos == nil || len(e.memos) >= memoPolicies {
			e.memos = map[*policy.Policy]*condMemo{}
		}
		e.memos[pol] = m
	}
	e.memoPol, e.memo = pol, m
}

// memoKey encodes what the conditions read: the subject's kind, whether it
// is a minor now, its rule-based lists, its tiers and (if read) scores,
// those without the records under objection when a derived list is
// decided on them, and (if read) the subject's attributes.
func (e *Evaluator) memoKey(pol *policy.Policy, kind string, vars *policy.Vars, lists []string, evals []recEval, minorNow bool, age int, f *Facts) []byte {
	k := append(e.key[:0], kind...)
	k = append(k, 0)
	if minorNow {
		k = append(k, 1)
	}
	for _, l := range lists {
		k = append(k, l...)
		k = append(k, 0)
	}
	k = append(k, 1)
	tiers := func(k []byte, v *policy.Vars) []byte {
		for _, sc := range e.scored {
			k = append(k, sc.ID...)
			k = append(k, 0)
			k = append(k, v.Tiers[sc.ID]...)
			k = append(k, 0)
			if e.memo.scores {
				k = binary.LittleEndian.AppendUint64(k, uint64(v.Scores[sc.ID]))
			}
		}
		return append(k, 1)
	}
	k = tiers(k, vars)
	if e.memo.undisp && !minorNow && disputedPoints(evals) {
		k = append(k, 2)
		k = tiers(k, e.undisputedVars(pol, evals, vars))
	}
	if pol.UsesSubject() {
		k = append(k, f.ID.Region...)
		k = append(k, 0)
		k = append(k, f.ID.ProvinceCode...)
		k = append(k, 0)
		k = binary.LittleEndian.AppendUint64(k, uint64(int64(age)))
		k = append(k, f.ID.Sex.String()...)
	}
	e.key = k
	return k
}

// listedBy reports whether a record keeps its subject on a list at the
// instant, given the span listingSpan gives it: within the span, not
// suspended by an overdue objection, and not under an open objection if
// the list is suspended during disputes.
func listedBy(l *policy.List, ev *recEval, from, to, at time.Time) bool {
	if !from.Before(to) && !to.IsZero() {
		return false
	}
	if !(interval{from, to}).contains(at) || ev.suspended {
		return false
	}
	return !(l.SuspendedDuringDispute() && ev.disputed)
}

// listing adds a record's part in a rule-based listing to the explanation.
func (x *explanation) listing(l *policy.List, spec policy.ListingSpec, from, to time.Time, rec int64) {
	li := x.onList[l.ID]
	if li == nil {
		li = &Listing{List: l.ID, Kind: l.Kind, Since: from, LegalBasis: l.LegalBasis.String()}
		x.onList[l.ID] = li
	}
	if from.Before(li.Since) {
		li.Since = from
	}
	if to.After(li.Until) {
		li.Until = to
	}
	li.UntilFulfilled = li.UntilFulfilled || spec.UntilFulfilled
	li.Records = append(li.Records, rec)
}

// disputedPoints reports whether a record that counts for points is under
// an open objection at the instant.
func disputedPoints(evals []recEval) bool {
	for i := range evals {
		if evals[i].pointsOn && evals[i].disputed {
			return true
		}
	}
	return false
}

// undisputedVars are the condition variables with every scored scheme
// scored without the records under an open objection.
func (e *Evaluator) undisputedVars(pol *policy.Policy, evals []recEval, vars *policy.Vars) *policy.Vars {
	u := &e.undisp
	clear(u.Tiers)
	clear(u.Scores)
	u.Subject = vars.Subject
	for _, sc := range e.scored {
		score := e.score(pol, sc, evals, true, nil)
		u.Tiers[sc.ID] = sc.TierOf(score)
		u.Scores[sc.ID] = int64(score)
	}
	return u
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// subjectVars fills the subject's attributes for conditions into m.
func subjectVars(m map[string]any, f *Facts, age int) {
	clear(m)
	m["kind"], m["region"], m["province"] = f.ID.Kind.String(), f.ID.Region, f.ID.ProvinceCode
	if age >= 0 {
		m["age"] = int64(age)
		m["sex"] = f.ID.Sex.String()
	}
}

// consented reports whether the latest consent event for the scheme in
// force at at gives consent.
func consented(cs []*credo.Consent, scheme string, at time.Time, nx *nexter) bool {
	given := false
	var last time.Time
	for _, c := range cs {
		if c.Scheme != scheme {
			continue
		}
		nx.add(c.At)
		if c.At.After(at) {
			continue
		}
		if !c.At.Before(last) {
			last, given = c.At, c.Given
		}
	}
	return given
}

// evalRecord computes one record's standing at the instant; ds are the
// subject's objections (those of r point at it).
func evalRecord(pol *policy.Policy, r *recordFacts, ds []disputeFacts, at time.Time, nx *nexter, minor bool) recEval {
	ev := recEval{recordFacts: r, rule: pol.Rule(r.rec.Rule), minor: minor}
	if ev.rule == nil || r.void {
		return ev
	}
	cal := pol.Calendar
	start := r.rec.DecidedAt
	life := cal.Add(start, ev.rule.Lifetime)
	end := minTime(life, r.revokedAt, r.repaired)
	if hasUntilFulfilled(ev.rule) {
		end = minTime(end, r.fulfilled)
	}
	ev.end = end
	nx.add(start)
	nx.add(end)
	// The record's status also turns revoked, repaired or fulfilled at
	// those instants even when its effects have already ended.
	nx.add(r.revokedAt)
	nx.add(r.repaired)
	nx.add(r.fulfilled)

	if r.ndisp > 0 {
		_, proc := DisputeProcedure(pol, ev.rule)
		for i := range ds {
			d := &ds[i]
			if d.rec != r.idx {
				continue
			}
			deadline := DisputeDeadline(cal, proc, *d.d)
			open := interval{d.d.OpenedAt, d.decidedAt}
			nx.add(d.d.OpenedAt)
			nx.add(d.decidedAt)
			if open.contains(at) {
				ev.disputed = true
				ev.deadline = deadline
			}
			if d.decidedAt.IsZero() || d.decidedAt.After(deadline) {
				nx.add(deadline)
				if (interval{deadline, d.decidedAt}).contains(at) {
					ev.overdue = true
					ev.suspended = ev.suspended || proc.Overdue == "suspend"
				}
			}
		}
	}
	ev.pointsOn = !at.Before(start) && at.Before(end) && !ev.suspended && !minor
	return ev
}

func hasUntilFulfilled(r *policy.Rule) bool {
	for _, ls := range r.Lists {
		if ls.UntilFulfilled {
			return true
		}
	}
	return false
}

// DisputeProcedure returns the procedure that governs objections to records
// of a rule (nil: the policy's default) and the name of its profile ("" for
// the default): the procedure of the first of the rule's lists that names
// one.
func DisputeProcedure(pol *policy.Policy, r *policy.Rule) (string, policy.DisputeProcedure) {
	if r == nil {
		return "", pol.Procedures.Dispute
	}
	l := disputeList(pol, r)
	if l != nil && l.DisputeProcedure != "" {
		if _, ok := pol.Procedures.Profiles[l.DisputeProcedure]; ok {
			return l.DisputeProcedure, pol.DisputeProcedureFor(l)
		}
	}
	return "", pol.DisputeProcedureFor(l)
}

// DisputeDeadline is when a dispute must be decided under a procedure: the
// review period from its opening (the appeal decision period for an
// appeal, where the procedure sets one), extended by the procedure's
// extension when the subject brought new information.
func DisputeDeadline(cal *policy.Calendar, proc policy.DisputeProcedure, d credo.Dispute) time.Time {
	window := proc.Review
	if d.Appeal && !proc.AppealDecide.IsZero() {
		window = proc.AppealDecide
	}
	deadline := cal.Add(d.OpenedAt, window)
	if d.NewInformation && !proc.Extension.IsZero() {
		deadline = cal.Add(deadline, proc.Extension)
	}
	return deadline
}

// DisputeList is the list whose procedure governs objections to records
// of a rule (the first of its lists that names one, else its first list;
// nil for a rule that lists nobody): its contest text is the one a notice
// quotes beside that procedure's deadlines.
func DisputeList(pol *policy.Policy, r *policy.Rule) *policy.List {
	if r == nil {
		return nil
	}
	return disputeList(pol, r)
}

// disputeList is the list whose procedure governs objections to records of
// the rule: the first of its lists that names one.
func disputeList(pol *policy.Policy, r *policy.Rule) *policy.List {
	var first *policy.List
	for _, lid := range r.ListIDs() {
		l := pol.List(lid)
		if first == nil {
			first = l
		}
		if l != nil && l.DisputeProcedure != "" {
			return l
		}
	}
	return first
}

// listingSpan is spanOf for a record as filed, with nothing known since.
func listingSpan(pol *policy.Policy, l *policy.List, spec policy.ListingSpec, r *recFacts) (from, to time.Time) {
	return spanOf(pol, l, spec, &r.rec, time.Time{}, time.Time{}, time.Time{})
}

// spanOf is when a record keeps the subject on a list: from the decision
// date or the end of the notice period, whichever is later, until the
// period ends (or the obligation is fulfilled, at the latest at the
// maximum), the record is revoked or repaired.
func spanOf(pol *policy.Policy, l *policy.List, spec policy.ListingSpec, rec *credo.Record, fulfilled, revokedAt, repaired time.Time) (from, to time.Time) {
	cal := pol.Calendar
	from = rec.DecidedAt
	if !l.Notice.IsZero() && l.Notice.N > 0 {
		if eff := cal.Add(NoticeServed(rec), l.Notice); eff.After(from) {
			from = eff
		}
	}
	if spec.UntilFulfilled {
		to = minTime(cal.Add(rec.DecidedAt, spec.Max), fulfilled)
	} else {
		to = cal.Add(rec.DecidedAt, spec.Period)
	}
	to = minTime(to, revokedAt, repaired)
	return from, to
}

// score sums the points of the records counting at the instant, applying
// each rule's cap per window in decision order, and clamps to the bounds.
// With skipDisputed, the records under an open objection are left out;
// with contribs, each record's contribution is appended to it.
func (e *Evaluator) score(pol *policy.Policy, sc *policy.Scheme, evals []recEval, skipDisputed bool, contribs *[]Contribution) int {
	total := sc.Base
	// credited[i] is what evals[i] was credited against its rule's cap;
	// -1 for a record not counted against a cap.
	credited := e.credited[:0]
	for i := range evals {
		credited = append(credited, -1)
		ev := &evals[i]
		if !ev.pointsOn || (skipDisputed && ev.disputed) {
			continue
		}
		ps, ok := ev.rule.Points[sc.ID]
		if !ok {
			continue
		}
		pts := RecordPoints(ps, ev.rec)
		capped := false
		if ps.Cap > 0 {
			used := 0
			for j := 0; j < i; j++ {
				if credited[j] >= 0 && evals[j].rule.Code == ev.rule.Code &&
					pol.Calendar.Add(evals[j].rec.DecidedAt, ps.Per).After(ev.rec.DecidedAt) {
					used += credited[j]
				}
			}
			room := ps.Cap - used
			if room < 0 {
				room = 0
			}
			if abs(pts) > room {
				capped = true
				if pts < 0 {
					pts = -room
				} else {
					pts = room
				}
			}
			credited[i] = abs(pts)
		}
		total += pts
		if contribs != nil {
			*contribs = append(*contribs, Contribution{RecordID: ev.rec.ID, Rule: ev.rule.Code, Points: pts, Capped: capped})
		}
	}
	e.credited = credited
	if total < sc.Bounds[0] {
		total = sc.Bounds[0]
	}
	if total > sc.Bounds[1] {
		total = sc.Bounds[1]
	}
	return total
}

// maxUnitPoints bounds the points of one per-unit record: far beyond any
// scheme's bounds, far from overflowing a sum.
const maxUnitPoints = 1 << 31

// RecordPoints is what one record is worth in a scheme before any cap: the
// rule's fixed points, or its points per unit times the record's quantity.
// The engine and the notices use this one function.
func RecordPoints(ps policy.PointSpec, rec *credo.Record) int {
	if ps.PerUnit != 0 {
		return UnitPoints(ps.PerUnit, rec.Quantity)
	}
	return ps.Each
}

// UnitPoints is a per-unit record's points, rounded half away from zero
// (math.Round: exact, unlike adding 0.5, which turns 0.49999999999999994
// into 1). A quantity out of range is held to the bound and one that is
// not a number is worth nothing: converting such a float to int is
// implementation-defined in Go (and differs between architectures), which
// would make a replayed state depend on the machine.
func UnitPoints(perUnit int, quantity float64) int {
	x := math.Round(float64(perUnit) * quantity)
	switch {
	case math.IsNaN(x):
		return 0
	case x >= maxUnitPoints:
		return maxUnitPoints
	case x <= -maxUnitPoints:
		return -maxUnitPoints
	}
	return int(x)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func recordState(pol *policy.Policy, ev *recEval, at time.Time) RecordState {
	rs := RecordState{Record: *ev.rec, Until: ev.end, Disputed: ev.disputed, Overdue: ev.overdue, Minor: ev.minor}
	if ev.disputed {
		rs.DisputeDeadline = ev.deadline
	}
	switch {
	case ev.rule == nil:
		rs.Status = StatusNoRule
	case ev.void || (!ev.revokedAt.IsZero() && !at.Before(ev.revokedAt)):
		rs.Status = StatusRevoked
	case at.Before(ev.rec.DecidedAt):
		rs.Status = StatusPending
	case !ev.repaired.IsZero() && !at.Before(ev.repaired):
		rs.Status = StatusRepaired
	case !ev.fulfilled.IsZero() && !at.Before(ev.fulfilled):
		rs.Status = StatusFulfilled
	case !at.Before(ev.end):
		rs.Status = StatusExpired
	case ev.overdue && ev.suspended:
		rs.Status = StatusSuspended
	case ev.disputed:
		rs.Status = StatusDisputed
	default:
		rs.Status = StatusActive
	}
	if from, ok := RepairFrom(pol, ev.rule, ev.rec); ok {
		rs.RepairFrom = from
	}
	return rs
}

func measureState(m *policy.Measure, onList map[string]*Listing, via, role string) MeasureState {
	ms := MeasureState{Measure: m.ID, Sector: m.Sector, Effect: m.Effect, Params: m.Params, LegalBasis: m.LegalBasis.String(), Via: via, ViaRole: role}
	for _, lid := range m.Lists() {
		if li := onList[lid]; li != nil {
			ms.Lists = append(ms.Lists, lid)
			if !li.Until.IsZero() && li.Until.After(ms.Until) {
				ms.Until = li.Until
			}
		}
	}
	return ms
}
