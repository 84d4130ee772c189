package registry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
)

// Checks answers checks and logs them: the one way a check is made,
// whoever asks (the API's POST /v1/checks and /v1/checks/batch, `credo
// check --db`). A check that cannot be logged is not answered: the subject
// must see every check made on them (principle 5).
//
// Entries are written by group commit (checklog.go): a check is queued, and
// everything queued meanwhile is written in one transaction. Durable (the
// default), CheckAndLog returns only once the entry is committed.
type Checks struct {
	reg     *Registry
	batcher *checkBatcher
	ids     *checkIDs
	naive   bool
}

// ChecksOptions tune the check log of a Checks. The zero value is a
// production default.
type ChecksOptions struct {
	// Logger receives the check log's write failures (default: the
	// registry's).
	Logger *slog.Logger
	// Buffer is the capacity of the queue of checks waiting to be logged
	// (default 65,536); when it is full, checks wait.
	Buffer int
	// Batch is the number of queued checks that triggers a write (default
	// 1000; async only).
	Batch int
	// Interval is how often queued checks are written (default 50 ms;
	// async only).
	Interval time.Duration
	// Async answers a check before its log entry is on stable storage
	// (written within Interval): a crash then loses the checks queued.
	// An explicit opt-out, for benchmarks; not for production.
	Async bool
	// Naive answers every check from the subject's facts, bypassing the
	// decision table: the baseline benchmarks compare the table against.
	Naive bool
	// OnWrite, if set, is told the outcome of every write to the check log
	// (metrics, readiness).
	OnWrite func(n int, took time.Duration, err error)
}

// NewChecks returns the check service of a registry over its check log.
// Close it to write the checks still queued.
func (r *Registry) NewChecks(log credo.CheckLog, opts ChecksOptions) *Checks {
	if opts.Logger == nil {
		opts.Logger = r.log
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 65536
	}
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if opts.Interval <= 0 {
		opts.Interval = 50 * time.Millisecond
	}
	return &Checks{reg: r, ids: newCheckIDs(), naive: opts.Naive,
		batcher: newCheckBatcher(log, opts.Logger, opts.OnWrite, !opts.Async, opts.Buffer, opts.Batch, opts.Interval)}
}

// CheckRequest is a check: who asks whether a subject may use a sector.
type CheckRequest struct {
	Subject string
	// Kind disambiguates 18 digits that read both as an ID card number and
	// as a credit code (credo.KindUnknown: either).
	Kind   credo.SubjectKind
	Sector string
	// Checker and Org are who asks, as logged (a checker token's id and
	// name; "cli" and the operator at the command line).
	Checker, Org string
	// At and Known (zero: now) decide as at one instant as known at
	// another; only the command line asks for other than now, and such an
	// answer is explained from the subject's facts, not from the table.
	At, Known time.Time
	// Issued is the wall-clock instant the check was received, for its id
	// (zero: now).
	Issued time.Time
}

// CheckAnswer is a check's answer: the verdict, its explanation and the
// entry logged.
type CheckAnswer struct {
	// Verdict is the decision table's answer (zero when the answer was
	// decided from the subject's facts alone).
	Verdict engine.Verdict
	// Decision is the explanation: for a plain allow only the subject,
	// sector, decision and policy; otherwise every reason and grant
	// (Explained is then true).
	Decision  engine.Decision
	Explained bool
	// Policy is the policy the answer was decided under (for the texts of
	// its reasons and which lists are public).
	Policy *policy.Policy
	// Entry is the check as logged (its ID is the check id).
	Entry credo.CheckEntry
	// Position is the log position the decision table reflected every
	// event up to before the answer was looked up.
	Position int64
}

// CheckAndLog answers a check and logs it: the answer is returned only
// once its log entry is committed (durable, the default), and an error
// means the check was not answered.
func (c *Checks) CheckAndLog(ctx context.Context, q CheckRequest) (CheckAnswer, error) {
	tg, err := c.reg.target(ctx, &q)
	if err != nil {
		return CheckAnswer{}, err
	}
	var a CheckAnswer
	g, err := c.answer(ctx, tg, &q, &a)
	if err != nil {
		return CheckAnswer{}, err
	}
	if err := c.batcher.wait(ctx, g); err != nil {
		return CheckAnswer{}, err // not on stable storage: not answered
	}
	return a, nil
}

// CheckAndLogEach answers and logs a check of each subject, as q asks
// about (q.Subject is ignored). errs[i] is the error that prevented the
// check of subjects[i], for a subject the registry refuses (EINVALID,
// ENOTFOUND: answers[i] then carries only the Position); any other
// failure returns err and answers none. The answers are returned only
// once every entry is committed.
func (c *Checks) CheckAndLogEach(ctx context.Context, q CheckRequest, subjects []string) (answers []CheckAnswer, errs []error, err error) {
	tg, err := c.reg.target(ctx, &q)
	if err != nil {
		return nil, nil, err
	}
	answers, errs = make([]CheckAnswer, len(subjects)), make([]error, len(subjects))
	var groups []*commitGroup // the groups the checks are written with, in order
	for i, subj := range subjects {
		q.Subject = subj
		answers[i].Position = tg.position
		g, err := c.answer(ctx, tg, &q, &answers[i])
		if g != nil && (len(groups) == 0 || groups[len(groups)-1] != g) {
			groups = append(groups, g)
		}
		if err != nil {
			switch credo.ErrorCode(err) {
			case credo.EINVALID, credo.ENOTFOUND:
			default:
				return nil, nil, err // the registry's failure, not the subject's
			}
			errs[i] = err
		}
	}
	for _, g := range groups {
		if err := c.batcher.wait(ctx, g); err != nil {
			return nil, nil, err // some checks are not on stable storage: none is answered
		}
	}
	return answers, errs, nil
}

// checkTarget is a sector resolved for a run of checks.
type checkTarget struct {
	view     *view
	ref      *engine.SectorRef
	position int64 // the log position the table reflected before any lookup
}

// target resolves the sector of a check in the policy in force (a check
// as at another instant may name a sector of the policy then: the
// explanation checks it).
func (r *Registry) target(ctx context.Context, q *CheckRequest) (checkTarget, error) {
	if q.Sector == "" {
		return checkTarget{}, credo.FieldErrorf("sector", "is required")
	}
	pos := r.Position()
	v, err := r.view(ctx)
	if err != nil {
		return checkTarget{}, err
	}
	ref, ok := v.table.Sector(q.Sector)
	if !ok && q.At.IsZero() && q.Known.IsZero() {
		return checkTarget{}, &credo.Error{Code: credo.EINVALID, Field: "sector", Message: fmt.Sprintf("unknown sector %q in the policy in force", q.Sector)}
	}
	return checkTarget{view: v, ref: ref, position: pos}, nil
}

// answer decides one check and queues its log entry; the group returned
// must be waited on before the answer leaves.
func (c *Checks) answer(ctx context.Context, tg checkTarget, q *CheckRequest, a *CheckAnswer) (*commitGroup, error) {
	if err := c.reg.decide(ctx, tg, q, c.naive, a); err != nil {
		return nil, err
	}
	issued := q.Issued
	if issued.IsZero() {
		issued = time.Now()
	}
	d := &a.Decision
	a.Entry = credo.CheckEntry{ID: c.ids.next(issued), Checker: q.Checker, Org: q.Org, Subject: d.Subject, Sector: d.Sector,
		At: a.Entry.At, Known: a.Entry.Known, Policy: d.Policy, Decision: d.Decision}
	if a.Explained {
		a.Entry.Measures = MeasuresOf(*d)
	}
	return c.batcher.add(ctx, a.Entry) // an error: never answer a check that will not be logged
}

// decide answers a check, without logging it: the one decision path.
// The hot path is the decision table: a map lookup and a mask test. Only
// an answer other than a plain allow is explained, from the subject's
// facts; naive explains every answer. a.Entry gets the instants decided at
// and with.
func (r *Registry) decide(ctx context.Context, tg checkTarget, q *CheckRequest, naive bool, a *CheckAnswer) error {
	id, err := r.ParseSubjectAs(q.Subject, q.Kind)
	if err != nil {
		return err
	}
	t := tg.view.table
	now := r.now()
	at, known := q.At, q.Known
	explain := naive || r.noTable || !at.IsZero() || !known.IsZero()
	if at.IsZero() {
		at = now
	}
	if known.IsZero() {
		known = now
	}
	*a = CheckAnswer{Policy: t.Policy(), Position: tg.position, Entry: credo.CheckEntry{At: at, Known: known},
		Decision: engine.Decision{Subject: id.Canonical, Sector: q.Sector, Decision: engine.Allow, Policy: t.PolicyHash()}}
	if !explain {
		if a.Verdict, err = t.Check(id.Canonical, tg.ref, now); err != nil {
			return err
		}
		explain = a.Verdict.Effect != engine.EffectAllow || !a.Verdict.Grants.Empty()
	}
	if !explain {
		return nil
	}
	// Explained by the engine of the view the table's answer came from
	// (not whichever view is current by now), from the facts of the
	// subject as parsed above.
	f, err := r.Facts(ctx, id.Canonical)
	if err != nil {
		return err
	}
	st, err := tg.view.eng.State(f, at, known)
	if err != nil {
		return err
	}
	d, err := decideSector(st, q.Sector)
	if err != nil {
		return err
	}
	if d.Policy == "" {
		d.Policy = a.Decision.Policy
	}
	a.Decision, a.Explained, a.Policy = d, true, st.PolicyDoc()
	return nil
}

// decideSector is a subject's decision for a sector, with every reason,
// from its full state.
func decideSector(st *engine.State, sector string) (engine.Decision, error) {
	pol := st.PolicyDoc()
	if pol.Sector(sector) == nil && len(pol.SectorMeasures(sector)) == 0 {
		return engine.Decision{}, &credo.Error{Code: credo.EINVALID, Field: "sector", Message: fmt.Sprintf("unknown sector %q", sector)}
	}
	return st.Decide(sector), nil
}

// Check answers "may this subject use this sector now?" exactly as
// Checks.CheckAndLog does, but logs nothing: for tools and tests that look
// at a decision without making a check (a check a service provider or an
// operator asks goes through Checks, which logs it).
func (r *Registry) Check(ctx context.Context, subject, sector string) (engine.Decision, error) {
	q := CheckRequest{Subject: subject, Sector: sector}
	tg, err := r.target(ctx, &q)
	if err != nil {
		return engine.Decision{}, err
	}
	var a CheckAnswer
	if err := r.decide(ctx, tg, &q, false, &a); err != nil {
		return engine.Decision{}, err
	}
	return a.Decision, nil
}

// MeasuresOf returns the measures a full decision rests on, as logged:
// the reasons' measures, then the grants.
func MeasuresOf(d engine.Decision) []string {
	var ms []string
	for _, r := range d.Reasons {
		ms = append(ms, r.Code)
	}
	return append(ms, d.Grants...)
}

// Logged returns a logged check by its id (ENOTFOUND if none). A check
// answered a moment ago may still be on its way to the log: it is waited
// for.
func (c *Checks) Logged(ctx context.Context, id string) (*credo.CheckEntry, error) {
	e, err := c.batcher.log.Check(ctx, id)
	if credo.ErrorCode(err) == credo.ENOTFOUND {
		if ferr := c.Flush(ctx); ferr == nil {
			e, err = c.batcher.log.Check(ctx, id)
		}
	}
	return e, err
}

// Replay decides a logged check again, from the knowledge the registry had
// at the instant it was made (principle 4), with every reason, and reports
// whether the two agree: the same decision, measures and policy.
func (r *Registry) Replay(ctx context.Context, e *credo.CheckEntry) (d engine.Decision, matches bool, err error) {
	d, err = r.Explain(ctx, e.Subject, e.Sector, e.At, e.Known)
	if err != nil {
		return d, false, err
	}
	a, b := slices.Clone(e.Measures), MeasuresOf(d)
	slices.Sort(a)
	slices.Sort(b)
	return d, d.Decision == e.Decision && slices.Equal(a, b) && (e.Policy == "" || e.Policy == d.Policy), nil
}

// Flush waits until every check answered so far is in the check log.
func (c *Checks) Flush(ctx context.Context) error { return c.batcher.flush(ctx) }

// Pending returns the number of checks waiting to be written.
func (c *Checks) Pending() int { return c.batcher.depth() }

// Close stops accepting checks and writes every queued one; if ctx ends
// first it stops retrying and reports how many answered checks were not
// written.
func (c *Checks) Close(ctx context.Context) error { return c.batcher.close(ctx) }
