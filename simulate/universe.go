package simulate

import (
	"sort"

	"credo/engine"
	"credo/policy"
)

// universe is the union of what the two policies name — schemes and their
// tiers, lists, sectors — indexed so that one subject's outcome under
// either policy is a few small arrays.
type universe struct {
	cur, dr *policy.Policy

	schemes   []*schemeU
	schemeIdx map[string]int
	lists     []*listU
	listIdx   map[string]int
	sectors   []*sectorU
	sectorIdx map[string]int
	measures  []*measureU
	measIdx   map[string]int

	// Per policy (0: in force, 1: the draft), for fillStanding: the
	// sectors resolved as checks resolve them, by sector index (nil: not
	// in that policy), and the universe's index of each measure, by its
	// policy index.
	refs   [2][]*engine.SectorRef
	measOf [2][]int

	effects []Effect
	// effect indexes per sector/list/scheme (-1: the effect cannot occur).
	denyEff, limitEff, grantEff []int
	listEff                     []int
	tierEff                     []int
}

type schemeU struct {
	id      string
	title   policy.Text
	cur, dr *policy.Scheme
	tiers   []string // real tiers best first, then Unscored, Absent
	tierIdx map[string]int
	mins    []int // minimum score of each real tier (its own version's)
}

func (s *schemeU) unscored() int16 { return int16(len(s.tiers) - 2) }
func (s *schemeU) absent() int16   { return int16(len(s.tiers) - 1) }
func (s *schemeU) real(i int16) bool {
	return int(i) < len(s.tiers)-2
}

type listU struct {
	id, kind string
	title    policy.Text
	status   string
}

type sectorU struct {
	id    string
	title policy.Text
}

type measureU struct {
	id                     string
	title                  policy.Text
	sector, effect, status string
}

func newUniverse(cur, dr *policy.Policy) *universe {
	u := &universe{cur: cur, dr: dr, schemeIdx: map[string]int{}, listIdx: map[string]int{}, sectorIdx: map[string]int{}, measIdx: map[string]int{}}
	for _, p := range []*policy.Policy{cur, dr} {
		u.addSchemes(p)
		u.addLists(p)
		u.addSectorsAndMeasures(p)
	}
	for _, s := range u.schemes {
		s.mergeTiers()
	}
	u.addEffects()
	for i, p := range []*policy.Policy{cur, dr} {
		refs := engine.SectorRefs(p)
		u.refs[i] = make([]*engine.SectorRef, len(u.sectors))
		for j, sc := range u.sectors {
			u.refs[i][j] = refs[sc.id]
		}
		for _, m := range p.Measures {
			for len(u.measOf[i]) <= m.Index() {
				u.measOf[i] = append(u.measOf[i], -1)
			}
			u.measOf[i][m.Index()] = u.measIdx[m.ID]
		}
	}
	return u
}

// addSchemes adds p's schemes not yet in the universe.
func (u *universe) addSchemes(p *policy.Policy) {
	for _, sc := range p.Schemes {
		if _, ok := u.schemeIdx[sc.ID]; !ok {
			u.schemeIdx[sc.ID] = len(u.schemes)
			u.schemes = append(u.schemes, &schemeU{id: sc.ID, title: sc.Title, cur: u.cur.Scheme(sc.ID), dr: u.dr.Scheme(sc.ID)})
		}
	}
}

// addLists adds p's lists not yet in the universe, as the draft has them.
func (u *universe) addLists(p *policy.Policy) {
	cur, dr := u.cur, u.dr
	for _, l := range p.Lists {
		if _, ok := u.listIdx[l.ID]; !ok {
			lu := &listU{id: l.ID, title: l.Title, kind: l.Kind}
			if d := dr.List(l.ID); d != nil {
				lu.kind, lu.title = d.Kind, d.Title
			}
			lu.status = draftStatus(cur.List(l.ID) != nil, dr.List(l.ID) != nil)
			u.listIdx[l.ID] = len(u.lists)
			u.lists = append(u.lists, lu)
		}
	}
}

// draftStatus is what the draft does to an entry: "added" (not in force
// now), "removed" (not in the draft), or "" (in both).
func draftStatus(inCur, inDraft bool) string {
	switch {
	case !inCur:
		return "added"
	case !inDraft:
		return "removed"
	}
	return ""
}

// addSector adds a sector, or gives a known one the first title found.
func (u *universe) addSector(id string, title policy.Text) {
	if i, ok := u.sectorIdx[id]; ok {
		if u.sectors[i].title.IsZero() {
			u.sectors[i].title = title
		}
		return
	}
	u.sectorIdx[id] = len(u.sectors)
	u.sectors = append(u.sectors, &sectorU{id: id, title: title})
}

// addSectorsAndMeasures adds p's sectors, and its measures (with their
// sectors) as the draft has them.
func (u *universe) addSectorsAndMeasures(p *policy.Policy) {
	cur, dr := u.cur, u.dr
	for _, s := range p.Sectors {
		u.addSector(s.ID, s.Title)
	}
	for _, m := range p.Measures {
		u.addSector(m.Sector, policy.Text{})
		if _, ok := u.measIdx[m.ID]; !ok {
			mu := &measureU{id: m.ID, title: m.Title, sector: m.Sector, effect: m.Effect}
			if d := dr.Measure(m.ID); d != nil {
				mu.title, mu.sector, mu.effect = d.Title, d.Sector, d.Effect
			}
			mu.status = draftStatus(cur.Measure(m.ID) != nil, dr.Measure(m.ID) != nil)
			u.measIdx[m.ID] = len(u.measures)
			u.measures = append(u.measures, mu)
		}
	}
}

// mergeTiers orders the tiers of both versions of a scheme by minimum,
// highest first, then Unscored and Absent.
func (s *schemeU) mergeTiers() {
	type tm struct {
		name string
		min  int
	}
	var ts []tm
	seen := map[string]bool{}
	for _, sc := range []*policy.Scheme{s.cur, s.dr} {
		if sc == nil {
			continue
		}
		for _, t := range sc.Tiers {
			if !seen[t.Name] {
				seen[t.Name] = true
				ts = append(ts, tm{t.Name, t.Min})
			}
		}
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].min > ts[j].min })
	s.tierIdx = map[string]int{}
	for i, t := range ts {
		s.tiers = append(s.tiers, t.name)
		s.mins = append(s.mins, t.min)
		s.tierIdx[t.name] = i
	}
	s.tiers = append(s.tiers, Unscored, Absent)
}

// hasEffect reports whether p has a measure of effect in sector.
func hasEffect(p *policy.Policy, sector, effect string) bool {
	for _, m := range p.Measures {
		if m.Sector == sector && m.Effect == effect {
			return true
		}
	}
	return false
}

// addEffects lists the adverse effects: only those the draft can produce.
func (u *universe) addEffects() {
	cur, dr := u.cur, u.dr
	u.effects = []Effect{{ID: "any", Label: "any adverse effect"}}
	add := func(id, label string) int {
		u.effects = append(u.effects, Effect{ID: id, Label: label})
		return len(u.effects) - 1
	}
	for _, s := range u.sectors {
		name := s.id
		de, le, ge := -1, -1, -1
		if hasEffect(dr, s.id, engine.Deny) {
			de = add("deny:"+s.id, "newly denied: "+name)
		}
		if hasEffect(dr, s.id, engine.Limit) {
			le = add("limit:"+s.id, "newly limited: "+name)
		}
		if hasEffect(cur, s.id, "grant") {
			ge = add("grant-lost:"+s.id, "reward lost: "+name)
		}
		u.denyEff, u.limitEff, u.grantEff = append(u.denyEff, de), append(u.limitEff, le), append(u.grantEff, ge)
	}
	for _, l := range u.lists {
		e := -1
		switch {
		case l.kind == "red" && cur.List(l.id) != nil:
			e = add("delisted:"+l.id, "off the redlist: "+l.id)
		case l.kind != "red" && dr.List(l.id) != nil:
			e = add("list:"+l.id, "newly listed: "+l.id)
		}
		u.listEff = append(u.listEff, e)
	}
	for _, s := range u.schemes {
		e := -1
		if s.cur != nil && s.dr != nil {
			e = add("tier-down:"+s.id, "tier down: "+s.id)
		}
		u.tierEff = append(u.tierEff, e)
	}
}

// Sector decision codes in an outcome.
const (
	decAllow uint8 = 0
	decLimit uint8 = 1
	decDeny  uint8 = 2
	decGrant uint8 = 4 // bit: a grant in force
)

// outcome is one subject's standing under one policy, in universe indexes.
type outcome struct {
	tier  []int16
	score []int
	lists []bool
	sect  []uint8
	meas  []bool
}

func (u *universe) newOutcome() *outcome {
	return &outcome{tier: make([]int16, len(u.schemes)), score: make([]int, len(u.schemes)),
		lists: make([]bool, len(u.lists)), sect: make([]uint8, len(u.sectors)), meas: make([]bool, len(u.measures))}
}

// fillStanding records a standing computed by the engine's memoised path
// (engine.Evaluator.Standing, as the decision table and the census use it)
// under policy p (0: in force, 1: the draft): what fill records of the
// State engine.Evaluate gives, the decisions as a check gives them
// (engine.SectorRef.Verdict). TestStandingFillsAsEvaluate holds the two
// equal over a generated city.
func (u *universe) fillStanding(o *outcome, p int, st *engine.Standing) {
	for i, s := range u.schemes {
		o.tier[i], o.score[i] = s.absent(), 0
	}
	for _, ss := range st.Schemes {
		i := u.schemeIdx[ss.Scheme]
		s := u.schemes[i]
		if ss.Scored {
			o.tier[i], o.score[i] = int16(s.tierIdx[ss.Tier]), ss.Score
		} else {
			o.tier[i] = s.unscored()
		}
	}
	clear(o.lists)
	for _, l := range st.Lists {
		o.lists[u.listIdx[l]] = true
	}
	clear(o.meas)
	for idx, m := range u.measOf[p] {
		if m >= 0 && st.InForce.Has(idx) {
			o.meas[m] = true
		}
	}
	for i, ref := range u.refs[p] {
		var c uint8
		if ref != nil {
			v := ref.Verdict(st.InForce)
			switch v.Effect {
			case engine.EffectDeny:
				c = decDeny
			case engine.EffectLimit:
				c = decLimit
			}
			if !v.Grants.Empty() {
				c |= decGrant
			}
		}
		o.sect[i] = c
	}
}

// tierDown reports whether a move between two real tiers is a move down:
// to a tier whose minimum score is lower.
func (s *schemeU) tierDown(from, to int16) bool {
	return s.real(from) && s.real(to) && from != to && s.mins[to] < s.mins[from]
}

func (s *schemeU) tierUp(from, to int16) bool {
	return s.real(from) && s.real(to) && from != to && s.mins[to] > s.mins[from]
}
