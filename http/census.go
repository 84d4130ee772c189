package http

import (
	"context"
	"sync"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/registry"
)

// census is a snapshot of every subject with events, evaluated now: the
// current listings (for the public list lookup) and the tier distribution
// (for statistics).
//
// It is built by streaming the whole event log once and evaluating every
// subject, and reused for a short while. That is fine for a city-sized
// demo; a national registry would keep listings as a projection in the
// store (updated with every event, like the decision table) and query it
// by list and name instead.
type census struct {
	at       time.Time
	policy   string
	subjects int
	lists    map[string]*listCensus
	schemes  map[string]*schemeCensus
}

type listCensus struct {
	size    int
	entries []listEntry // public lists only
}

type schemeCensus struct {
	tiers    map[string]int
	unscored map[string]int // by reason
}

// listEntry is one published entry: a subject on a list because of one
// record (or, for a derived list, because of its score).
type listEntry struct {
	id             ident.ID
	name           string
	since, until   time.Time
	untilFulfilled bool
	caseRef        string
	authority      string
	conduct        string
	obligation     string
}

type censusCache struct {
	reg *registry.Registry
	ttl time.Duration

	mu  sync.Mutex
	cur *census
}

func newCensusCache(reg *registry.Registry, ttl time.Duration) *censusCache {
	return &censusCache{reg: reg, ttl: ttl}
}

// get returns a census no older than the TTL under the policy in force,
// building one if needed (one build at a time; others wait for it).
func (c *censusCache) get(ctx context.Context) (*census, error) {
	_, hash, err := c.reg.Policy(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.reg.Now()
	if c.cur != nil && c.cur.policy == hash && now.Sub(c.cur.at) < c.ttl && !now.Before(c.cur.at) {
		return c.cur, nil
	}
	cs, err := c.build(ctx, now)
	if err != nil {
		return nil, err
	}
	c.cur = cs
	return cs, nil
}

func (c *censusCache) build(ctx context.Context, now time.Time) (*census, error) {
	pol, hash, err := c.reg.Policy(ctx)
	if err != nil {
		return nil, err
	}
	store := c.reg.Store()
	bySubject := map[string][]credo.Event{}
	var after int64
	for {
		evs, err := store.Events(ctx, after, 10000)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			after = ev.Seq
			if ev.Subject != "" && ev.Type != credo.EventLinkAdded && ev.Type != credo.EventLinkRemoved {
				bySubject[ev.Subject] = append(bySubject[ev.Subject], ev)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	cs := &census{at: now, policy: hash, lists: map[string]*listCensus{}, schemes: map[string]*schemeCensus{}}
	for _, l := range pol.Lists {
		cs.lists[l.ID] = &listCensus{}
	}
	for _, sc := range pol.Schemes {
		cs.schemes[sc.ID] = &schemeCensus{tiers: map[string]int{}, unscored: map[string]int{}}
	}
	eng := c.reg.Engine()
	for subject, evs := range bySubject {
		id, err := c.reg.ParseSubject(subject)
		if err != nil {
			continue
		}
		st, err := eng.State(&engine.Facts{ID: id, Events: evs}, now, now)
		if err != nil {
			return nil, err
		}
		cs.subjects++
		for _, sc := range st.Schemes {
			sm := cs.schemes[sc.Scheme]
			if sm == nil {
				continue
			}
			if sc.Scored {
				sm.tiers[sc.Tier]++
			} else {
				sm.unscored[sc.Why]++
			}
		}
		name := ""
		for _, rs := range st.Records {
			if rs.Record.SubjectName != "" {
				name = rs.Record.SubjectName
			}
		}
		for _, li := range st.Listings {
			lc := cs.lists[li.List]
			l := pol.List(li.List)
			if lc == nil || l == nil {
				continue
			}
			lc.size++
			if !l.Public {
				continue
			}
			base := listEntry{id: id, name: name, since: li.Since, until: li.Until, untilFulfilled: li.UntilFulfilled}
			if len(li.Records) == 0 {
				lc.entries = append(lc.entries, base)
				continue
			}
			for _, rid := range li.Records {
				e := base
				if rs := st.Record(rid); rs != nil {
					e.caseRef = rs.Record.CaseRef
					e.authority = rs.Record.Authority
					if a := pol.Authority(e.authority); a != nil && a.Name != "" {
						e.authority = a.Name
					}
					if rule := pol.Rule(rs.Record.Rule); rule != nil {
						e.conduct = rule.Title
						e.obligation = rule.Title
						if rule.LegalBasis != "" {
							e.obligation = "as determined in case " + rs.Record.CaseRef + " (" + rule.LegalBasis + ")"
						}
					}
				}
				lc.entries = append(lc.entries, e)
			}
		}
	}
	return cs, nil
}
