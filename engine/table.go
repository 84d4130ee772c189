package engine

import (
	"math"
	"strings"
	"sync"
	"time"

	"credo"
	"credo/ident"
	"credo/policy"
)

// Entry is one subject's compact decision entry: the measures in force and
// the instant (Unix nanoseconds) at which it must be recomputed. 24 bytes.
type Entry struct {
	InForce MeasureSet
	Next    int64
}

const never = math.MaxInt64

// Effect is a decision in its compact form.
type Effect uint8

// The compact effects, ordered by severity.
const (
	EffectAllow Effect = iota
	EffectLimit
	EffectDeny
)

func (e Effect) String() string {
	switch e {
	case EffectLimit:
		return Limit
	case EffectDeny:
		return Deny
	}
	return Allow
}

// Verdict is the table's answer to a check: the effect and the measures of
// the sector that produced it (deny measures for a deny, limit measures for
// a limit), plus the sector's grants in force.
type Verdict struct {
	Effect   Effect
	Measures MeasureSet
	Grants   MeasureSet
}

// Loader returns the facts of a subject (with its linked organisations).
type Loader func(subject string) (*Facts, error)

// SectorRef is a sector resolved once, so that checks need no lookup by name.
type SectorRef struct {
	deny, limit, grant MeasureSet
}

const shardCount = 64

type shard struct {
	mu  sync.RWMutex
	ric map[uint64]slot // RIC-shaped identifiers (RICs, all-digit USCCs), by RICKey
	str map[string]slot // USCCs and passport subjects
}

// slot is an entry and its rule mask (table_rules.go; anyRule: unknown).
type slot struct {
	e     Entry
	rules uint64
}

// Table is the decision table: compact per-subject entries under one policy
// version, so that a check is a map lookup and a mask test and never
// evaluates CEL. An entry past its Next instant is recomputed first.
// Subjects without events share a per-kind default entry and cost nothing.
// Safe for concurrent use.
type Table struct {
	pol      *policy.Policy
	hash     string
	load     Loader
	sectors  map[string]*SectorRef
	defaults [3]Entry // by credo.SubjectKind
	// exactMiss: the policy's conditions read subject attributes, so a
	// subject without events cannot share a default entry.
	exactMiss bool
	shards    [shardCount]shard
	// refreshing serialises the refreshes of a subject (striped by its
	// shard): each loads the facts after the previous one stored its
	// entry, so the last entry stored reflects the newest facts read, and
	// a slow refresh can never overwrite a newer one with older facts.
	refreshing [shardCount]sync.Mutex
	// evaluators[i] is the working memory of the refreshes serialised by
	// refreshing[i].
	evaluators [shardCount]*Evaluator
	// ruleBit is the bit of each rule in the entries' rule masks.
	ruleBit map[string]uint8
}

// NewTable returns an empty table under a policy version. load is called to
// recompute an entry that has passed its Next instant.
func NewTable(pol *policy.Policy, hash string, load Loader, now time.Time) *Table {
	t := &Table{pol: pol, hash: hash, load: load, sectors: SectorRefs(pol)}
	for i := range t.shards {
		t.shards[i].ric = map[uint64]slot{}
		t.shards[i].str = map[string]slot{}
	}
	t.ruleBit = ruleBits(pol)
	t.exactMiss = pol.UsesSubject()
	for _, k := range []credo.SubjectKind{credo.Person, credo.Org} {
		t.defaults[k] = Entry{InForce: EntryFor(pol, &Facts{ID: ident.ID{Kind: k}}, now, now).InForce, Next: never}
	}
	t.exactMiss = t.exactMiss || ageMatters(pol, now, t.defaults[credo.Person])
	return t
}

// ageMatters reports whether a person without events is decided
// differently by age (a scheme with a minimum age, and no consent needed,
// whose tiers a condition reads; derived lists, which never take minors),
// so that such persons cannot share the default entry. A state without
// events depends on age only through the schemes' minimum ages and the
// age of majority: one birth date on each side of every threshold covers
// every case.
func ageMatters(pol *policy.Policy, now time.Time, def Entry) bool {
	ages := []int{0, adultAge}
	for _, sc := range pol.Schemes {
		if sc.MinAge > 0 {
			ages = append(ages, sc.MinAge)
		}
	}
	y, m, d := now.In(pol.Calendar.Loc).Date()
	for _, a := range ages {
		// Born the day before the date a years ago: aged exactly a.
		id := ident.ID{Kind: credo.Person, Birth: time.Date(y-a, m, d-1, 0, 0, 0, 0, time.UTC)}
		if EntryFor(pol, &Facts{ID: id}, now, now).InForce != def.InForce {
			return true
		}
	}
	return false
}

// Policy returns the policy version the table decides under.
func (t *Table) Policy() *policy.Policy { return t.pol }

// PolicyHash returns the content hash of that version.
func (t *Table) PolicyHash() string { return t.hash }

// Sector resolves a sector id; ok is false for a sector the policy does not know.
func (t *Table) Sector(id string) (*SectorRef, bool) {
	r, ok := t.sectors[id]
	return r, ok
}

// RICKey packs an identifier of RIC shape (17 digits and a digit or X)
// into an integer: the 17 digits, times 11, plus the last character (X is
// 10). The last character must be in the key: an all-digit USCC could share
// its first 17 digits with a valid RIC, and the two must not share an
// entry (ident gives such identifiers, which read both ways, the canonical
// forms RIC:... and USCC:..., so they are never keyed here). The key stays
// below 11e17 < 2^63.
func RICKey(s string) (uint64, bool) {
	if len(s) != 18 {
		return 0, false
	}
	var k uint64
	for i := 0; i < 17; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		k = k*10 + uint64(c-'0')
	}
	switch c := s[17]; {
	case c >= '0' && c <= '9':
		return k*11 + uint64(c-'0'), true
	case c == 'X':
		return k*11 + 10, true
	}
	return 0, false
}

func (t *Table) shardFor(subject string, key uint64, isRIC bool) *shard {
	return &t.shards[t.shardIndex(subject, key, isRIC)]
}

func (t *Table) shardIndex(subject string, key uint64, isRIC bool) int {
	if isRIC {
		return int(key % shardCount)
	}
	var h uint32 = 2166136261
	for i := 0; i < len(subject); i++ {
		h = (h ^ uint32(subject[i])) * 16777619
	}
	return int(h % shardCount)
}

// Lookup returns a subject's stored entry and whether it has one of its
// own (false: it shares its kind's default), without recomputing it:
// for comparing tables.
func (t *Table) Lookup(subject string) (Entry, bool) { return t.lookup(subject) }

// kindOf tells a subject's kind from its canonical form. Eighteen digits
// may be a RIC or an all-digit USCC (914403001922038216): only when the
// kinds' default entries differ is such a subject parsed to tell which
// (ident.Parse does not allocate).
func (t *Table) kindOf(subject string, isRIC bool) credo.SubjectKind {
	switch {
	case len(subject) > 2 && subject[0] == 'P' && subject[1] == ':',
		strings.HasPrefix(subject, "RIC:"): // a RIC that could be read as a USCC
		return credo.Person
	case !isRIC:
		return credo.Org
	case t.defaults[credo.Person] == t.defaults[credo.Org]:
		return credo.Person // either will do
	}
	if id, err := ident.Parse(subject); err == nil {
		return id.Kind
	}
	return credo.Person
}

// lookup returns the entry of a subject and whether it has one of its own.
func (t *Table) lookup(subject string) (Entry, bool) {
	key, isRIC := RICKey(subject)
	sh := t.shardFor(subject, key, isRIC)
	sh.mu.RLock()
	var sl slot
	var ok bool
	if isRIC {
		sl, ok = sh.ric[key]
	} else {
		sl, ok = sh.str[subject]
	}
	sh.mu.RUnlock()
	e := sl.e
	if !ok {
		e = t.defaults[t.kindOf(subject, isRIC)]
	}
	return e, ok
}

// Check answers a check for a canonical subject identifier (validate it
// first: the table trusts its input) in a resolved sector at instant now.
// It does not allocate unless the entry must be recomputed.
func (t *Table) Check(subject string, sector *SectorRef, now time.Time) (Verdict, error) {
	e, own := t.lookup(subject)
	ns := now.UnixNano()
	if (own && e.Next <= ns) || (!own && t.exactMiss) {
		var err error
		if e, err = t.Refresh(subject, now); err != nil {
			return Verdict{}, err
		}
	}
	return verdict(e.InForce, sector), nil
}

// SectorRefs resolves every sector of a policy (those its measures name
// and those it declares) for checks: Table.Check and SectorRef.Verdict.
func SectorRefs(pol *policy.Policy) map[string]*SectorRef {
	refs := map[string]*SectorRef{}
	for _, m := range pol.Measures {
		ref := refs[m.Sector]
		if ref == nil {
			ref = &SectorRef{}
			refs[m.Sector] = ref
		}
		switch m.Effect {
		case Deny:
			ref.deny.Add(m.Index())
		case Limit:
			ref.limit.Add(m.Index())
		default:
			ref.grant.Add(m.Index())
		}
	}
	for _, s := range pol.Sectors {
		if refs[s.ID] == nil {
			refs[s.ID] = &SectorRef{}
		}
	}
	return refs
}

// Verdict is the check's answer in the sector for a subject with these
// measures in force (an Entry's, or a Standing's), as Table.Check gives it.
func (sector *SectorRef) Verdict(inForce MeasureSet) Verdict { return verdict(inForce, sector) }

func verdict(inForce MeasureSet, sector *SectorRef) Verdict {
	v := Verdict{Grants: inForce.And(sector.grant)}
	if d := inForce.And(sector.deny); !d.Empty() {
		v.Effect, v.Measures = EffectDeny, d
	} else if l := inForce.And(sector.limit); !l.Empty() {
		v.Effect, v.Measures = EffectLimit, l
	}
	return v
}

// Entry returns a subject's current entry (recomputing it if stale).
func (t *Table) Entry(subject string, now time.Time) (Entry, error) {
	e, own := t.lookup(subject)
	if (own && e.Next <= now.UnixNano()) || (!own && t.exactMiss) {
		return t.Refresh(subject, now)
	}
	return e, nil
}

// Refresh recomputes a subject's entry from its facts as known at now and
// stores it. Call it after every event that concerns the subject (and, for
// an organisation, for its linked persons).
func (t *Table) Refresh(subject string, now time.Time) (Entry, error) {
	key, isRIC := RICKey(subject)
	i := t.shardIndex(subject, key, isRIC)
	mu := &t.refreshing[i]
	mu.Lock()
	defer mu.Unlock()
	f, err := t.load(subject)
	if err != nil {
		return Entry{}, err
	}
	if t.evaluators[i] == nil {
		t.evaluators[i] = NewEvaluator()
	}
	e := t.evaluators[i].Entry(t.pol, f, now, now)
	if len(f.Events) > 0 {
		t.PutFacts(subject, e, f)
	} else {
		t.Put(subject, e, false)
	}
	return e, nil
}

// EntryOf compacts a state into a decision entry. The table computes its
// entries with Evaluator.Entry, which gives the same without the state.
func EntryOf(st *State) Entry {
	e := Entry{InForce: st.InForce, Next: never}
	if !st.Next.IsZero() {
		e.Next = st.Next.UnixNano()
	}
	return e
}

// Put stores a subject's entry; with own false it drops the subject's entry
// so that it falls back to its kind's default. The entry's rule mask is
// unknown (PutFacts knows it).
func (t *Table) Put(subject string, e Entry, own bool) {
	t.put(subject, e, own, anyRule)
}

// put stores an entry with its rule mask.
func (t *Table) put(subject string, e Entry, own bool, rules uint64) {
	key, isRIC := RICKey(subject)
	sh := t.shardFor(subject, key, isRIC)
	sh.mu.Lock()
	switch {
	case isRIC && own:
		sh.ric[key] = slot{e, rules}
	case isRIC:
		delete(sh.ric, key)
	case own:
		sh.str[subject] = slot{e, rules}
	default:
		delete(sh.str, subject)
	}
	sh.mu.Unlock()
}

// Len returns how many subjects have entries of their own.
func (t *Table) Len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.RLock()
		n += len(sh.ric) + len(sh.str)
		sh.mu.RUnlock()
	}
	return n
}

// Measures lists the policy measures in a set, for explaining a verdict.
func (t *Table) Measures(s MeasureSet) []*policy.Measure {
	var out []*policy.Measure
	for _, m := range t.pol.Measures {
		if s.Has(m.Index()) {
			out = append(out, m)
		}
	}
	return out
}
