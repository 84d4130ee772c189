package registry

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
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
//
// It is compact, because it holds every subject with events (the whole
// city: millions): a subject is a 64-bit key (a RIC-shaped identifier's
// digits, as the decision table keys it; other identifiers are numbered),
// and its contribution is the instant it holds until and the index of its
// shape, the lists at each instant and the tiers, interned (a city's
// millions of subjects share a few hundred shapes): 24 bytes a subject in
// an array sorted by key (censusSubjects), and 16 in the expiry heap. The
// totals are counts per shape. Only the subjects with
// public entries keep more: their identifier, name and entries.
type censusState struct {
	pol    *policy.Policy
	hash   string
	points int
	words  int       // uint64 words of list bits an instant
	at     time.Time // the instants' now
	seq    int64     // the log is applied up to here
	lists  map[string]int

	subs    censusSubjects    // by subject key (censusState.key)
	names   map[string]uint64 // the keys of subjects not RIC-shaped
	nameOf  []string          // their identifiers, by key&^censusNamed
	shapes  []censusShape
	shapeOf map[string]uint32 // interned shapes by their encoding
	count   []int             // subjects of each shape
	tierOf  map[censusTier]uint16
	tierAt  []censusTier // [code-1]; code 0: the scheme does not apply
	listed  map[uint64]*censusListed
	expiry  expiryHeap
	filed   map[int64]int32 // records filed at most 31 days before at, by recorded instant (Unix ns)
	total   int

	reevaluated int       // subjects re-evaluated by the last advance (-1: built anew)
	saved       time.Time // when the state was last saved (census_snapshot.go)
}

// subjectCensus is one subject's part of the census: 16 bytes.
type subjectCensus struct {
	until int64  // Unix ns: it holds at the instants of any now before this
	shape uint32 // index in censusState.shapes; noShape: not counted
}

const noShape = math.MaxUint32

// censusSubjects maps subject keys to their parts: the subjects of the
// first build (or of the loaded file) in an array sorted by key, 24 bytes
// a subject, and those first seen since in a map. A subject that no
// longer counts stays in the array, marked noShape.
type censusSubjects struct {
	base  []censusItem // sorted by key once sealed
	extra map[uint64]subjectCensus
	bulk  bool // appending to base, unsorted: seal sorts it
}

type censusItem struct {
	key uint64
	subjectCensus
}

// find returns the index of key in base, or -1.
func (m *censusSubjects) find(key uint64) int {
	i, ok := slices.BinarySearchFunc(m.base, key, func(it censusItem, k uint64) int { return cmp.Compare(it.key, k) })
	if !ok {
		return -1
	}
	return i
}

func (m *censusSubjects) get(key uint64) (subjectCensus, bool) {
	if i := m.find(key); i >= 0 {
		return m.base[i].subjectCensus, m.base[i].shape != noShape
	}
	sc, ok := m.extra[key]
	return sc, ok
}

func (m *censusSubjects) put(key uint64, sc subjectCensus) {
	if m.bulk {
		m.base = append(m.base, censusItem{key, sc})
	} else if i := m.find(key); i >= 0 {
		m.base[i].subjectCensus = sc
	} else {
		if m.extra == nil {
			m.extra = map[uint64]subjectCensus{}
		}
		m.extra[key] = sc
	}
}

func (m *censusSubjects) del(key uint64) {
	if i := m.find(key); i >= 0 {
		m.base[i].shape = noShape
	}
	delete(m.extra, key)
}

// all calls fn with every subject counted.
func (m *censusSubjects) all(fn func(key uint64, sc subjectCensus) error) error {
	for _, it := range m.base {
		if it.shape != noShape {
			if err := fn(it.key, it.subjectCensus); err != nil {
				return err
			}
		}
	}
	for k, sc := range m.extra {
		if err := fn(k, sc); err != nil {
			return err
		}
	}
	return nil
}

// startBulk starts appending to base (the first build, a load): every
// key once, or the last put of a key counts (seal returns the others).
func (m *censusSubjects) startBulk() { m.bulk = true }

// seal sorts base by key and returns the parts put more than once but
// the last, which it drops.
func (m *censusSubjects) seal() (dropped []subjectCensus) {
	m.bulk = false
	slices.SortStableFunc(m.base, func(a, b censusItem) int { return cmp.Compare(a.key, b.key) })
	out := m.base[:0]
	for i, it := range m.base {
		if i+1 < len(m.base) && m.base[i+1].key == it.key {
			if it.shape != noShape {
				dropped = append(dropped, it.subjectCensus)
			}
			continue
		}
		out = append(out, it)
	}
	m.base = slices.Clip(out)
	return dropped
}

// censusShape is a contribution's lists and tiers, shared by the subjects
// that have it.
type censusShape struct {
	lists []uint64 // [instant*words + list/64] bit list%64: pol.Lists[list]
	tiers []uint16 // [scheme] tier code (censusState.tierAt), 0 if the scheme does not apply
}

// censusTier is a subject's standing in a scheme: a tier, or the reason
// it is not scored.
type censusTier struct {
	kind uint8  // 0: the scheme does not apply; tierScored or tierWhy
	name string // the tier, or why not scored
}

const (
	tierScored = 1
	tierWhy    = 2
)

// censusListed is what the census keeps of a subject with public entries.
type censusListed struct {
	id      ident.ID
	name    string
	entries []censusEntry
}

// censusEntry is one public entry; the texts it shows (the authority's
// name, the conduct, the obligation) are the policy's, added when a
// census is taken.
type censusEntry struct {
	list           int
	since, until   time.Time
	untilFulfilled bool
	record         bool // the entry has a record (CaseRef, AuthorityID and Rule)
	caseRef        string
	authorityID    string
	rule           string
}

// contrib is one subject's evaluated contribution, before it is interned.
type contrib struct {
	until  int64
	lists  []uint64
	tiers  []censusTier
	listed *censusListed // nil: no public entries
}

type expiryItem struct {
	until int64
	key   uint64
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

// censusNamed marks the key of a subject whose identifier is not
// RIC-shaped: the rest is its index in censusState.nameOf.
const censusNamed = 1 << 63

// ricKey is the key of an 18-character identifier of 17 digits and a
// digit or X: the decision table's (engine.RICKey), so that the census and
// the table name a subject alike.
func ricKey(s string) (uint64, bool) { return engine.RICKey(s) }

// ricString is the identifier of a RIC-shaped key.
func ricString(k uint64) string {
	var b [18]byte
	if c := k % 11; c == 10 {
		b[17] = 'X'
	} else {
		b[17] = byte('0' + c)
	}
	k /= 11
	for i := 16; i >= 0; i-- {
		b[i] = byte('0' + k%10)
		k /= 10
	}
	return string(b[:])
}

// key returns a subject's key, numbering a new identifier not RIC-shaped.
func (s *censusState) key(subject string) uint64 {
	if k, ok := ricKey(subject); ok {
		return k
	}
	if k, ok := s.names[subject]; ok {
		return k
	}
	k := censusNamed | uint64(len(s.nameOf))
	s.names[subject] = k
	s.nameOf = append(s.nameOf, subject)
	return k
}

// subject returns the identifier of a key.
func (s *censusState) subject(k uint64) string {
	if k&censusNamed != 0 {
		return s.nameOf[k&^censusNamed]
	}
	return ricString(k)
}

// intern returns the index of a shape, adding it if it is new.
func (s *censusState) intern(lists []uint64, tiers []censusTier) uint32 {
	codes := make([]uint16, len(tiers))
	for k, t := range tiers {
		if t.kind == 0 {
			continue
		}
		code, ok := s.tierOf[t]
		if !ok {
			s.tierAt = append(s.tierAt, t)
			code = uint16(len(s.tierAt))
			s.tierOf[t] = code
		}
		codes[k] = code
	}
	buf := make([]byte, 0, 8*len(lists)+2*len(codes))
	for _, w := range lists {
		buf = binary.LittleEndian.AppendUint64(buf, w)
	}
	for _, c := range codes {
		buf = binary.LittleEndian.AppendUint16(buf, c)
	}
	if i, ok := s.shapeOf[string(buf)]; ok {
		return i
	}
	i := uint32(len(s.shapes))
	s.shapes = append(s.shapes, censusShape{lists: slices.Clone(lists), tiers: codes})
	s.count = append(s.count, 0)
	s.shapeOf[string(buf)] = i
	return i
}

const filedWindow = 31 * 24 * time.Hour

func newCensusState(pol *policy.Policy, hash string, points int, now time.Time) *censusState {
	s := &censusState{pol: pol, hash: hash, points: points, words: max((len(pol.Lists)+63)/64, 1), at: now, lists: map[string]int{},
		names: map[string]uint64{}, shapeOf: map[string]uint32{}, tierOf: map[censusTier]uint16{},
		listed: map[uint64]*censusListed{}, filed: map[int64]int32{}, reevaluated: -1}
	for i, l := range pol.Lists {
		s.lists[l.ID] = i
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

// contribution evaluates one subject at the census instants of now with
// ev (one per goroutine). With full, the facts are the projection's (no
// case references or names) and full loads the subject's whole events for
// its public entries.
//
// It reads only the lists, the schemes' standing and the next change at
// each instant (engine.Engine.Standing, which remembers the outcome of the
// policy's conditions as the decision table's evaluation does): what
// Evaluate explains beside them costs more than all of it. A subject on a
// public list of the policy at now is evaluated in full
// (explainedContribution), for its public entries; the two agree on
// everything else (TestCensusStandingEqualsExplained).
func (s *censusState) contribution(ctx context.Context, eng *engine.Engine, ev *engine.Evaluator, f *engine.Facts, now time.Time, full func(context.Context, string) (*engine.Facts, error)) (*contrib, error) {
	instants := s.instants(now)
	words := s.words
	c := &contrib{until: math.MaxInt64, lists: make([]uint64, len(instants)*words), tiers: make([]censusTier, len(s.pol.Schemes))}
	last := len(instants) - 1
	var prev *engine.Standing // the standing at the previous instant (ev's)
	for i, t := range instants {
		st := prev
		if prev == nil || !prev.Next.IsZero() && !prev.Next.After(t) {
			var err error
			if st, err = eng.Standing(ev, f, t, now); err != nil {
				prev = nil
				if i < last {
					continue // before the first policy
				}
				return nil, err
			}
		}
		// Otherwise the standing at the previous instant holds until its
		// next change, after this instant.
		prev = st
		for _, id := range st.Lists {
			if j, ok := s.lists[id]; ok {
				c.lists[i*words+j/64] |= 1 << (j % 64)
			}
		}
		if !st.Next.IsZero() {
			u := st.Next.Add(time.Duration(last-i) * censusMonth)
			c.until = min(c.until, u.UnixNano())
		}
		if i < last {
			continue
		}
		for _, id := range st.Lists {
			if l := s.pol.List(id); l != nil && l.Public {
				// Perhaps public entries: the explanation has them.
				return s.explainedContribution(ctx, eng, f, now, full)
			}
		}
		for k, sc := range s.pol.Schemes {
			for _, ss := range st.Schemes {
				if ss.Scheme != sc.ID {
					continue
				}
				if ss.Scored {
					c.tiers[k] = censusTier{tierScored, ss.Tier}
				} else {
					c.tiers[k] = censusTier{tierWhy, ss.Why}
				}
			}
		}
	}
	return c, nil
}

// explainedContribution is contribution from the subject's full states
// (engine.Engine.State), with its public entries.
func (s *censusState) explainedContribution(ctx context.Context, eng *engine.Engine, f *engine.Facts, now time.Time, full func(context.Context, string) (*engine.Facts, error)) (*contrib, error) {
	instants := s.instants(now)
	words := s.words
	c := &contrib{until: math.MaxInt64, lists: make([]uint64, len(instants)*words), tiers: make([]censusTier, len(s.pol.Schemes))}
	last := len(instants) - 1
	var prev *engine.State // the state at the previous instant
	for i, t := range instants {
		st := prev
		if prev == nil || !prev.Next.IsZero() && !prev.Next.After(t) {
			var err error
			if st, err = eng.State(f, t, now); err != nil {
				prev = nil
				if i < last {
					continue // before the first policy
				}
				return nil, err
			}
		}
		// Otherwise the state at the previous instant holds until its next
		// change, after this instant: its lists, tiers and listings are
		// this instant's, and so is its next change (which bounds until).
		prev = st
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
		s.tiersOf(c, st)
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
		c.listed = s.entriesOf(f.ID, st, t)
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

// tiersOf sets a contribution's standing in every scheme from a state.
func (s *censusState) tiersOf(c *contrib, st *engine.State) {
	for k, sc := range s.pol.Schemes {
		for _, ss := range st.Schemes {
			if ss.Scheme != sc.ID {
				continue
			}
			if ss.Scored {
				c.tiers[k] = censusTier{tierScored, ss.Tier}
			} else {
				c.tiers[k] = censusTier{tierWhy, ss.Why}
			}
		}
	}
}

// entriesOf returns a subject's public entries at instant t (nil if it
// has none): one per record behind a listing (or, for a derived list,
// one for its score), with the name the subject's records give.
func (s *censusState) entriesOf(id ident.ID, st *engine.State, t time.Time) *censusListed {
	ls := &censusListed{id: id}
	for _, rs := range st.Records {
		if rs.Record.SubjectName != "" {
			ls.name = rs.Record.SubjectName
		}
	}
	for _, li := range st.Listings {
		l := s.pol.List(li.List)
		if l == nil || !s.pol.Published(l, li.Since, li.Until, t) {
			continue // not public, or its publication period has run (publish_for)
		}
		base := censusEntry{list: s.lists[l.ID], since: li.Since, until: li.Until, untilFulfilled: li.UntilFulfilled}
		if len(li.Records) == 0 {
			ls.entries = append(ls.entries, base)
			continue
		}
		for _, rid := range li.Records {
			e := base
			if rs := st.Record(rid); rs != nil {
				e.record = true
				e.caseRef = rs.Record.CaseRef
				e.authorityID, e.rule = rs.Record.Authority, rs.Record.Rule
				// The policy's strings where it has them: one copy.
				if a := s.pol.Authority(e.authorityID); a != nil {
					e.authorityID = a.ID
				}
				if r := s.pol.Rule(e.rule); r != nil {
					e.rule = r.Code
				}
			}
			ls.entries = append(ls.entries, e)
		}
	}
	if len(ls.entries) == 0 {
		return nil
	}
	ls.entries = slices.Clip(ls.entries)
	return ls
}

// listEntry is a kept entry as the census shows it, with the policy's
// texts in its first language: the authority's name, the conduct and the
// obligation.
func (s *censusState) listEntry(ls *censusListed, ce *censusEntry) ListEntry {
	e := ListEntry{ID: ls.id, Name: ls.name, Since: ce.since, Until: ce.until, UntilFulfilled: ce.untilFulfilled}
	if !ce.record {
		return e
	}
	e.CaseRef, e.Authority, e.AuthorityID, e.Rule = ce.caseRef, ce.authorityID, ce.authorityID, ce.rule
	if a := s.pol.Authority(e.Authority); a != nil && !a.Name.IsZero() {
		e.Authority = a.Name.String()
	}
	if rule := s.pol.Rule(ce.rule); rule != nil {
		e.Conduct = rule.Title.String()
		e.Obligation = obligation(rule, ce.caseRef, s.pol.FirstLanguage())
	}
	return e
}

// set replaces a subject's contribution (nil: the subject has none).
func (s *censusState) set(subject string, c *contrib) {
	var k uint64
	if c != nil {
		k = s.key(subject)
	} else if s.subs.bulk {
		return // the first build counts subjects with contributions only
	} else if rk, ok := ricKey(subject); ok {
		k = rk
	} else if k, ok = s.names[subject]; !ok {
		return // never counted
	}
	if s.subs.bulk {
		// The first build: every subject once (sealBulk checks).
	} else if old, ok := s.subs.get(k); ok {
		s.count[old.shape]--
		s.total--
	}
	delete(s.listed, k)
	if c == nil {
		s.subs.del(k)
		return
	}
	sc := subjectCensus{until: c.until, shape: s.intern(c.lists, c.tiers)}
	s.subs.put(k, sc)
	s.count[sc.shape]++
	s.total++
	if c.listed != nil {
		s.listed[k] = c.listed
	}
	if c.until != math.MaxInt64 {
		heap.Push(&s.expiry, expiryItem{c.until, k})
	}
}

// sealBulk ends a bulk build of the subjects (censusSubjects.startBulk):
// a subject set twice counts once, as set last.
func (s *censusState) sealBulk() {
	for _, sc := range s.subs.seal() {
		s.count[sc.shape]--
		s.total--
	}
}

// noteFiled notes the records filed among a subject's facts (own records,
// recorded at most filedWindow before now, or later).
func (s *censusState) noteFiled(f *engine.Facts, now time.Time) {
	for _, ev := range f.Events {
		if ev.Type == credo.EventRecordFiled && ev.Subject == f.ID.Canonical && now.Sub(ev.Recorded) < filedWindow {
			s.filed[ev.Recorded.UnixNano()]++
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
	s.subs.startBulk()
	eng := c.reg.Engine()
	evs := make([]*engine.Evaluator, max(workers, 1))
	for w := range evs {
		evs[w] = engine.NewEvaluator()
	}
	var mu sync.Mutex
	add := func(w int, f *engine.Facts, full func(context.Context, string) (*engine.Facts, error)) error {
		ct, err := s.contribution(ctx, eng, evs[w], f, now, full)
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
		if _, err := ScanFacts(ctx, fr, c.reg.parser, max(workers, 1), func(w int, f *engine.Facts) error {
			return add(w, f, c.reg.Facts)
		}); err != nil {
			return nil, err
		}
		s.sealBulk()
		return s, nil
	}
	lg, err := readLog(ctx, store, head, max(workers, 1))
	if err != nil {
		return nil, err
	}
	facts, _ := lg.Facts(c.reg.parser)
	for _, f := range facts {
		if err := add(0, f, nil); err != nil {
			return nil, err
		}
	}
	s.sealBulk()
	return s, nil
}

// advance brings the census state to now under pol (hash: the version in
// force): the events appended since are applied (their subjects
// re-evaluated), then the subjects whose contribution ran out. A version
// published since is applied too when
// policyChange can place it: the subjects the table's incremental
// re-evaluation re-evaluated are re-evaluated as well. It reports false,
// having changed nothing, if the state cannot be advanced (a policy change
// it cannot place, or now is before the state's): build anew. With
// workers > 1 the subjects are re-evaluated on that many goroutines.
func (c *CensusCache) advance(ctx context.Context, s *censusState, pol *policy.Policy, hash string, now time.Time, workers int) (bool, error) {
	if now.Before(s.at) {
		return false, nil
	}
	store := c.reg.Store()
	affected := map[string]bool{}
	var (
		published []string // the versions published since, by hash
		filed     []int64  // records filed within the window (Unix ns)
	)
	seq := s.seq
	for {
		evs, err := store.Events(ctx, seq, 10000)
		if err != nil {
			return false, err
		}
		if len(evs) == 0 {
			break
		}
		for i := range evs {
			ev := &evs[i]
			seq = ev.Seq
			switch {
			case ev.Type == credo.EventPolicyPublished:
				if ev.Policy == nil {
					return false, nil
				}
				published = append(published, ev.Policy.Hash)
				continue
			case !storecore.HasFacts(ev.Type):
				continue
			case ev.Type == credo.EventRecordFiled && now.Sub(ev.Recorded) < filedWindow:
				filed = append(filed, ev.Recorded.UnixNano())
			}
			for _, cn := range storecore.Concerned(ev) {
				affected[cn.Subject] = true
			}
		}
	}
	eng := c.reg.Engine()
	if len(published) > 0 || hash != s.hash {
		subjects, why, err := c.policyChange(ctx, s, eng, published, pol, hash, now)
		if err != nil {
			return false, err
		}
		if why != "" {
			if lg := c.reg.log; lg != nil {
				lg.Info("census built anew", "reason", why)
			}
			return false, nil
		}
		for _, subject := range subjects {
			affected[subject] = true
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
	// From here on the state changes: an error leaves it half advanced
	// (the caller builds anew).
	s.seq, s.at, s.pol, s.hash = seq, now, pol, hash
	for _, ns := range filed {
		s.filed[ns]++
	}
	for len(s.expiry) > 0 && s.expiry[0].until <= now.UnixNano() {
		it := heap.Pop(&s.expiry).(expiryItem)
		if sc, ok := s.subs.get(it.key); ok && sc.until == it.until {
			affected[s.subject(it.key)] = true
		}
	}
	s.reevaluated = len(affected)
	return true, c.reevaluateCensus(ctx, s, eng, slices.Collect(maps.Keys(affected)), now, workers)
}

// reevaluateCensus re-evaluates subjects into the census state, on
// workers goroutines (each with its evaluator; the state is set under a
// lock).
func (c *CensusCache) reevaluateCensus(ctx context.Context, s *censusState, eng *engine.Engine, subjects []string, now time.Time, workers int) error {
	var mu sync.Mutex
	// A subject that no longer parses is not in the census (the table's
	// evaluation says so in the log).
	_, err := c.reg.eachSubjectFacts(ctx, subjects, workers, func(ev *engine.Evaluator, subject string, f *engine.Facts) error {
		ct, err := s.contribution(ctx, eng, ev, f, now, nil)
		if err != nil {
			return err
		}
		if len(f.Events) == 0 {
			ct = nil
		}
		mu.Lock()
		s.set(subject, ct)
		mu.Unlock()
		return nil
	})
	return err
}

// policyChange places the change of the versions published since the
// census state was built (published, by hash; pol and hash the version in
// force at now): it returns the subjects whose contribution the change can
// alter, or why the census must be built anew. Only one version published
// since is placed, and only when at every census instant the version in
// force is the same as before or has changed as the decision table's did
// in its last incremental re-evaluation (from the state's version to the
// one in force now), so that the subjects that re-evaluation took on are
// those the change can reach; the change must also leave alone what the
// census reads beyond the table: the lists and schemes (their order
// numbers the census's shapes) and the publication of the lists.
func (c *CensusCache) policyChange(ctx context.Context, s *censusState, eng *engine.Engine, published []string, pol *policy.Policy, hash string, now time.Time) (subjects []string, why string, err error) {
	sc := c.reg.reevaluated.Load()
	subjects, why = censusScope(s, sc, eng, published, pol, hash, now)
	if why != "" || sc == nil || sc.pos >= s.seq || len(subjects) == 0 {
		return subjects, why, nil
	}
	// The census has applied events the table had not when it was
	// re-evaluated: their subjects, new to the census or not, were not
	// among those it took on.
	seq := sc.pos
	for seq < s.seq {
		evs, err := c.reg.Store().Events(ctx, seq, 10000)
		if err != nil {
			return nil, "", err
		}
		if len(evs) == 0 {
			break
		}
		for i := range evs {
			ev := &evs[i]
			seq = ev.Seq
			if ev.Seq > s.seq {
				break
			}
			if storecore.HasFacts(ev.Type) {
				for _, cn := range storecore.Concerned(ev) {
					subjects = append(subjects, cn.Subject)
				}
			}
		}
	}
	return subjects, "", nil
}

// censusScope is policyChange without the events the table had not
// applied; sc is the table's last incremental re-evaluation.
func censusScope(s *censusState, sc *policyScope, eng *engine.Engine, published []string, pol *policy.Policy, hash string, now time.Time) (subjects []string, why string) {
	if len(published) == 0 {
		return nil, "a version published earlier took effect"
	}
	if len(published) != 1 {
		return nil, fmt.Sprintf("%d policy versions published since the census was built (one is placed)", len(published))
	}
	var before []engine.Version
	for _, v := range eng.Versions() {
		if v.Hash != published[0] {
			before = append(before, v)
		}
	}
	if len(before) != len(eng.Versions())-1 {
		return nil, "the version published is not among the registry's"
	}
	old := engine.New(before...)
	if v, ok := old.PolicyAt(now, now); !ok || v.Hash != s.hash {
		return nil, "the census's version is not the one in force before the publication"
	}
	changed := false
	for _, t := range s.instants(now) {
		a, okA := old.PolicyAt(t, now)
		b, okB := eng.PolicyAt(t, now)
		switch {
		case okA != okB:
			return nil, "a census instant had no version in force"
		case !okA || a.Hash == b.Hash:
		case a.Hash != s.hash || b.Hash != hash:
			return nil, "the publication changes the version in force at a census instant to other than the one in force now"
		default:
			changed = true
		}
	}
	if hash != s.hash && !changed {
		return nil, "the version in force changed without a publication"
	}
	if !changed {
		return nil, ""
	}
	if sc == nil || sc.from != s.hash || sc.to != hash {
		return nil, "the decision table was not re-evaluated incrementally for this change"
	}
	if why := censusReads(s.pol, pol); why != "" {
		return nil, why
	}
	return slices.Clone(sc.subjects), ""
}

// censusReads says what a change from policy a to policy b alters of what
// the census reads beyond what a decision entry depends on ("" if
// nothing): the lists and schemes and their order, and whether and for how
// long a list is published.
func censusReads(a, b *policy.Policy) string {
	ids := func(n int, id func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = id(i)
		}
		return out
	}
	if !slices.Equal(ids(len(a.Lists), func(i int) string { return a.Lists[i].ID }), ids(len(b.Lists), func(i int) string { return b.Lists[i].ID })) {
		return "the lists or their order changed"
	}
	if !slices.Equal(ids(len(a.Schemes), func(i int) string { return a.Schemes[i].ID }), ids(len(b.Schemes), func(i int) string { return b.Schemes[i].ID })) {
		return "the schemes or their order changed"
	}
	for _, ch := range policy.Compare(a, b).Changes {
		if ch.Section != "lists" {
			continue
		}
		for _, f := range ch.Fields {
			if head, _, _ := strings.Cut(f.Field, "."); censusListFields[head] {
				return fmt.Sprintf("list %s changed (%s)", ch.ID, f.Field)
			}
		}
	}
	return ""
}

// censusListFields are the fields of a list the census reads that no
// decision entry depends on: whether and for how long it is published.
var censusListFields = fieldSet("public", "publish", "publish_for")

// snapshot returns the census the state gives at its instant.
func (s *censusState) snapshot() *Census {
	now := s.at
	cs := newCensus(s.pol, s.hash, now, s.points)
	cs.Subjects = s.total
	for i, sh := range s.shapes {
		n := s.count[i]
		if n == 0 {
			continue
		}
		for p := range s.points {
			for j, l := range s.pol.Lists {
				if sh.lists[p*s.words+j/64]&(1<<(j%64)) != 0 {
					cs.Sizes[l.ID][p] += n
				}
			}
		}
		for k, code := range sh.tiers {
			if code == 0 {
				continue
			}
			t, sc := s.tierAt[code-1], s.pol.Schemes[k].ID
			if t.kind == tierScored {
				cs.Tiers[sc][t.name] += n
			} else {
				cs.Unscored[sc][t.name] += n
			}
		}
	}
	type named struct {
		subject string
		ls      *censusListed
	}
	listed := make([]named, 0, len(s.listed))
	for k, ls := range s.listed {
		listed = append(listed, named{s.subject(k), ls})
	}
	slices.SortFunc(listed, func(a, b named) int { return strings.Compare(a.subject, b.subject) })
	for _, n := range listed {
		for i := range n.ls.entries {
			ce := &n.ls.entries[i]
			id := s.pol.Lists[ce.list].ID
			cs.Entries[id] = append(cs.Entries[id], s.listEntry(n.ls, ce))
		}
	}
	loc := s.pol.Location()
	for ns, n := range s.filed {
		t := time.Unix(0, ns)
		if now.Sub(t) < filedWindow {
			cs.Filed[t.In(loc).Format("2006-01-02")] += int(n)
		} else {
			delete(s.filed, ns)
		}
	}
	return cs
}
