package engine

import (
	"math"
	"sort"
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

// recFacts is what the known events say about one record.
type recFacts struct {
	rec       credo.Record
	revokedAt time.Time // zero: not revoked
	void      bool      // revoked as a correction: never had effect
	fulfilled time.Time
	repaired  time.Time
	disputes  []*disputeFacts
}

type disputeFacts struct {
	d         credo.Dispute
	decidedAt time.Time // zero: open
	outcome   string
}

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

// fold reads the known events into per-record facts, consents and links.
func fold(f *Facts, known time.Time) (recs []*recFacts, consents map[string][]credo.Consent, links []credo.Link) {
	evs := make([]credo.Event, 0, len(f.Events))
	for _, ev := range f.Events {
		if !ev.Recorded.After(known) {
			evs = append(evs, ev)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Seq < evs[j].Seq })
	byID := map[int64]*recFacts{}
	disputes := map[int64]*disputeFacts{}
	consents = map[string][]credo.Consent{}
	for _, ev := range evs {
		switch ev.Type {
		case credo.EventRecordFiled:
			if ev.Record != nil {
				r := &recFacts{rec: *ev.Record}
				byID[r.rec.ID] = r
				recs = append(recs, r)
			}
		case credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved:
			c := ev.Change
			if c == nil || byID[c.RecordID] == nil {
				continue
			}
			r := byID[c.RecordID]
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
		case credo.EventDisputeOpened:
			if d := ev.Dispute; d != nil && byID[d.RecordID] != nil {
				df := &disputeFacts{d: *d}
				disputes[d.ID] = df
				byID[d.RecordID].disputes = append(byID[d.RecordID].disputes, df)
			}
		case credo.EventDisputeDecided:
			if dd := ev.Decision; dd != nil && disputes[dd.DisputeID] != nil {
				df := disputes[dd.DisputeID]
				df.decidedAt, df.outcome = dd.At, dd.Outcome
				if dd.Outcome == credo.OutcomeRevoked || dd.Outcome == credo.OutcomeCorrected {
					r := byID[df.d.RecordID]
					if r.revokedAt.IsZero() || dd.At.Before(r.revokedAt) {
						r.revokedAt = dd.At
					}
					r.void = true // the objection showed the record wrong
				}
			}
		case credo.EventConsentGiven, credo.EventConsentWithdrawn:
			if c := ev.Consent; c != nil {
				consents[c.Scheme] = append(consents[c.Scheme], *c)
			}
		case credo.EventLinkAdded:
			if ev.Link != nil {
				links = append(links, *ev.Link)
			}
		case credo.EventLinkRemoved:
			if l := ev.Link; l != nil {
				for i := range links {
					if links[i].Org == l.Org && links[i].Person == l.Person && links[i].Role == l.Role && links[i].Until.IsZero() {
						links[i].Until = l.Until
					}
				}
			}
		}
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if !recs[i].rec.DecidedAt.Equal(recs[j].rec.DecidedAt) {
			return recs[i].rec.DecidedAt.Before(recs[j].rec.DecidedAt)
		}
		return recs[i].rec.ID < recs[j].rec.ID
	})
	return recs, consents, links
}

// recEval is a record's computed effect at the instant.
type recEval struct {
	*recFacts
	rule       *policy.Rule
	minor      bool // decided before the subject (or, through a link, the person) came of age: no effect
	pointsOn   bool // counts for points at the instant
	end        time.Time
	disputed   bool
	overdue    bool
	deadline   time.Time
	suspendAll interval   // overdue suspension of all effects
	suspended  bool       // suspendAll holds at the instant (a zero interval would contain every instant)
	listSusp   []interval // dispute intervals (for lists suspended during dispute)
}

// Evaluate computes a subject's state at instant at from the events known
// by instant known under one policy. It is a pure function of its inputs.
func Evaluate(pol *policy.Policy, f *Facts, at, known time.Time) *State {
	return evaluate(pol, f, at, known, time.Time{})
}

// evaluate is Evaluate where records decided before noEffectBefore count
// as a minor's (no points, no listing): an organisation evaluated for a
// person linked to it passes the person's coming of age, so that no
// measure reaches them through conduct decided while they were a minor.
func evaluate(pol *policy.Policy, f *Facts, at, known time.Time, noEffectBefore time.Time) *State {
	cal := pol.Calendar
	kind := f.ID.Kind.String()
	s := &State{Subject: f.ID.Canonical, Kind: kind, At: at, Known: known, pol: pol}
	nx := &nexter{at: at}
	recs, consents, links := fold(f, known)

	age := -1
	if f.ID.HasBirth() {
		age = f.ID.AgeAt(at, cal.Loc)
		if age < adultAge {
			nx.add(birthday(f.ID, adultAge, cal.Loc))
		}
		for _, sc := range pol.Schemes {
			if sc.MinAge > 0 && age < sc.MinAge {
				nx.add(birthday(f.ID, sc.MinAge, cal.Loc))
			}
		}
	}
	minorRecord := func(r *recFacts) bool {
		return MinorAt(f.ID, r.rec.DecidedAt, cal.Loc) || r.rec.DecidedAt.Before(noEffectBefore)
	}

	// Records: status, lifetime, disputes.
	evals := make([]*recEval, 0, len(recs))
	if len(recs) > 0 {
		s.Records = make([]RecordState, 0, len(recs)) // sized once: a RecordState holds a whole record
	}
	for _, r := range recs {
		ev := evalRecord(pol, r, at, nx, minorRecord(r))
		evals = append(evals, ev)
		s.Records = append(s.Records, recordState(pol, ev, at))
	}

	// Rule-based listings.
	onList := map[string]*Listing{}
	var listIDs []string
	for _, ev := range evals {
		if ev.rule == nil || ev.void || ev.minor {
			continue
		}
		for _, lid := range ev.rule.ListIDs() {
			l := pol.List(lid)
			spec := ev.rule.Lists[lid]
			from, to := listingSpan(pol, l, spec, ev.recFacts)
			nx.add(from)
			nx.add(to)
			if !from.Before(to) && !to.IsZero() {
				continue
			}
			if !(interval{from, to}).contains(at) || ev.suspended {
				continue
			}
			if l.SuspendedDuringDispute() && suspendedAt(ev.listSusp, at) {
				continue
			}
			li := onList[lid]
			if li == nil {
				li = &Listing{List: lid, Kind: l.Kind, Since: from, LegalBasis: l.LegalBasis.String()}
				onList[lid] = li
				listIDs = append(listIDs, lid)
			}
			if from.Before(li.Since) {
				li.Since = from
			}
			if to.After(li.Until) {
				li.Until = to
			}
			li.UntilFulfilled = li.UntilFulfilled || spec.UntilFulfilled
			li.Records = append(li.Records, ev.rec.ID)
		}
	}

	// Schemes.
	vars := &policy.Vars{Tiers: map[string]string{}, Scores: map[string]int64{}, Subject: subjectVars(f, age)}
	for _, sc := range pol.Schemes {
		if !sc.Applies(kind) {
			continue
		}
		ss := SchemeState{Scheme: sc.ID}
		switch {
		case sc.MinAge > 0 && age >= 0 && age < sc.MinAge:
			ss.Why = "under_min_age"
		case sc.ConsentRequired() && !consented(consents[sc.ID], at, nx):
			ss.Why = "no_consent"
		default:
			ss.Scored = true
			ss.Score, ss.Contributions = score(pol, sc, evals)
			ss.Tier = sc.TierOf(ss.Score)
			vars.Tiers[sc.ID] = ss.Tier
			vars.Scores[sc.ID] = int64(ss.Score)
		}
		s.Schemes = append(s.Schemes, ss)
	}

	// Derived lists, in declaration order; minors are never listed. A
	// list that is suspended during a dispute is decided on the scores
	// without the records under an open objection, as a rule-named list
	// is without the disputed record.
	sort.Strings(listIDs)
	vars.Lists = listIDs
	var undisputed *policy.Vars
	for _, l := range pol.Lists {
		if !l.Derived() || (age >= 0 && age < adultAge) {
			continue
		}
		v := vars
		if l.SuspendedDuringDispute() && disputedPoints(evals) {
			if undisputed == nil {
				undisputed = undisputedVars(pol, s.Schemes, evals, vars)
			}
			undisputed.Lists = vars.Lists
			v = undisputed
		}
		if policy.Eval(l.Program(), v) {
			onList[l.ID] = &Listing{List: l.ID, Kind: l.Kind, Derived: true, LegalBasis: l.LegalBasis.String()}
			vars.Lists = append(vars.Lists, l.ID)
		}
	}
	for _, l := range pol.Lists {
		if li := onList[l.ID]; li != nil {
			s.Listings = append(s.Listings, *li)
		}
	}

	// Measures against the subject itself.
	for _, m := range pol.Measures {
		if !m.AppliesTo(kind) || !policy.Eval(m.Program(), vars) {
			continue
		}
		s.InForce.Add(m.Index())
		s.Measures = append(s.Measures, measureState(m, onList, "", ""))
	}

	// Measures that reach the subject as a responsible person of an
	// organisation: only those whose policy says so (principle 9), and
	// never a minor, whom no sanction may reach (the 18th birthday is
	// already a next change).
	minorNow := age >= 0 && age < adultAge
	for _, org := range f.Orgs {
		if minorNow {
			break
		}
		for _, ln := range links {
			if ln.Org != org.ID.Canonical || ln.Person != f.ID.Canonical {
				continue
			}
			nx.add(ln.From)
			nx.add(ln.Until)
			if !(interval{ln.From, ln.Until}).contains(at) {
				continue
			}
			// The organisation as far as the person answers for it: not
			// for records decided before they came of age.
			os := evaluate(pol, &Facts{ID: org.ID, Events: org.Events}, at, known, AdultFrom(f.ID, cal.Loc))
			nx.add(os.Next)
			for _, ms := range os.Measures {
				m := pol.Measure(ms.Measure)
				if !contains(m.ExtendsTo, ln.Role) || s.InForce.Has(m.Index()) {
					continue
				}
				s.InForce.Add(m.Index())
				ms.Via, ms.ViaRole, ms.ExemptPrivate = org.ID.Canonical, ln.Role, m.ExemptPrivate
				s.Measures = append(s.Measures, ms)
			}
		}
	}
	s.Next = nx.next
	return s
}

// disputedPoints reports whether a record that counts for points is under
// an open objection at the instant.
func disputedPoints(evals []*recEval) bool {
	for _, ev := range evals {
		if ev.pointsOn && ev.disputed {
			return true
		}
	}
	return false
}

// undisputedVars are the condition variables with every scheme scored
// without the records under an open objection.
func undisputedVars(pol *policy.Policy, schemes []SchemeState, evals []*recEval, vars *policy.Vars) *policy.Vars {
	kept := make([]*recEval, 0, len(evals))
	for _, ev := range evals {
		if !ev.disputed {
			kept = append(kept, ev)
		}
	}
	u := &policy.Vars{Tiers: map[string]string{}, Scores: map[string]int64{}, Subject: vars.Subject}
	for _, ss := range schemes {
		if !ss.Scored {
			continue
		}
		sc := pol.Scheme(ss.Scheme)
		score, _ := score(pol, sc, kept)
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

func subjectVars(f *Facts, age int) map[string]any {
	m := map[string]any{"kind": f.ID.Kind.String(), "region": f.ID.Region, "province": f.ID.ProvinceCode}
	if age >= 0 {
		m["age"] = int64(age)
		m["sex"] = f.ID.Sex.String()
	}
	return m
}

// consented reports whether the latest consent event in force at at gives
// consent.
func consented(cs []credo.Consent, at time.Time, nx *nexter) bool {
	given := false
	var last time.Time
	for _, c := range cs {
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

// evalRecord computes one record's standing at the instant.
func evalRecord(pol *policy.Policy, r *recFacts, at time.Time, nx *nexter, minor bool) *recEval {
	ev := &recEval{recFacts: r, rule: pol.Rule(r.rec.Rule), minor: minor}
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

	_, proc := DisputeProcedure(pol, ev.rule)
	for _, d := range r.disputes {
		deadline := DisputeDeadline(cal, proc, d.d)
		open := interval{d.d.OpenedAt, d.decidedAt}
		ev.listSusp = append(ev.listSusp, open)
		nx.add(d.d.OpenedAt)
		nx.add(d.decidedAt)
		if open.contains(at) {
			ev.disputed = true
			ev.deadline = deadline
		}
		if d.decidedAt.IsZero() || d.decidedAt.After(deadline) {
			nx.add(deadline)
			if proc.Overdue == "suspend" {
				iv := interval{deadline, d.decidedAt}
				if iv.contains(at) {
					ev.suspendAll, ev.suspended = iv, true
				}
			}
			if (interval{deadline, d.decidedAt}).contains(at) {
				ev.overdue = true
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

func suspendedAt(ivs []interval, at time.Time) bool {
	for _, iv := range ivs {
		if iv.contains(at) {
			return true
		}
	}
	return false
}

// listingSpan is when a record keeps the subject on a list: from the
// decision date or the end of the notice period, whichever is later, until
// the period ends (or the obligation is fulfilled, at the latest at the
// maximum), the record is revoked or repaired.
func listingSpan(pol *policy.Policy, l *policy.List, spec policy.ListingSpec, r *recFacts) (from, to time.Time) {
	cal := pol.Calendar
	from = r.rec.DecidedAt
	if !l.Notice.IsZero() && l.Notice.N > 0 {
		if eff := cal.Add(NoticeServed(&r.rec), l.Notice); eff.After(from) {
			from = eff
		}
	}
	if spec.UntilFulfilled {
		to = minTime(cal.Add(r.rec.DecidedAt, spec.Max), r.fulfilled)
	} else {
		to = cal.Add(r.rec.DecidedAt, spec.Period)
	}
	to = minTime(to, r.revokedAt, r.repaired)
	return from, to
}

// score sums the points of the records counting at the instant, applying
// each rule's cap per window in decision order, and clamps to the bounds.
func score(pol *policy.Policy, sc *policy.Scheme, evals []*recEval) (int, []Contribution) {
	total := sc.Base
	var contribs []Contribution
	type credited struct {
		at  time.Time
		pts int
	}
	history := map[string][]credited{}
	for _, ev := range evals {
		if !ev.pointsOn {
			continue
		}
		ps, ok := ev.rule.Points[sc.ID]
		if !ok {
			continue
		}
		pts := RecordPoints(ps, &ev.rec)
		c := Contribution{RecordID: ev.rec.ID, Rule: ev.rule.Code, Points: pts}
		if ps.Cap > 0 {
			used := 0
			for _, h := range history[ev.rule.Code] {
				if pol.Calendar.Add(h.at, ps.Per).After(ev.rec.DecidedAt) {
					used += abs(h.pts)
				}
			}
			room := ps.Cap - used
			if room < 0 {
				room = 0
			}
			if abs(pts) > room {
				c.Capped = true
				if pts < 0 {
					pts = -room
				} else {
					pts = room
				}
				c.Points = pts
			}
			history[ev.rule.Code] = append(history[ev.rule.Code], credited{ev.rec.DecidedAt, pts})
		}
		total += pts
		contribs = append(contribs, c)
	}
	if total < sc.Bounds[0] {
		total = sc.Bounds[0]
	}
	if total > sc.Bounds[1] {
		total = sc.Bounds[1]
	}
	return total, contribs
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
	rs := RecordState{Record: ev.rec, Until: ev.end, Disputed: ev.disputed, Overdue: ev.overdue, Minor: ev.minor}
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
	if from, ok := RepairFrom(pol, ev.rule, &ev.rec); ok {
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
