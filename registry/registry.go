// Package registry is Credo's service layer: it ties a store, the published
// policy versions, the engine and the decision table together. It checks
// that every record may be filed before the store files it (principle 1),
// keeps the decision table current after every change, and answers and
// logs checks (Checks.CheckAndLog: the one way a check is made).
//
// It takes one store interface, credo.RegistryStore, composed statically;
// a store decorator (ReadReplica) wraps one and is one.
//
// [Services] presents a registry as the service interfaces of package credo
// (CheckService, RecordService, DueProcessService, ...), acting as the actor
// the context names; the HTTP client implements the same interfaces over a
// server, so that the command line runs one code path either way.
package registry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/policy"
)

// Registry is a running registry over one store.
type Registry struct {
	store   credo.RegistryStore
	parser  *ident.Parser
	now     func() time.Time
	log     *slog.Logger
	noTable bool
	accept  func(ident.ID) error
	// snapshot is the decision table's snapshot file (see snapshot.go).
	snapshot string
	// snapshotKey encrypts the snapshot's body (nil: kept in clear).
	snapshotKey []byte
	// inMemoryMax bounds the log a rebuild holds in memory (rebuild.go).
	inMemoryMax int64
	// written is the table and position of the snapshot this registry
	// last wrote (guarded by mu): SaveSnapshot does not write it again.
	written struct {
		table *engine.Table
		pos   logPos
	}

	mu      sync.Mutex // serialises policy publication and rebuilds
	current atomic.Pointer[view]

	changeMu     sync.Mutex    // serialises record changes and consents (the no-op check and the append)
	sweepMu      sync.Mutex    // serialises sweeps for missing notices
	noticeFailed atomic.Bool   // a notice issueNotices could not append (NoticesIssuedThrough)
	sweepNow     chan struct{} // wakes RunNoticeSweeper

	tail tailState // the log position the table reflects (tail.go)

	// snapshotGate, while Open builds the table, waits for the store's
	// check at open and says whether a snapshot may be written.
	snapshotGate atomic.Pointer[func() bool]

	doubt atomic.Pointer[credo.Error] // why projections are not answered from (integrity.go)

	// reevaluated is the last incremental re-evaluation of the table
	// (incremental.go): the census brings itself to the new version by
	// re-evaluating the same subjects (census_inc.go).
	reevaluated atomic.Pointer[policyScope]

	// parsed holds the published versions parsed by earlier rebuilds, by
	// hash (*parsedPolicy): a rebuild parses only the new ones (a parse
	// of the example policy takes ~20 ms).
	parsed sync.Map
}

// parsedPolicy is a published version's source and its parse.
type parsedPolicy struct {
	pol *policy.Policy
	src []byte
}

// view is an immutable snapshot: the engine over every published version,
// and the decision table under the version in force when it was built.
type view struct {
	eng     *engine.Engine
	version engine.Version
	table   *engine.Table
	// validUntil is when the next published version takes effect (zero: none).
	validUntil time.Time
	// head is the log head read before the table was filled: the table
	// reflects at least every event up to it.
	head int64
	// builtAt is a log position (sequence number and hash) the table is
	// known to reflect every event up to, whoever wrote them: where a
	// snapshot of it may claim to stand (see snapshot.go).
	builtAt logPos
}

// Options configure a registry.
type Options struct {
	// Now is the clock (default time.Now). Tests pass a simulated clock.
	Now func() time.Time
	// Parser validates identifiers (default: strict).
	Parser *ident.Parser
	Logger *slog.Logger
	// NoTable skips the decision table: for one-shot tools (ingest, show,
	// check, token) that would otherwise rebuild it for every subject to
	// answer about one. Check then decides from the subject's facts.
	NoTable bool
	// Accept, if set, refuses to file records about some subjects (a
	// province shard files only its own subjects' records).
	Accept func(ident.ID) error
	// Snapshot is the file that persists the decision table between runs
	// (empty: none), conventionally the store's path plus ".table".
	Snapshot string
	// Rebuild makes Open rebuild the table from the whole log, neither
	// loading the snapshot nor re-evaluating one written under an earlier
	// version incrementally (the snapshot is still written afterwards).
	Rebuild bool
	// SnapshotKey, if set (32 bytes), encrypts the snapshot's body: the
	// table names subjects, and a sealed registry keeps no file of them
	// in clear (seal.Keys.SnapshotKey).
	SnapshotKey []byte
	// RebuildInMemoryMax is the longest log (in events) a rebuild reads
	// into memory at once, at 2–3 kB an event (default 5,000,000); past
	// it, subjects are loaded one by one: slower, in bounded memory.
	RebuildInMemoryMax int64
}

// Open opens a registry over a store: it loads the published policy versions,
// rebuilds the decision table from the event log, and issues the notices
// of records that have none (see SweepNotices).
func Open(ctx context.Context, store credo.RegistryStore, opts Options) (*Registry, error) {
	r := &Registry{store: store, parser: opts.Parser, now: opts.Now, log: opts.Logger, noTable: opts.NoTable, accept: opts.Accept,
		snapshot: opts.Snapshot, snapshotKey: opts.SnapshotKey, inMemoryMax: opts.RebuildInMemoryMax, sweepNow: make(chan struct{}, 1)}
	if r.inMemoryMax <= 0 {
		r.inMemoryMax = 5_000_000
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.parser == nil {
		r.parser = &ident.Parser{}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	// The store's cheap check runs while the table is built: both read,
	// and Open returns nothing before the check has passed. A snapshot is
	// written only once it has (snapshotGate), and a check that fails
	// stops the build (integrity.go).
	built, cancel := context.WithCancel(ctx)
	defer cancel()
	checked := make(chan projectionCheck, 1)
	go func() {
		c := r.runCheck(ctx)
		if c.err != nil || !c.res.OK {
			cancel()
		}
		checked <- c
	}()
	var check projectionCheck
	var once sync.Once
	wait := func() projectionCheck {
		once.Do(func() { check = <-checked })
		return check
	}
	gate := func() bool { c := wait(); return c.err == nil && c.res.OK }
	r.snapshotGate.Store(&gate)
	// A snapshot written under an earlier version is re-evaluated
	// incrementally; Rebuild never does that.
	mode := rebuildIncremental
	if opts.Rebuild {
		mode = rebuildFromLog
	}
	r.mu.Lock()
	err := r.rebuildWith(built, mode)
	r.mu.Unlock()
	r.snapshotGate.Store(nil)
	if ok, cerr := r.checkedProjections(wait()); cerr != nil {
		return nil, cerr
	} else if !ok {
		return r, nil // doubtful: answers nothing (integrity.go)
	}
	if err != nil {
		return nil, err
	}
	if _, err := r.SweepNotices(ctx); err != nil {
		// Not fatal (a read-only copy still opens), never silent: the
		// next sweep retries from the same record.
		r.log.Error("issuing missing notices", "err", err)
	}
	return r, nil
}

// Store returns the underlying store.
func (r *Registry) Store() credo.RegistryStore { return r.store }

// Now returns the registry's clock reading.
func (r *Registry) Now() time.Time { return r.now() }

// Rebuild reloads the policy versions and recomputes the decision table
// from the whole event log, then swaps it in atomically; checks keep being
// answered from the old table meanwhile.
func (r *Registry) Rebuild(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rebuildLocked(ctx)
}

func (r *Registry) rebuildLocked(ctx context.Context) error { return r.rebuildWith(ctx, rebuildFull) }

// rebuildMode says how a rebuild may spare work.
type rebuildMode int

const (
	// rebuildFull loads the snapshot if it was written under the version
	// in force, else rebuilds from the log.
	rebuildFull rebuildMode = iota
	// rebuildIncremental also re-evaluates only the subjects a change of
	// the version in force can affect, from the current table or from a
	// snapshot written under an earlier version (incremental.go).
	rebuildIncremental
	// rebuildFromLog rebuilds from the log, whatever the snapshot (still
	// written afterwards).
	rebuildFromLog
)

// rebuildWith is rebuildLocked in a mode.
func (r *Registry) rebuildWith(ctx context.Context, mode rebuildMode) error {
	// The head first: everything the table is built from is read after
	// it, so the table reflects at least every event up to it.
	head, _, err := r.store.Head(ctx)
	if err != nil {
		return err
	}
	pvs, err := r.store.Policies(ctx)
	if err != nil {
		return err
	}
	eng := engine.New()
	for _, pv := range pvs {
		p, _ := r.parsed.Load(pv.Hash)
		if pp, ok := p.(*parsedPolicy); !ok || !bytes.Equal(pp.src, pv.Source) {
			pp, err := policy.Parse(publishedName(pv.Hash), pv.Source)
			if err != nil {
				return &credo.Error{Code: credo.EINTERNAL, Op: "registry.Open", Message: "a published policy no longer parses", Err: err}
			}
			p = &parsedPolicy{pol: pp, src: pv.Source}
			r.parsed.Store(pv.Hash, p)
		}
		eng.Add(engine.Version{Hash: pv.Hash, Effective: pv.Effective, Published: pv.Published, Policy: p.(*parsedPolicy).pol})
	}
	now := r.now()
	v := &view{eng: eng, head: head}
	ver, ok := eng.PolicyAt(now, now)
	if !ok {
		r.swap(v) // no policy yet: checks fail with a clear error
		return nil
	}
	v.version = ver
	v.validUntil = eng.NextVersion(now, now)
	v.table = engine.NewTable(ver.Policy, ver.Hash, r.loader(ctx), now)
	if r.noTable {
		r.swap(v)
		return nil
	}
	if mode == rebuildIncremental {
		if done, err := r.swapIncremental(ctx, v, now); done || err != nil {
			return err
		}
	}
	tried := mode == rebuildFromLog
	if mode == rebuildIncremental {
		var done bool
		if done, tried, err = r.swapFromOlderSnapshot(ctx, v, now); done || err != nil {
			return err
		}
	}
	if !tried {
		if t, pos := r.loadSnapshot(ctx, ver, now); t != nil {
			// The table now reflects every event up to the head read
			// before catching up: the tailer goes on from there.
			v.table, v.builtAt, v.head = t, pos, pos.seq
			r.swap(v)
			return nil
		}
	}
	// The snapshot is written at the head read before the log is streamed:
	// events appended meanwhile are reapplied on load, never skipped.
	headSeq, headHash, err := r.store.Head(ctx)
	if err != nil {
		return err
	}
	v.builtAt = logPos{headSeq, headHash}
	start := time.Now()
	n, err := r.fillTable(ctx, v.table, ver.Policy, now)
	if err != nil {
		return err
	}
	r.log.Info("decision table built", "subjects", n, "policy", short(ver.Hash), "head", head, "took", time.Since(start).Round(time.Millisecond))
	r.swap(v)
	if err := r.writeSnapshot(v.table, v.builtAt); err != nil {
		r.log.Error("decision table snapshot not written (the next start rebuilds)", "err", err)
	}
	return nil
}

func hasOrg(fs []*engine.Facts, id string) bool {
	for _, f := range fs {
		if f.ID.Canonical == id {
			return true
		}
	}
	return false
}

// publishedName is the file name a published version is parsed under.
func publishedName(hash string) string { return "policy " + short(hash) }

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// loader returns the facts of a subject from the store.
func (r *Registry) loader(ctx context.Context) engine.Loader {
	return func(subject string) (*engine.Facts, error) { return r.Facts(context.WithoutCancel(ctx), subject) }
}

// Facts loads everything the engine needs about a subject.
func (r *Registry) Facts(ctx context.Context, subject string) (*engine.Facts, error) {
	if d := r.doubt.Load(); d != nil {
		return nil, d
	}
	id, err := r.parser.Parse(subject)
	if err != nil {
		return nil, err
	}
	evs, err := r.store.SubjectEvents(ctx, id.Canonical)
	if err != nil {
		return nil, err
	}
	f := &engine.Facts{ID: id, Events: evs}
	if id.Kind == credo.Person {
		orgs, err := r.store.LinkedOrgs(ctx, id.Canonical)
		if err != nil {
			return nil, err
		}
		for _, o := range orgs {
			oid, err := r.parser.Parse(o)
			if err != nil {
				continue
			}
			oevs, err := r.store.SubjectEvents(ctx, oid.Canonical)
			if err != nil {
				return nil, err
			}
			f.Orgs = append(f.Orgs, &engine.Facts{ID: oid, Events: oevs})
		}
	}
	return f, nil
}

// ErrNoPolicy is returned when no policy is in force.
var ErrNoPolicy = credo.Errorf(credo.EUNAVAILABLE, "no policy is in force: publish one with `credo policy publish`")

// view returns the current snapshot, rebuilding it first when a newly
// effective policy version has taken over.
func (r *Registry) view(ctx context.Context) (*view, error) {
	if d := r.doubt.Load(); d != nil {
		return nil, d
	}
	v := r.current.Load()
	if v.table != nil && (v.validUntil.IsZero() || r.now().Before(v.validUntil)) {
		return v, nil
	}
	if v.table != nil || len(v.eng.Versions()) > 0 {
		r.mu.Lock()
		if cur := r.current.Load(); cur == v {
			if err := r.rebuildWith(ctx, rebuildIncremental); err != nil {
				r.mu.Unlock()
				return nil, err
			}
		}
		r.mu.Unlock()
		v = r.current.Load()
	}
	if v.table == nil {
		return nil, ErrNoPolicy
	}
	return v, nil
}

// Policy returns the policy version in force now.
func (r *Registry) Policy(ctx context.Context) (*policy.Policy, string, error) {
	v, err := r.view(ctx)
	if err != nil {
		return nil, "", err
	}
	return v.version.Policy, v.version.Hash, nil
}

// Engine returns the engine over every published version.
func (r *Registry) Engine() *engine.Engine { return r.current.Load().eng }

// Table returns the current decision table (nil when no policy is in force).
func (r *Registry) Table(ctx context.Context) (*engine.Table, error) {
	v, err := r.view(ctx)
	if err != nil {
		return nil, err
	}
	return v.table, nil
}

// ParseSubject validates a subject identifier and returns it parsed.
func (r *Registry) ParseSubject(s string) (ident.ID, error) {
	return r.ParseSubjectAs(s, credo.KindUnknown)
}

// ParseSubjectAs validates a subject identifier of the given kind
// (credo.KindUnknown: either kind) and returns it parsed. Eighteen digits
// that read both as an ID card number and as a credit code are refused
// unless the kind is given (ident.ParseAs). A birth date (from an ID card
// number) later than today anywhere on Earth is refused: no record or check
// can be about someone not yet born.
func (r *Registry) ParseSubjectAs(s string, kind credo.SubjectKind) (ident.ID, error) {
	id, err := r.parser.ParseAs(s, kind)
	if err != nil {
		var e *credo.Error
		if errors.As(err, &e) {
			msg := e.Message
			if ident.IsAmbiguous(err) {
				msg += ` ("kind": "person" or "org" in the API and in record files, --kind on the command line)`
			}
			return id, &credo.Error{Code: credo.EINVALID, Field: "subject", Message: msg, Err: e.Err}
		}
		return id, err
	}
	if id.HasBirth() && id.Birth.After(r.now().Add(14*time.Hour)) {
		return ident.ID{}, credo.FieldErrorf("subject", "the birth date %s in %s is in the future", id.Birth.Format("2006-01-02"), id.Canonical)
	}
	return id, nil
}

// State computes a subject's full state at instant at as known at known
// (zero values mean now).
func (r *Registry) State(ctx context.Context, subject string, at, known time.Time) (*engine.State, error) {
	id, err := r.ParseSubject(subject)
	if err != nil {
		return nil, err
	}
	now := r.now()
	if at.IsZero() {
		at = now
	}
	if known.IsZero() {
		known = now
	}
	f, err := r.Facts(ctx, id.Canonical)
	if err != nil {
		return nil, err
	}
	return r.Engine().State(f, at, known)
}
