// Package simulate shows what a draft policy would do, and to whom, before
// it is published: it evaluates every subject under the policy in force
// and under the draft at the same instant and reports the difference —
// tier transitions per scheme, entries and exits per list, decisions newly
// applied or lifted per sector, breakdowns by district, age band and sex
// (organisations: district and registration type), all derived from the
// identifiers, and the disparity ratio of every adverse effect across
// groups, flagged under a threshold (the four-fifths rule by default).
//
// Same code path as live decisions: each subject's facts are loaded once,
// the way the registry loads them to build its decision table, and
// evaluated under both policies as the table evaluates them
// (engine.Evaluator.Standing: lists, tiers, scores and the measures in
// force, the conditions' outcome remembered); decisions come from the
// check's own function (engine.SectorRef.Verdict). There is no second
// implementation of the rules: a test holds every subject's outcome equal
// to engine.Evaluate's and State.Decide's.
//
// # Population
//
// The store knows only subjects with events. Without a census the report
// covers the subjects with at least one event the engine reads (records,
// their changes, disputes, consents, links): rates are then rates among
// those subjects, not among all residents. With Options.Census (every
// subject identifier of the population, for instance a civil register or a
// synthetic city) the subjects without events are evaluated too, each
// with no facts, by the same engine function (cached per kind and birth
// date, and per sex and region when a policy's conditions read them).
//
// # Disparity
//
// The definition is stated in every report (Definition): for each adverse
// effect and dimension, rate = affected / members per group; ratio =
// lowest rate / highest rate across groups with at least MinGroup members
// (minors excluded from the age bands: no sanction may reach them); flagged
// when below Threshold (default 0.8).
package simulate

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/policy"
	"credo/registry"
)

// Options tune a simulation. The zero value is the default.
type Options struct {
	// Threshold flags a disparity ratio below it (default 0.8).
	Threshold float64
	// MinGroup is the least members a group needs to take part in a
	// disparity ratio (default 30).
	MinGroup int
	// Top is how many most-affected subjects to keep (default 50; negative:
	// none).
	Top int
	// Workers evaluate subjects in parallel (default GOMAXPROCS).
	Workers int
	// Parser validates the subjects of the log (default: strict).
	Parser *ident.Parser
	// Census, if set, calls fn with every subject identifier of the
	// population, with events or not, so that the report covers everyone.
	Census func(fn func(subject string) error) error
	// Visit, if set, is called with every subject's standing under both
	// policies (from several goroutines at once: it must be safe for
	// concurrent use). For exports and for checking the simulation against
	// live decisions.
	Visit  func(Outcome)
	Logger *slog.Logger
	// Known is the instant whose knowledge is used: only events recorded
	// by then count, as in every command's --known (zero: at). The CLI and
	// the API pass now, so that --at alone means "what would apply at at,
	// by everything known today", as it does for checks.
	Known time.Time

	// materialise reads every subject's facts into memory first (LoadFacts)
	// even from a store with the facts projection, which is otherwise
	// streamed: the tests hold the two reports equal.
	materialise bool
}

// Outcome is one subject's standing under the current policy and under
// the draft.
type Outcome struct {
	Subject string
	Before  Standing
	After   Standing
}

// Standing is a subject's tiers, listings and decisions under one policy.
type Standing struct {
	Tiers     map[string]string // scheme -> tier, Unscored; schemes that do not apply are absent
	Scores    map[string]int    // scheme -> score (scored schemes only)
	Lists     []string          // the lists the subject is on, in universe order
	Decisions map[string]string // sector -> allow | limit | deny, for every sector of both policies
	Grants    []string          // sectors with a grant in force
}

func (u *universe) standing(o *outcome) Standing {
	st := Standing{Tiers: map[string]string{}, Scores: map[string]int{}, Decisions: map[string]string{}}
	for i, sc := range u.schemes {
		t := o.tier[i]
		if t == sc.absent() {
			continue
		}
		st.Tiers[sc.id] = sc.tiers[t]
		if sc.real(t) {
			st.Scores[sc.id] = o.score[i]
		}
	}
	for i, l := range u.lists {
		if o.lists[i] {
			st.Lists = append(st.Lists, l.id)
		}
	}
	for i, sec := range u.sectors {
		d := engine.Allow
		switch o.sect[i] & 3 {
		case decDeny:
			d = engine.Deny
		case decLimit:
			d = engine.Limit
		}
		st.Decisions[sec.id] = d
		if o.sect[i]&decGrant != 0 {
			st.Grants = append(st.Grants, sec.id)
		}
	}
	return st
}

func (o *Options) defaults() {
	if o.Threshold == 0 {
		o.Threshold = 0.8
	}
	if o.MinGroup <= 0 {
		o.MinGroup = 30
	}
	if o.Top == 0 {
		o.Top = 50
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Parser == nil {
		o.Parser = &ident.Parser{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run evaluates every subject of the store under the current policy and
// under the draft at instant at (as known at at) and reports the
// difference.
func Run(ctx context.Context, store registry.LogReader, current, draft engine.Version, at time.Time, opts Options) (*Report, error) {
	opts.defaults()
	if current.Policy == nil || draft.Policy == nil {
		return nil, credo.Errorf(credo.EINVALID, "simulate: both the current and the draft policy are required")
	}
	if opts.Threshold < 0 || opts.Threshold > 1 {
		return nil, credo.FieldErrorf("threshold", "must be between 0 and 1, got %g", opts.Threshold)
	}
	known := opts.Known
	if known.IsZero() {
		known = at
	}
	u := newUniverse(current.Policy, draft.Policy)
	s := &sim{u: u, at: at, known: known, loc: current.Policy.Location(), opts: opts,
		usesSubject: current.Policy.UsesSubject() || draft.Policy.UsesSubject()}
	aggs := make([]*agg, opts.Workers)
	for w := range aggs {
		aggs[w] = s.newAgg()
	}
	var ev evaluated
	var load time.Duration
	start := time.Now()
	if fr, ok := registry.FactsReaderOf(store); ok && !opts.materialise {
		// The facts projection, streamed: each subject is evaluated as
		// its range is read, and only the counts are kept.
		var err error
		if ev, err = s.stream(ctx, fr, aggs); err != nil {
			return nil, err
		}
	} else {
		facts, skipped, err := LoadFacts(ctx, store, opts.Parser)
		if err != nil {
			return nil, err
		}
		load = time.Since(start)
		start = time.Now()
		ev = evaluated{n: len(facts), skipped: skipped}
		ev.first, ev.hasFirst = firstRecorded(facts)
		if opts.Census != nil {
			ev.seen = make(map[string]struct{}, len(facts))
			for _, f := range facts {
				ev.seen[f.ID.Canonical] = struct{}{}
			}
		}
		s.evaluateAll(ctx, facts, aggs)
	}
	for _, sk := range ev.skipped {
		opts.Logger.Warn("subject in the log no longer parses", "subject", sk)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Census != nil {
		if err := s.census(ctx, ev.seen, aggs); err != nil {
			return nil, err
		}
	}
	total := aggs[0]
	for _, a := range aggs[1:] {
		total.merge(a)
	}
	r := s.report(total, current, draft)
	r.Population.WithEvents = ev.n
	r.Population.Census = opts.Census != nil
	if r.Population.Census {
		r.Population.Note = fmt.Sprintf("All %d subjects of the census supplied (%d with events in the registry; those without events evaluated with no facts).", r.Population.Subjects, ev.n)
	} else {
		r.Population.Note = fmt.Sprintf("The %d subjects with at least one event in the registry. Subjects without records are unknown to the registry and not counted: rates are rates among subjects with records, not among all residents.", ev.n)
	}
	if len(ev.skipped) > 0 {
		r.Population.Note += fmt.Sprintf(" %d subject identifiers in the log no longer parse and were left out.", len(ev.skipped))
	}
	r.At, r.Known = at.In(s.loc), known.In(s.loc)
	if first, ok := ev.first, ev.hasFirst; ok && known.Before(first) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("nothing was known yet at %s: the registry's first event was recorded at %s, so both policies see no records and the report is empty (--known sets the instant whose knowledge is used; by default now)",
			known.In(s.loc).Format(time.RFC3339), first.In(s.loc).Format(time.RFC3339)))
	}
	r.Timing = Timing{Load: load, Evaluate: time.Since(start), Workers: opts.Workers}
	return r, nil
}

// LoadFacts reads the facts projection (or, from a store without one, the
// event log once, grouped by subject) into the facts the engine evaluates — exactly as the registry builds its decision
// table (registry.ReadLog: one sequence range per core, read concurrently):
// a person's facts carry the links that name them and the facts of the
// organisations they are linked to. It returns the subjects whose
// identifiers no longer parse separately.
func LoadFacts(ctx context.Context, store registry.LogReader, parser *ident.Parser) ([]*engine.Facts, []string, error) {
	if parser == nil {
		parser = &ident.Parser{}
	}
	var facts []*engine.Facts
	var skipped []string
	if fr, ok := registry.FactsReaderOf(store); ok {
		// The facts projection: no event body is read.
		var err error
		if facts, skipped, err = registry.ReadFacts(ctx, fr, parser); err != nil {
			return nil, nil, err
		}
	} else {
		lg, err := registry.ReadLog(ctx, store)
		if err != nil {
			return nil, nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		facts, skipped = lg.Facts(parser)
	}
	// A stable order: the report (and its most-affected ties) must not
	// depend on map iteration.
	sort.Slice(facts, func(i, j int) bool { return facts[i].ID.Canonical < facts[j].ID.Canonical })
	sort.Strings(skipped)
	return facts, skipped, nil
}

// sim is one simulation's shared, read-only setup.
type sim struct {
	u           *universe
	at, known   time.Time
	loc         *time.Location
	opts        Options
	usesSubject bool
}

// agg accumulates the counts of the subjects one worker evaluated.
type agg struct {
	s        *sim
	ev       *engine.Evaluator // the worker's: its memory of the conditions
	before   *outcome
	after    *outcome
	adverse  []int // effect indexes of the current subject
	subjects int
	persons  int
	orgs     int
	changed  int

	trans   [][]int // per scheme: from*n+to
	lists   [][4]int
	meas    [][4]int
	sectors [][12]int
	effects []int
	groups  [numDims]map[string]*groupAgg
	top     topHeap
	keys    [numDims]string

	defaults map[defaultKey]*defaultOutcome
}

type groupAgg struct {
	size   int
	counts []int // per effect
}

// Sector counters.
const (
	scDeniedBefore = iota
	scDeniedAfter
	scNewlyDenied
	scDenialsLifted
	scLimitedBefore
	scLimitedAfter
	scNewlyLimited
	scLimitsLifted
	scGrantedBefore
	scGrantedAfter
	scNewlyGranted
	scGrantsLost
)

// List counters.
const (
	lcBefore = iota
	lcAfter
	lcEntries
	lcExits
)

func (s *sim) newAgg() *agg {
	u := s.u
	a := &agg{s: s, ev: engine.NewEvaluator(), before: u.newOutcome(), after: u.newOutcome(),
		trans: make([][]int, len(u.schemes)), lists: make([][4]int, len(u.lists)), meas: make([][4]int, len(u.measures)), sectors: make([][12]int, len(u.sectors)),
		effects: make([]int, len(u.effects)), defaults: map[defaultKey]*defaultOutcome{}}
	for i, sc := range u.schemes {
		a.trans[i] = make([]int, len(sc.tiers)*len(sc.tiers))
	}
	for d := range a.groups {
		a.groups[d] = map[string]*groupAgg{}
	}
	return a
}

// subject evaluates one subject under both policies and counts the
// difference.
func (a *agg) subject(f *engine.Facts) {
	s := a.s
	a.s.u.fillStanding(a.before, 0, a.ev.Standing(s.u.cur, f, s.at, s.known))
	a.s.u.fillStanding(a.after, 1, a.ev.Standing(s.u.dr, f, s.at, s.known))
	a.count(f.ID, a.before, a.after, 1)
	if v := s.opts.Visit; v != nil {
		v(Outcome{Subject: f.ID.Canonical, Before: s.u.standing(a.before), After: s.u.standing(a.after)})
	}
}

// count adds n subjects of identifier id (n > 1 never: defaults are
// counted one by one for their groups) with these outcomes. The adverse
// effects it finds (a.adverse) are counted overall, for the subject's
// groups, and rank the subject among the most affected.
func (a *agg) count(id ident.ID, b, o *outcome, n int) {
	a.subjects += n
	switch id.Kind {
	case credo.Person:
		a.persons += n
	case credo.Org:
		a.orgs += n
	}
	a.adverse = a.adverse[:0]
	af := Affected{Subject: id.Canonical, Kind: id.Kind.String()}
	changed := a.countSchemes(b, o, n, &af)
	changed = a.countLists(b, o, n, &af) || changed
	a.countMeasures(b, o, n)
	changed = a.countSectors(b, o, n, &af) || changed
	if changed {
		a.changed += n
	}
	if len(a.adverse) > 0 {
		a.adverse = append(a.adverse, 0) // "any"
	}
	for _, e := range a.adverse {
		a.effects[e] += n
	}
	a.countGroups(id, n)
	a.rank(af)
}

// countSchemes counts the tier transitions; a changed tier is a change,
// a lower one adverse.
func (a *agg) countSchemes(b, o *outcome, n int, af *Affected) (changed bool) {
	u := a.s.u
	for i, sc := range u.schemes {
		from, to := b.tier[i], o.tier[i]
		if from == sc.absent() && to == sc.absent() {
			continue
		}
		a.trans[i][int(from)*len(sc.tiers)+int(to)] += n
		if from != to {
			changed = true
			af.Tiers = append(af.Tiers, TierChange{Scheme: sc.id, From: sc.tiers[from], To: sc.tiers[to], ScoreBefore: b.score[i], ScoreAfter: o.score[i]})
		}
		if sc.tierDown(from, to) && u.tierEff[i] >= 0 {
			a.adverse = append(a.adverse, u.tierEff[i])
		}
	}
	return changed
}

// countMembership adds n to a list's or a measure's counters: before,
// after, entries and exits. It returns +1 for an entry, -1 for an exit.
func countMembership(c *[4]int, was, is bool, n int) int {
	if was {
		c[lcBefore] += n
	}
	if is {
		c[lcAfter] += n
	}
	switch {
	case is && !was:
		c[lcEntries] += n
		return 1
	case was && !is:
		c[lcExits] += n
		return -1
	}
	return 0
}

// countLists counts the listings; entering a black list or leaving a red
// one is adverse.
func (a *agg) countLists(b, o *outcome, n int, af *Affected) (changed bool) {
	u := a.s.u
	for i, l := range u.lists {
		switch countMembership(&a.lists[i], b.lists[i], o.lists[i], n) {
		case 1:
			changed = true
			af.Entered = append(af.Entered, l.id)
			if l.kind != "red" && u.listEff[i] >= 0 {
				a.adverse = append(a.adverse, u.listEff[i])
			}
		case -1:
			changed = true
			af.Left = append(af.Left, l.id)
			if l.kind == "red" && u.listEff[i] >= 0 {
				a.adverse = append(a.adverse, u.listEff[i])
			}
		}
	}
	return changed
}

// countMeasures counts the measures in force.
func (a *agg) countMeasures(b, o *outcome, n int) {
	for i := range a.s.u.measures {
		countMembership(&a.meas[i], b.meas[i], o.meas[i], n)
	}
}

// countSectors counts the decisions per sector; a new denial or limit and
// a lost grant are adverse.
func (a *agg) countSectors(b, o *outcome, n int, af *Affected) (changed bool) {
	u := a.s.u
	for i, sec := range u.sectors {
		was, is := b.sect[i], o.sect[i]
		c := &a.sectors[i]
		wd, id := was&3, is&3
		wg, ig := was&decGrant != 0, is&decGrant != 0
		countBoth(c, scDeniedBefore, scDeniedAfter, wd == decDeny, id == decDeny, n)
		countBoth(c, scLimitedBefore, scLimitedAfter, wd == decLimit, id == decLimit, n)
		countBoth(c, scGrantedBefore, scGrantedAfter, wg, ig, n)
		if was != is {
			changed = true
		}
		switch {
		case id == decDeny && wd != decDeny:
			c[scNewlyDenied] += n
			af.NewlyDenied = append(af.NewlyDenied, sec.id)
			a.adverseIf(u.denyEff[i])
		case wd == decDeny && id != decDeny:
			c[scDenialsLifted] += n
		}
		switch {
		case id == decLimit && wd == decAllow:
			c[scNewlyLimited] += n
			af.NewlyLimited = append(af.NewlyLimited, sec.id)
			a.adverseIf(u.limitEff[i])
		case wd == decLimit && id != decLimit:
			c[scLimitsLifted] += n
		}
		switch {
		case ig && !wg:
			c[scNewlyGranted] += n
		case wg && !ig:
			c[scGrantsLost] += n
			af.GrantsLost = append(af.GrantsLost, sec.id)
			a.adverseIf(u.grantEff[i])
		}
	}
	return changed
}

// countBoth adds n to counter before if was, and to counter after if is.
func countBoth(c *[12]int, before, after int, was, is bool, n int) {
	if was {
		c[before] += n
	}
	if is {
		c[after] += n
	}
}

// adverseIf notes effect e (none when negative) as adverse.
func (a *agg) adverseIf(e int) {
	if e >= 0 {
		a.adverse = append(a.adverse, e)
	}
}

// countGroups adds the subject and its adverse effects to each of its
// groups.
func (a *agg) countGroups(id ident.ID, n int) {
	groupKeys(id, a.s.at, a.s.loc, &a.keys)
	for d, k := range a.keys {
		if k == "" {
			continue
		}
		g := a.groups[d][k]
		if g == nil {
			g = &groupAgg{counts: make([]int, len(a.s.u.effects))}
			a.groups[d][k] = g
		}
		g.size += n
		for _, e := range a.adverse {
			g.counts[e] += n
		}
	}
}

// rank keeps the subject among the most affected (Options.Top) when it has
// adverse effects.
func (a *agg) rank(af Affected) {
	top := a.s.opts.Top
	if top <= 0 || len(a.adverse) == 0 {
		return
	}
	af.Adverse = len(a.adverse) - 1
	if len(a.top) < top || less(a.top[0], af.Adverse, af.Subject) {
		heap.Push(&a.top, af)
		if len(a.top) > top {
			heap.Pop(&a.top)
		}
	}
}

// less reports whether a kept entry ranks below a candidate (more adverse
// effects first, then by identifier).
func less(kept Affected, adverse int, subject string) bool {
	if kept.Adverse != adverse {
		return kept.Adverse < adverse
	}
	return kept.Subject > subject
}

// topHeap is a min-heap of the most affected subjects: the root is the
// one to drop first.
type topHeap []Affected

func (h topHeap) Len() int           { return len(h) }
func (h topHeap) Less(i, j int) bool { return less(h[i], h[j].Adverse, h[j].Subject) }
func (h topHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *topHeap) Push(x any)        { *h = append(*h, x.(Affected)) }
func (h *topHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// addCounts adds the counters of b to those of a.
func addCounts(a, b []int) {
	for i := range a {
		a[i] += b[i]
	}
}

func (a *agg) merge(b *agg) {
	a.subjects += b.subjects
	a.persons += b.persons
	a.orgs += b.orgs
	a.changed += b.changed
	for i := range a.trans {
		addCounts(a.trans[i], b.trans[i])
	}
	for i := range a.lists {
		addCounts(a.lists[i][:], b.lists[i][:])
	}
	for i := range a.meas {
		addCounts(a.meas[i][:], b.meas[i][:])
	}
	for i := range a.sectors {
		addCounts(a.sectors[i][:], b.sectors[i][:])
	}
	addCounts(a.effects, b.effects)
	for d := range a.groups {
		for k, g := range b.groups[d] {
			mine := a.groups[d][k]
			if mine == nil {
				a.groups[d][k] = g
				continue
			}
			mine.size += g.size
			for i := range mine.counts {
				mine.counts[i] += g.counts[i]
			}
		}
	}
	for _, af := range b.top {
		if top := a.s.opts.Top; len(a.top) < top || less(a.top[0], af.Adverse, af.Subject) {
			heap.Push(&a.top, af)
			if len(a.top) > top {
				heap.Pop(&a.top)
			}
		}
	}
}

// defaultKey is what the state of a subject without events depends on:
// its kind and birth date, and its sex and region when a condition reads
// them.
type defaultKey struct {
	kind   credo.SubjectKind
	birth  time.Time
	sex    credo.Sex
	region string
}

type defaultOutcome struct{ before, after *outcome }

// census evaluates the subjects of the census that have no events: each
// with no facts, by the engine, cached by what its state depends on.
func (s *sim) census(ctx context.Context, seen map[string]struct{}, aggs []*agg) error {
	batches := make(chan []string, len(aggs))
	var wg sync.WaitGroup
	errs := make([]error, len(aggs))
	for w, a := range aggs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				for _, subject := range batch {
					if errs[w] != nil || ctx.Err() != nil {
						continue
					}
					id, err := s.opts.Parser.Parse(subject)
					if err != nil {
						errs[w] = fmt.Errorf("census subject %q: %w", subject, err)
						continue
					}
					a.defaultSubject(id)
				}
			}
		}()
	}
	var batch []string
	err := s.opts.Census(func(subject string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, ok := seen[subject]; ok {
			return nil
		}
		batch = append(batch, subject)
		if len(batch) == 4096 {
			select {
			case batches <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = nil
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		select {
		case batches <- batch:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	close(batches)
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	for _, e := range errs {
		if e != nil {
			return credo.Errorf(credo.EINVALID, "%v", e)
		}
	}
	return nil
}

func (a *agg) defaultSubject(id ident.ID) {
	k := defaultKey{kind: id.Kind, birth: id.Birth}
	if a.s.usesSubject {
		k.sex, k.region = id.Sex, id.Region
	}
	d := a.defaults[k]
	if d == nil {
		u := a.s.u
		f := &engine.Facts{ID: id}
		d = &defaultOutcome{before: u.newOutcome(), after: u.newOutcome()}
		u.fillStanding(d.before, 0, a.ev.Standing(u.cur, f, a.s.at, a.s.known))
		u.fillStanding(d.after, 1, a.ev.Standing(u.dr, f, a.s.at, a.s.known))
		a.defaults[k] = d
	}
	a.count(id, d.before, d.after, 1)
	if v := a.s.opts.Visit; v != nil {
		v(Outcome{Subject: id.Canonical, Before: a.s.u.standing(d.before), After: a.s.u.standing(d.after)})
	}
}

// report turns the merged counts into a report.
func (s *sim) report(a *agg, current, draft engine.Version) *Report {
	u := s.u
	r := &Report{At: s.at, Threshold: s.opts.Threshold, MinGroup: s.opts.MinGroup, Changed: a.changed, Definition: Definition,
		Current:    PolicyRef{Hash: current.Hash, Name: current.Policy.Name, Version: current.Policy.Version},
		Draft:      PolicyRef{Hash: draft.Hash, Name: draft.Policy.Name, Version: draft.Policy.Version},
		Population: Population{Subjects: a.subjects, Persons: a.persons, Orgs: a.orgs},
		Schemes:    []SchemeShift{}, Lists: []ListShift{}, Sectors: []SectorShift{}, Measures: []MeasureShift{}, Breakdowns: []Breakdown{}, Disparities: []Disparity{}}
	for i, sc := range u.schemes {
		n := len(sc.tiers)
		ss := SchemeShift{Scheme: sc.id, Title: sc.title.String(), Titles: sc.title.Map(), Tiers: sc.tiers, Transitions: []Transition{}, Before: map[string]int{}, After: map[string]int{}}
		for f := 0; f < n; f++ {
			for t := 0; t < n; t++ {
				c := a.trans[i][f*n+t]
				if c == 0 {
					continue
				}
				ss.Before[sc.tiers[f]] += c
				ss.After[sc.tiers[t]] += c
				switch {
				case f == t:
					ss.Stayed += c
				default:
					ss.Transitions = append(ss.Transitions, Transition{From: sc.tiers[f], To: sc.tiers[t], Count: c})
					if sc.tierDown(int16(f), int16(t)) {
						ss.Down += c
					} else if sc.tierUp(int16(f), int16(t)) {
						ss.Up += c
					}
				}
			}
		}
		r.Schemes = append(r.Schemes, ss)
	}
	for i, l := range u.lists {
		c := a.lists[i]
		r.Lists = append(r.Lists, ListShift{List: l.id, Title: l.title.String(), Titles: l.title.Map(), Kind: l.kind, Status: l.status,
			Before: c[lcBefore], After: c[lcAfter], Entries: c[lcEntries], Exits: c[lcExits]})
	}
	for i, sec := range u.sectors {
		c := a.sectors[i]
		r.Sectors = append(r.Sectors, SectorShift{Sector: sec.id, Title: sec.title.String(), Titles: sec.title.Map(),
			DeniedBefore: c[scDeniedBefore], DeniedAfter: c[scDeniedAfter], NewlyDenied: c[scNewlyDenied], DenialsLifted: c[scDenialsLifted],
			LimitedBefore: c[scLimitedBefore], LimitedAfter: c[scLimitedAfter], NewlyLimited: c[scNewlyLimited], LimitsLifted: c[scLimitsLifted],
			GrantedBefore: c[scGrantedBefore], GrantedAfter: c[scGrantedAfter], NewlyGranted: c[scNewlyGranted], GrantsLost: c[scGrantsLost]})
	}
	for i, m := range u.measures {
		c := a.meas[i]
		r.Measures = append(r.Measures, MeasureShift{Measure: m.id, Title: m.title.String(), Titles: m.title.Map(), Sector: m.sector, Effect: m.effect, Status: m.status,
			Before: c[lcBefore], After: c[lcAfter], Applied: c[lcEntries], Lifted: c[lcExits]})
	}
	for i, e := range u.effects {
		e.Count = a.effects[i]
		r.Effects = append(r.Effects, e)
	}
	for d := 0; d < numDims; d++ {
		if len(a.groups[d]) == 0 {
			continue
		}
		b := Breakdown{Dimension: dimNames[d].id, Label: dimNames[d].label}
		for k, g := range a.groups[d] {
			grp := Group{Key: k, Name: groupName(d, k), Size: g.size, Affected: map[string]int{}, Excluded: groupExcluded(d, k)}
			for i, c := range g.counts {
				if c > 0 {
					grp.Affected[u.effects[i].ID] = c
				}
			}
			b.Groups = append(b.Groups, grp)
		}
		sortGroups(d, b.Groups)
		r.Breakdowns = append(r.Breakdowns, b)
		for i, e := range u.effects {
			if a.effects[i] == 0 {
				continue
			}
			if dp, ok := disparity(b, e, s.opts.MinGroup, s.opts.Threshold); ok {
				r.Disparities = append(r.Disparities, dp)
			}
		}
	}
	if len(a.top) > 0 {
		top := append([]Affected(nil), a.top...)
		sort.Slice(top, func(i, j int) bool { return less(top[j], top[i].Adverse, top[i].Subject) })
		r.MostAffected = top
	}
	return r
}

// disparity computes the disparity ratio of one effect across the groups
// of a breakdown (see Definition).
func disparity(b Breakdown, e Effect, minGroup int, threshold float64) (Disparity, bool) {
	dp := Disparity{Dimension: b.Dimension, Effect: e.ID, Label: e.Label}
	var lo, hi Group
	first := true
	for _, g := range b.Groups {
		if g.Size < minGroup || g.Excluded != "" {
			continue
		}
		dp.Groups++
		dp.Affected += g.Affected[e.ID]
		rate := float64(g.Affected[e.ID]) / float64(g.Size)
		if first || rate < dp.MinRate {
			dp.MinRate, dp.MinGroup, lo = rate, g.Name, g
		}
		if first || rate > dp.MaxRate {
			dp.MaxRate, dp.MaxGroup, hi = rate, g.Name, g
		}
		first = false
	}
	if dp.Groups < 2 || dp.MaxRate == 0 {
		return dp, false
	}
	dp.Ratio = dp.MinRate / dp.MaxRate
	dp.Flagged = dp.Ratio < threshold
	pairs := float64(dp.Groups * (dp.Groups - 1) / 2)
	dp.PValue = min(1, pairs*fisherExact(hi.Affected[e.ID], hi.Size, lo.Affected[e.ID], lo.Size))
	dp.Significant = dp.PValue < 0.05
	return dp, true
}

func sortGroups(d int, gs []Group) {
	sort.Slice(gs, func(i, j int) bool {
		if d == dimPersonAge {
			return ageOrder[gs[i].Key] < ageOrder[gs[j].Key]
		}
		return gs[i].Key < gs[j].Key
	})
}

// Versions returns the policy version in force at instant at (as
// published by known) from the engine, and the draft as a version.
func Versions(eng *engine.Engine, at, known time.Time, draftName string, draftSrc []byte) (current, draft engine.Version, err error) {
	current, ok := eng.PolicyAt(at, known)
	if !ok {
		return current, draft, credo.Errorf(credo.ENOTFOUND, "no policy in force at %s: publish one first", at.Format(time.RFC3339))
	}
	p, err := policy.Parse(draftName, draftSrc)
	if err != nil {
		return current, draft, err
	}
	return current, engine.Version{Hash: policy.Hash(draftSrc), Policy: p, Effective: at, Published: known}, nil
}

// firstRecorded returns the earliest recording instant of the facts'
// events.
func firstRecorded(facts []*engine.Facts) (time.Time, bool) {
	var first time.Time
	for _, f := range facts {
		for i := range f.Events {
			if r := f.Events[i].Recorded; !r.IsZero() && (first.IsZero() || r.Before(first)) {
				first = r
			}
		}
	}
	return first, !first.IsZero()
}

// evaluated is what a simulation keeps of the subjects with events
// besides the counts: how many, the earliest instant recorded, the
// identifiers that no longer parse and, with a census, the identifiers.
type evaluated struct {
	n        int
	first    time.Time
	hasFirst bool
	skipped  []string
	seen     map[string]struct{}
}

// evaluateAll evaluates facts on the workers' aggregates. The workers look
// at the context before every subject: one subject's two evaluations are
// bounded (policy.MaxPolicyCost for the conditions; microseconds in
// practice), so a simulation stops within about a subject's time of its
// context ending (the client went away, the server shuts down).
func (s *sim) evaluateAll(ctx context.Context, facts []*engine.Facts, aggs []*agg) {
	var next atomic.Int64
	const chunk = 256
	var wg sync.WaitGroup
	for _, a := range aggs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(facts) {
					return
				}
				for _, f := range facts[lo:min(lo+chunk, len(facts))] {
					if ctx.Err() != nil {
						return
					}
					a.subject(f)
				}
			}
		}()
	}
	wg.Wait()
}

// stream evaluates every subject of the facts projection as it is read, a
// subject range per worker (registry.ScanFacts), holding no subject's
// facts once evaluated.
func (s *sim) stream(ctx context.Context, fr credo.FactsReader, aggs []*agg) (evaluated, error) {
	parts := make([]evaluated, len(aggs))
	skipped, err := registry.ScanFacts(ctx, fr, s.opts.Parser, len(aggs), func(w int, f *engine.Facts) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		aggs[w].subject(f)
		p := &parts[w]
		p.n++
		if first, ok := firstRecorded([]*engine.Facts{f}); ok && (!p.hasFirst || first.Before(p.first)) {
			p.first, p.hasFirst = first, true
		}
		if s.opts.Census != nil {
			if p.seen == nil {
				p.seen = map[string]struct{}{}
			}
			p.seen[f.ID.Canonical] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return evaluated{}, err
	}
	// The order subjects arrive in depends on the ranges and the workers:
	// nothing kept from it may.
	sort.Strings(skipped)
	ev := evaluated{skipped: skipped}
	if s.opts.Census != nil {
		ev.seen = map[string]struct{}{}
	}
	for _, p := range parts {
		ev.n += p.n
		if p.hasFirst && (!ev.hasFirst || p.first.Before(ev.first)) {
			ev.first, ev.hasFirst = p.first, true
		}
		for k := range p.seen {
			ev.seen[k] = struct{}{}
		}
	}
	return ev, nil
}
