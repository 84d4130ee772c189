package portal

import (
	"context"
	"sync"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/registry"
)

// census is a snapshot of every subject with events: the current public
// list entries (for the lookup), the tier distribution, the list sizes at
// a few past instants, and the records filed per day (for the dashboard).
//
// Like the API's census it streams the whole event log once and evaluates
// every subject, and is reused for a while: fine for a city; a national
// registry would keep listings as a projection in the store.
type census struct {
	at       time.Time
	policy   string
	subjects int
	// tiers[scheme][tier]; unscored subjects under "" .
	tiers map[string]map[string]int
	// sizes[list][i] is the list's size at instants[i] (oldest first).
	instants []time.Time
	sizes    map[string][]int
	entries  map[string][]listEntry // public lists, current entries
	filed    map[string]int         // records filed per day (policy time zone, YYYY-MM-DD)
}

// listEntry is one published entry: a subject on a list because of one
// record (or, for a derived list, because of its score).
type listEntry struct {
	id           ident.ID
	name         string
	since, until time.Time
	caseRef      string
	authority    string
	conduct      string
	obligation   string
}

// typedEventReader is a store that can read only the events of some types
// (the SQLite store can).
type typedEventReader interface {
	EventsOfType(ctx context.Context, after int64, limit int, types []credo.EventType) ([]credo.Event, error)
}

type censusCache struct {
	reg    *registry.Registry
	ttl    time.Duration
	points int

	mu       sync.Mutex
	cur      *census
	building bool          // a background rebuild is running
	done     chan struct{} // closed when it ends
	buildMu  sync.Mutex    // serialises synchronous builds
}

// get returns the census under the policy in force. The first one is
// built while the caller waits; after that a census older than the TTL is
// still returned (its "as of" instant is on every page that uses it) while
// a new one is built in the background, so that no page waits for a scan
// of the whole log.
func (c *censusCache) get(ctx context.Context) (*census, error) {
	_, hash, err := c.reg.Policy(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	cur := c.cur
	now := c.reg.Now()
	if cur != nil && cur.policy == hash {
		if (now.Sub(cur.at) >= c.ttl || now.Before(cur.at)) && !c.building {
			c.building = true
			c.done = make(chan struct{})
			go c.rebuild()
		}
		c.mu.Unlock()
		return cur, nil
	}
	if done := c.done; cur == nil && c.building && done != nil {
		// The first census is being built in the background: wait for it.
		c.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
		if cur := c.cur; cur != nil && cur.policy == hash {
			c.mu.Unlock()
			return cur, nil
		}
	}
	c.mu.Unlock()
	c.buildMu.Lock() // one synchronous build at a time
	defer c.buildMu.Unlock()
	c.mu.Lock()
	if c.cur != nil && c.cur.policy == hash {
		cur := c.cur
		c.mu.Unlock()
		return cur, nil
	}
	c.mu.Unlock()
	cs, err := c.build(ctx, c.reg.Now())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cur = cs
	c.mu.Unlock()
	return cs, nil
}

// warm starts building a census in the background unless one exists or
// is being built.
func (c *censusCache) warm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil && !c.building {
		c.building = true
		c.done = make(chan struct{})
		go c.rebuild()
	}
}

// rebuild builds a census in the background and swaps it in.
func (c *censusCache) rebuild() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cs, err := c.build(ctx, c.reg.Now())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.building = false
	close(c.done)
	if err == nil {
		c.cur = cs
	}
}

func (c *censusCache) build(ctx context.Context, now time.Time) (*census, error) {
	pol, hash, err := c.reg.Policy(ctx)
	if err != nil {
		return nil, err
	}
	loc := pol.Location()
	cs := &census{at: now, policy: hash, tiers: map[string]map[string]int{}, sizes: map[string][]int{},
		entries: map[string][]listEntry{}, filed: map[string]int{}}
	for i := c.points - 1; i >= 0; i-- {
		cs.instants = append(cs.instants, now.AddDate(0, -i, 0))
	}
	for _, l := range pol.Lists {
		cs.sizes[l.ID] = make([]int, len(cs.instants))
	}
	for _, sc := range pol.Schemes {
		cs.tiers[sc.ID] = map[string]int{}
	}
	store := c.reg.Store()
	// Read only the events the engine needs when the store can (notices,
	// with their long texts, are most of the log's bytes).
	read := store.Events
	if tr, ok := store.(typedEventReader); ok {
		read = func(ctx context.Context, after int64, limit int) ([]credo.Event, error) {
			return tr.EventsOfType(ctx, after, limit, engine.EventTypes)
		}
	}
	bySubject := map[string][]credo.Event{}
	var after int64
	for {
		evs, err := read(ctx, after, 10000)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			after = ev.Seq
			if ev.Type == credo.EventRecordFiled && now.Sub(ev.Recorded) < 31*24*time.Hour {
				cs.filed[ev.Recorded.In(loc).Format("2006-01-02")]++
			}
			if ev.Subject != "" && ev.Type != credo.EventLinkAdded && ev.Type != credo.EventLinkRemoved && ev.Type != credo.EventNoticeIssued {
				bySubject[ev.Subject] = append(bySubject[ev.Subject], ev)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	eng := c.reg.Engine()
	for subject, evs := range bySubject {
		id, err := c.reg.ParseSubject(subject)
		if err != nil {
			continue
		}
		f := &engine.Facts{ID: id, Events: evs}
		cs.subjects++
		for i, t := range cs.instants {
			st, err := eng.State(f, t, now)
			if err != nil {
				continue // before the first policy
			}
			for _, li := range st.Listings {
				if s := cs.sizes[li.List]; s != nil {
					s[i]++
				}
			}
			if i < len(cs.instants)-1 {
				continue
			}
			// Now: tiers and public entries.
			for _, sc := range st.Schemes {
				if m := cs.tiers[sc.Scheme]; m != nil {
					if sc.Scored {
						m[sc.Tier]++
					} else {
						m[""]++
					}
				}
			}
			name := ""
			for _, rs := range st.Records {
				if rs.Record.SubjectName != "" {
					name = rs.Record.SubjectName
				}
			}
			for _, li := range st.Listings {
				l := pol.List(li.List)
				if l == nil || !l.Public {
					continue
				}
				base := listEntry{id: id, name: name, since: li.Since, until: li.Until}
				if len(li.Records) == 0 {
					cs.entries[l.ID] = append(cs.entries[l.ID], base)
					continue
				}
				for _, rid := range li.Records {
					e := base
					if rs := st.Record(rid); rs != nil {
						e.caseRef = rs.Record.CaseRef
						e.authority = authorityName(pol, rs.Record.Authority)
						if rule := pol.Rule(rs.Record.Rule); rule != nil {
							e.conduct = rule.Title
							e.obligation = rule.Title
							if rule.LegalBasis != "" {
								e.obligation = "as determined in case " + rs.Record.CaseRef + " (" + rule.LegalBasis + ")"
							}
						}
					}
					cs.entries[l.ID] = append(cs.entries[l.ID], e)
				}
			}
		}
	}
	return cs, nil
}
