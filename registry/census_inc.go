package registry

import (
	"container/heap"
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"credo"
	"credo/engine"
	"credo/internal/storecore"
	"credo/policy"
)

// censusState is a census kept up to date instead of rebuilt: every
// subject's contribution (its lists at each instant, its tiers, its public
// entries) is kept with the instant until which it holds, and the totals
// with it. Advancing the census to a later instant re-evaluates only the
// subjects the events appended since concern (and the persons linked to
// an organisation among them) and those whose contribution has run out;
// every other subject's contribution is the same at the later instants
// (the state at an instant holds until its next change). It is built once
// from the facts projection (or the log), then kept from the log's tail.
type censusState struct {
	pol    *policy.Policy
	hash   string
	points int
	at     time.Time // the instants' now
	seq    int64     // the log is applied up to here
	lists  map[string]int

	subs   map[string]*contrib
	expiry expiryHeap
	sizes  [][]int          // [list][instant]
	tiers  []map[string]int // [scheme] tier -> count
	why    []map[string]int // [scheme] reason -> count
	filed  []int64          // recorded instants (Unix ns) of records filed at most 31 days before at
	listed map[string]bool  // subjects with public entries
	total  int

	reevaluated int       // subjects re-evaluated by the last advance (-1: built anew)
	saved       time.Time // when the state was last saved (census_snapshot.go)
}

// contrib is one subject's part of the census.
type contrib struct {
	until   int64      // Unix ns: it holds at the instants of any now before this
	lists   []uint64   // [instant] bit i: pol.Lists[i] (up to 64 lists a word)
	tiers   []string   // [scheme] "t:" tier or "w:" reason, "" if the scheme does not apply
	entries []listedAs // public entries at now
}

type listedAs struct {
	list string
	e    ListEntry
}

type expiryItem struct {
	until   int64
	subject string
}

type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until < h[j].until }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

const filedWindow = 31 * 24 * time.Hour

func newCensusState(pol *policy.Policy, hash string, points int, now time.Time) *censusState {
	s := &censusState{pol: pol, hash: hash, points: points, at: now, lists: map[string]int{},
		subs: map[string]*contrib{}, listed: map[string]bool{}, reevaluated: -1}
	for i, l := range pol.Lists {
		s.lists[l.ID] = i
		s.sizes = append(s.sizes, make([]int, points))
	}
	for range pol.Schemes {
		s.tiers = append(s.tiers, map[string]int{})
		s.why = append(s.why, map[string]int{})
	}
	return s
}

// censusMonth is the step between the census instants: a month of 30
// days, not a calendar month, so that the instants move with now as one
// (now.AddDate(0, -1, 0) jumps back at the end of a month: 31 March and 1
// April are both about 1 March) and a state seen at an instant holds,
// exactly, until now passes its next change plus the months back.
const censusMonth = 30 * 24 * time.Hour

// censusInstants are the census instants at now: now and points-1 months
// back, oldest first.
func censusInstants(now time.Time, points int) []time.Time {
	out := make([]time.Time, 0, points)
	for i := points - 1; i >= 0; i-- {
		out = append(out, now.Add(-time.Duration(i)*censusMonth))
	}
	return out
}

func (s *censusState) instants(now time.Time) []time.Time { return censusInstants(now, s.points) }

// contribution evaluates one subject at the census instants of now. With
// full, the facts are the projection's (no case references or names) and
// full loads the subject's whole events for its public entries.
func (s *censusState) contribution(ctx context.Context, eng *engine.Engine, f *engine.Facts, now time.Time, full func(context.Context, string) (*engine.Facts, error)) (*contrib, error) {
	instants := s.instants(now)
	words := (len(s.pol.Lists) + 63) / 64
	c := &contrib{until: math.MaxInt64, lists: make([]uint64, len(instants)*max(words, 1)), tiers: make([]string, len(s.pol.Schemes))}
	last := len(instants) - 1
	for i, t := range instants {
		st, err := eng.State(f, t, now)
		if err != nil {
			if i < last {
				continue // before the first policy
			}
			return nil, err
		}
		for _, li := range st.Listings {
			if j, ok := s.lists[li.List]; ok {
				c.lists[i*words+j/64] |= 1 << (j % 64)
			}
		}
		if !st.Next.IsZero() {
			// Instant i is now, months back: the state it sees holds while
			// the instant stays before st.Next, that is while now stays
			// before st.Next plus those months.
			u := st.Next.Add(time.Duration(last-i) * censusMonth)
			c.until = min(c.until, u.UnixNano())
		}
		if i < last {
			continue
		}
		for k, sc := range s.pol.Schemes {
			for _, ss := range st.Schemes {
				if ss.Scheme != sc.ID {
					continue
				}
				if ss.Scored {
					c.tiers[k] = "t:" + ss.Tier
				} else {
					c.tiers[k] = "w:" + ss.Why
				}
			}
		}
		if !hasPublic(s.pol, st, t) {
			continue
		}
		if full != nil {
			ff, err := full(ctx, f.ID.Canonical)
			if err != nil {
				return nil, err
			}
			if st, err = eng.State(ff, t, now); err != nil {
				return nil, err
			}
		}
		one := &Census{Entries: map[string][]ListEntry{}}
		one.addEntries(s.pol, f.ID, st, t)
		for list, es := range one.Entries {
			for _, e := range es {
				c.entries = append(c.entries, listedAs{list, e})
			}
		}
		// A public entry also ends when its publication period does.
		for _, li := range st.Listings {
			if l := s.pol.List(li.List); l != nil && l.Public {
				if end := s.pol.PublishedUntil(l, li.Since, li.Until); end.After(t) {
					c.until = min(c.until, end.UnixNano())
				}
				if li.Since.After(t) {
					c.until = min(c.until, li.Since.UnixNano())
				}
			}
		}
	}
	return c, nil
}

// apply adds (sign 1) or takes away (-1) a contribution from the totals.
func (s *censusState) apply(c *contrib, sign int) {
	words := max((len(s.pol.Lists)+63)/64, 1)
	for i := range s.points {
		for j := range s.pol.Lists {
			if c.lists[i*words+j/64]&(1<<(j%64)) != 0 {
				s.sizes[j][i] += sign
			}
		}
	}
	for k, t := range c.tiers {
		switch {
		case strings.HasPrefix(t, "t:"):
			s.tiers[k][t[2:]] += sign
		case strings.HasPrefix(t, "w:"):
			s.why[k][t[2:]] += sign
		}
	}
	s.total += sign
}

// set replaces a subject's contribution (nil: the subject has none).
func (s *censusState) set(subject string, c *contrib) {
	if old := s.subs[subject]; old != nil {
		s.apply(old, -1)
	}
	delete(s.listed, subject)
	if c == nil {
		delete(s.subs, subject)
		return
	}
	s.subs[subject] = c
	s.apply(c, 1)
	if len(c.entries) > 0 {
		s.listed[subject] = true
	}
	if c.until != math.MaxInt64 {
		heap.Push(&s.expiry, expiryItem{c.until, subject})
	}
}

// fileds notes the records filed among a subject's facts (own records,
// recorded at most filedWindow before now, or later).
func (s *censusState) noteFiled(f *engine.Facts, now time.Time) {
	for _, ev := range f.Events {
		if ev.Type == credo.EventRecordFiled && ev.Subject == f.ID.Canonical && now.Sub(ev.Recorded) < filedWindow {
			s.filed = append(s.filed, ev.Recorded.UnixNano())
		}
	}
}

// initialCensus builds a census state from every subject's facts: the
// facts projection's, or the log's (fromLog, or a store without one).
func (c *CensusCache) initialCensus(ctx context.Context, pol *policy.Policy, hash string, now time.Time, workers int) (*censusState, error) {
	s := newCensusState(pol, hash, c.opts.Points, now)
	store := c.reg.Store()
	head, _, err := store.Head(ctx)
	if err != nil {
		return nil, err
	}
	s.seq = head
	eng := c.reg.Engine()
	var mu sync.Mutex
	add := func(f *engine.Facts, full func(context.Context, string) (*engine.Facts, error)) error {
		ct, err := s.contribution(ctx, eng, f, now, full)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		s.set(f.ID.Canonical, ct)
		s.noteFiled(f, now)
		return nil
	}
	if fr, ok := FactsReaderOf(store); ok && !c.fromLog {
		_, err := ScanFacts(ctx, fr, c.reg.parser, max(workers, 1), func(_ int, f *engine.Facts) error {
			return add(f, c.reg.Facts)
		})
		return s, err
	}
	lg, err := readLog(ctx, store, head, max(workers, 1))
	if err != nil {
		return nil, err
	}
	facts, _ := lg.Facts(c.reg.parser)
	for _, f := range facts {
		if err := add(f, nil); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// advance brings the census state to now: the events appended since are
// applied (their subjects re-evaluated), then the subjects whose
// contribution ran out. It reports false if the state cannot be advanced
// (a policy was published, or now is before the state's): build anew.
func (c *CensusCache) advance(ctx context.Context, s *censusState, now time.Time) (bool, error) {
	if now.Before(s.at) {
		return false, nil
	}
	store := c.reg.Store()
	affected := map[string]bool{}
	for {
		evs, err := store.Events(ctx, s.seq, 10000)
		if err != nil {
			return false, err
		}
		if len(evs) == 0 {
			break
		}
		for i := range evs {
			ev := &evs[i]
			s.seq = ev.Seq
			switch {
			case ev.Type == credo.EventPolicyPublished:
				return false, nil
			case !storecore.HasFacts(ev.Type):
				continue
			case ev.Type == credo.EventRecordFiled && now.Sub(ev.Recorded) < filedWindow:
				s.filed = append(s.filed, ev.Recorded.UnixNano())
			}
			for _, cn := range storecore.Concerned(ev) {
				affected[cn.Subject] = true
			}
		}
	}
	// A person's facts carry the organisations they answer for.
	for subject := range affected {
		if id, err := c.reg.parser.Parse(subject); err == nil && id.Kind == credo.Org {
			persons, err := store.LinkedPersons(ctx, id.Canonical)
			if err != nil {
				return false, err
			}
			for _, p := range persons {
				affected[p] = true
			}
		}
	}
	s.at = now
	for len(s.expiry) > 0 && s.expiry[0].until <= now.UnixNano() {
		it := heap.Pop(&s.expiry).(expiryItem)
		if ct := s.subs[it.subject]; ct != nil && ct.until == it.until {
			affected[it.subject] = true
		}
	}
	eng := c.reg.Engine()
	s.reevaluated = len(affected)
	for subject := range affected {
		f, err := c.reg.Facts(ctx, subject)
		if err != nil {
			if credo.ErrorCode(err) == credo.EINVALID {
				continue // no longer parses: not in the census
			}
			return false, err
		}
		ct, err := s.contribution(ctx, eng, f, now, nil)
		if err != nil {
			return false, err
		}
		if len(f.Events) == 0 {
			ct = nil
		}
		s.set(subject, ct)
	}
	return true, nil
}

// snapshot returns the census the state gives at its instant.
func (s *censusState) snapshot() *Census {
	now := s.at
	cs := newCensus(s.pol, s.hash, now, s.points)
	cs.Subjects = s.total
	for j, l := range s.pol.Lists {
		copy(cs.Sizes[l.ID], s.sizes[j])
	}
	for k, sc := range s.pol.Schemes {
		for t, n := range s.tiers[k] {
			if n != 0 {
				cs.Tiers[sc.ID][t] = n
			}
		}
		for w, n := range s.why[k] {
			if n != 0 {
				cs.Unscored[sc.ID][w] = n
			}
		}
	}
	subjects := make([]string, 0, len(s.listed))
	for subject := range s.listed {
		subjects = append(subjects, subject)
	}
	slices.Sort(subjects)
	for _, subject := range subjects {
		for _, la := range s.subs[subject].entries {
			cs.Entries[la.list] = append(cs.Entries[la.list], la.e)
		}
	}
	loc := s.pol.Location()
	kept := s.filed[:0]
	for _, ns := range s.filed {
		t := time.Unix(0, ns)
		if now.Sub(t) < filedWindow {
			cs.Filed[t.In(loc).Format("2006-01-02")]++
			kept = append(kept, ns)
		}
	}
	s.filed = kept
	return cs
}
