package registry

import (
	"context"
	"credo/policy"
	"runtime"
	"sync"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
)

// Census is a snapshot of every subject with events under the policy in
// force: the current public list entries (for list lookups), the tier
// distribution, the list sizes at a few monthly instants and the records
// filed per day (for statistics and the operator's dashboard).
//
// A CensusCache keeps it up to date (census_inc.go): built once from the
// facts projection (or loaded from the state an earlier run saved beside
// the table's snapshot), then advanced by re-evaluating only the subjects
// that events appended since concern and those whose state has changed by
// itself since (a listing ended, a monthly instant slid past a change),
// and across a publication the subjects the table's incremental
// re-evaluation took on (CensusCache.policyChange).
type Census struct {
	At       time.Time // the instant evaluated
	Policy   string    // the hash of the policy in force
	Subjects int       // subjects with events
	// Tiers[scheme][tier] counts the scored subjects; Unscored[scheme][why]
	// the others, by reason.
	Tiers    map[string]map[string]int
	Unscored map[string]map[string]int
	// Sizes[list][i] is the list's size at Instants[i] (oldest first; the
	// last is At).
	Instants []time.Time
	Sizes    map[string][]int
	// Entries are the current entries of the public lists.
	Entries map[string][]ListEntry
	// Filed counts the records filed per day over the last 31 days (in the
	// policy's time zone, YYYY-MM-DD).
	Filed map[string]int
}

// Size is a list's size at the census instant.
func (c *Census) Size(list string) int {
	if s := c.Sizes[list]; len(s) > 0 {
		return s[len(s)-1]
	}
	return 0
}

// ListEntry is one published entry: a subject on a list because of one
// record (or, for a derived list, because of its score).
type ListEntry struct {
	ID             ident.ID
	Name           string
	Since, Until   time.Time
	UntilFulfilled bool
	CaseRef        string
	Authority      string // the authority's name when the policy gives one
	Conduct        string
	Obligation     string
	AuthorityID    string // the authority that filed the record
	Rule           string // the record's rule
}

// In returns the entry with the policy's texts in lang (the census keeps
// them in the policy's first language).
func (e ListEntry) In(pol *policy.Policy, lang string) ListEntry {
	if pol == nil || lang == pol.FirstLanguage() {
		return e
	}
	if a := pol.Authority(e.AuthorityID); a != nil && !a.Name.IsZero() {
		e.Authority = a.Name.For(lang)
	}
	if rule := pol.Rule(e.Rule); rule != nil {
		e.Conduct = rule.Title.For(lang)
		e.Obligation = obligation(rule, e.CaseRef, lang)
	}
	return e
}

// obligation is the obligation a published entry states: what the case
// determined, under the rule's legal basis.
func obligation(rule *policy.Rule, caseRef, lang string) string {
	if rule.LegalBasis.IsZero() {
		return rule.Title.For(lang)
	}
	if lang == "zh-CN" {
		return "按照案号" + caseRef + "确定的义务（" + rule.LegalBasis.For(lang) + "）"
	}
	return "as determined in case " + caseRef + " (" + rule.LegalBasis.For(lang) + ")"
}

// CensusOptions configure a CensusCache.
type CensusOptions struct {
	// TTL is how long a census is reused (default 60 s).
	TTL time.Duration
	// Points is the number of monthly instants at which list sizes are
	// counted: now and Points-1 months of 30 days back (default 1: now
	// only).
	Points int
	// ServeStale, when set, answers a census older than the TTL at once
	// (its As-of instant says how old it is) while a new one is built in
	// the background, so that no caller waits for a scan of the whole log
	// except the first. Otherwise a stale census is rebuilt while the
	// caller waits.
	ServeStale bool
}

// CensusCache builds censuses of a registry and reuses them. It is safe
// for concurrent use; one build runs at a time.
type CensusCache struct {
	reg  *Registry
	opts CensusOptions

	fromLog bool // build from the log even if the store keeps facts (tests)

	stMu sync.Mutex   // held while the census state is built or advanced
	st   *censusState // the census kept up to date (census_inc.go)

	mu       sync.Mutex
	cur      *Census
	building bool          // a background build is running
	done     chan struct{} // closed when it ends
	buildMu  sync.Mutex    // serialises synchronous builds
}

// NewCensusCache returns a census cache over a registry.
func NewCensusCache(reg *Registry, opts CensusOptions) *CensusCache {
	if opts.TTL <= 0 {
		opts.TTL = 60 * time.Second
	}
	if opts.Points <= 0 {
		opts.Points = 1
	}
	return &CensusCache{reg: reg, opts: opts}
}

// Get returns a census under the policy in force (see
// CensusOptions.ServeStale for how old it may be).
func (c *CensusCache) Get(ctx context.Context) (*Census, error) {
	_, hash, err := c.reg.Policy(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	cur := c.cur
	now := c.reg.Now()
	fresh := cur != nil && cur.Policy == hash && now.Sub(cur.At) < c.opts.TTL && !now.Before(cur.At)
	if fresh {
		c.mu.Unlock()
		return cur, nil
	}
	if c.opts.ServeStale && cur != nil && cur.Policy == hash {
		if !c.building {
			c.startLocked()
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
		if cur := c.cur; cur != nil && cur.Policy == hash {
			c.mu.Unlock()
			return cur, nil
		}
	}
	c.mu.Unlock()
	c.buildMu.Lock() // one synchronous build at a time
	defer c.buildMu.Unlock()
	c.mu.Lock()
	if cur := c.cur; cur != nil && cur.Policy == hash && (c.opts.ServeStale || c.reg.Now().Sub(cur.At) < c.opts.TTL && !c.reg.Now().Before(cur.At)) {
		// Built while this caller waited.
		c.mu.Unlock()
		return cur, nil
	}
	c.mu.Unlock()
	cs, err := c.build(ctx, c.reg.Now(), max(runtime.GOMAXPROCS(0), 1)) // a caller waits: every core
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.cur == nil || !cs.At.Before(c.cur.At) {
		c.cur = cs
	}
	c.mu.Unlock()
	return cs, nil
}

// WarmUp starts building a census in the background unless one exists or
// is being built, so that the first caller does not wait for the scan.
func (c *CensusCache) WarmUp() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil && !c.building {
		c.startLocked()
	}
}

// startLocked starts a background build; c.mu is held.
func (c *CensusCache) startLocked() {
	c.building = true
	c.done = make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		// In the background, one reader: the build reads the whole log,
		// and on every core it would slow the checks being answered
		// meanwhile to a third (measured on a 1 M-person city).
		cs, err := c.build(ctx, c.reg.Now(), 1)
		if lg := c.reg.log; lg != nil {
			if err != nil {
				lg.Warn("census not built", "err", err)
			} else {
				lg.Info("census built", "subjects", cs.Subjects, "reevaluated", c.reevaluated(), "took", time.Since(start).Round(time.Millisecond).String())
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.building = false
		close(c.done)
		if err == nil && (c.cur == nil || !cs.At.Before(c.cur.At)) {
			c.cur = cs
		}
	}()
}

// reevaluated is how many subjects the last build or advance of the
// census state re-evaluated (-1: built anew).
func (c *CensusCache) reevaluated() int {
	c.stMu.Lock()
	defer c.stMu.Unlock()
	if c.st == nil {
		return -1
	}
	return c.st.reevaluated
}

func (c *CensusCache) build(ctx context.Context, now time.Time, workers int) (*Census, error) {
	pol, hash, err := c.reg.Policy(ctx)
	if err != nil {
		return nil, err
	}
	c.stMu.Lock()
	defer c.stMu.Unlock()
	if c.st == nil && !c.fromLog {
		c.st = c.loadState(ctx, hash) // the state saved by an earlier run
	}
	if s := c.st; s != nil {
		was := s.hash
		ok, err := c.advance(ctx, s, pol, hash, now, workers)
		if err != nil {
			c.st = nil // half advanced: build anew next time
			return nil, err
		}
		if ok {
			// A state advanced across a publication is saved at once: a
			// state saved under the version before is used at the next
			// start only if the table is re-evaluated from its own
			// snapshot of that version too, and the table's snapshot is
			// already saved under the new one.
			if s.hash != was || time.Since(s.saved) > censusSaveEvery {
				c.saveState(ctx, s)
			}
			return s.snapshot(), nil
		}
	}
	s, err := c.initialCensus(ctx, pol, hash, now, workers)
	if err != nil {
		c.st = nil
		return nil, err
	}
	c.st = s
	c.saveState(ctx, s)
	return s.snapshot(), nil
}

// newCensus returns an empty census at now under pol.
func newCensus(pol *policy.Policy, hash string, now time.Time, points int) *Census {
	cs := &Census{At: now, Policy: hash, Tiers: map[string]map[string]int{}, Unscored: map[string]map[string]int{},
		Sizes: map[string][]int{}, Entries: map[string][]ListEntry{}, Filed: map[string]int{}}
	cs.Instants = censusInstants(now, points)
	for _, l := range pol.Lists {
		cs.Sizes[l.ID] = make([]int, len(cs.Instants))
	}
	for _, sc := range pol.Schemes {
		cs.Tiers[sc.ID] = map[string]int{}
		cs.Unscored[sc.ID] = map[string]int{}
	}
	return cs
}

// hasPublic reports whether a state has a listing published at t.
func hasPublic(pol *policy.Policy, st *engine.State, t time.Time) bool {
	for _, li := range st.Listings {
		if l := pol.List(li.List); l != nil && pol.Published(l, li.Since, li.Until, t) {
			return true
		}
	}
	return false
}

// Current returns the newest census under the policy in force without
// ever building one on the caller: a census missing, older than the TTL
// or of another policy is rebuilt in the background (one build at a
// time), and until a census of the policy in force exists Current
// returns EUNAVAILABLE. It is for requests anybody may make, so that none
// can make the server scan its whole log while they wait.
func (c *CensusCache) Current(ctx context.Context) (*Census, error) {
	_, hash, err := c.reg.Policy(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.cur
	now := c.reg.Now()
	fresh := cur != nil && cur.Policy == hash && now.Sub(cur.At) < c.opts.TTL && !now.Before(cur.At)
	if !fresh && !c.building {
		c.startLocked()
	}
	if cur == nil || cur.Policy != hash {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "the public lists are being prepared (a census of the registry under the policy in force): try again in a few seconds")
	}
	return cur, nil
}
