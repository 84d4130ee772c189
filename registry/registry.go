// Package registry is Credo's service layer: it ties a store, the published
// policy versions, the engine and the decision table together. It checks
// that every record may be filed before the store files it (principle 1),
// keeps the decision table current after every change, and answers checks.
package registry

import (
	"context"
	"errors"
	"fmt"
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
	store   credo.Store
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

	mu      sync.Mutex // serialises policy publication and rebuilds
	current atomic.Pointer[view]

	changeMu sync.Mutex    // serialises record changes and consents (the no-op check and the append)
	sweepMu  sync.Mutex    // serialises sweeps for missing notices
	sweepNow chan struct{} // wakes RunNoticeSweeper

	tail tailState // the log position the table reflects (tail.go)

	doubt atomic.Pointer[credo.Error] // why projections are not answered from (integrity.go)
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
func Open(ctx context.Context, store credo.Store, opts Options) (*Registry, error) {
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
	if ok, err := r.checkProjections(ctx); err != nil {
		return nil, err
	} else if !ok {
		return r, nil // doubtful: answers nothing (integrity.go)
	}
	if err := r.Rebuild(ctx); err != nil {
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
func (r *Registry) Store() credo.Store { return r.store }

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

func (r *Registry) rebuildLocked(ctx context.Context) error {
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
		p, err := policy.Parse(fmt.Sprintf("policy %s", short(pv.Hash)), pv.Source)
		if err != nil {
			return &credo.Error{Code: credo.EINTERNAL, Op: "registry.Open", Message: "a published policy no longer parses", Err: err}
		}
		eng.Add(engine.Version{Hash: pv.Hash, Effective: pv.Effective, Published: pv.Published, Policy: p})
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
	if t, pos := r.loadSnapshot(ctx, ver, now); t != nil {
		// The table now reflects every event up to the head read before
		// catching up: the tailer goes on from there.
		v.table, v.builtAt, v.head = t, pos, pos.seq
		r.swap(v)
		return nil
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

// typedEventReader is a store that can read only the events of some types.
type typedEventReader interface {
	EventsOfType(ctx context.Context, after int64, limit int, types []credo.EventType) ([]credo.Event, error)
}

func hasOrg(fs []*engine.Facts, id string) bool {
	for _, f := range fs {
		if f.ID.Canonical == id {
			return true
		}
	}
	return false
}

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
			if err := r.rebuildLocked(ctx); err != nil {
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

// Check answers "may this subject use this sector now?" from the decision
// table, with the full explanation when the answer is not a plain allow.
func (r *Registry) Check(ctx context.Context, subject, sector string) (engine.Decision, error) {
	id, err := r.ParseSubject(subject)
	if err != nil {
		return engine.Decision{}, err
	}
	v, err := r.view(ctx)
	if err != nil {
		return engine.Decision{}, err
	}
	ref, ok := v.table.Sector(sector)
	if !ok {
		return engine.Decision{}, &credo.Error{Code: credo.EINVALID, Field: "sector", Message: fmt.Sprintf("unknown sector %q", sector)}
	}
	if r.noTable {
		// Opened without a decision table (one-shot tools): decide from the
		// subject's facts.
		now := r.now()
		return r.Explain(ctx, id.Canonical, sector, now, now)
	}
	now := r.now()
	vd, err := v.table.Check(id.Canonical, ref, now)
	if err != nil {
		return engine.Decision{}, err
	}
	if vd.Effect == engine.EffectAllow && vd.Grants.Empty() {
		return engine.Decision{Subject: id.Canonical, Sector: sector, Decision: engine.Allow, Policy: v.version.Hash}, nil
	}
	st, err := r.State(ctx, id.Canonical, now, now)
	if err != nil {
		return engine.Decision{}, err
	}
	d := st.Decide(sector)
	d.Policy = v.version.Hash
	return d, nil
}
