package registry

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
)

// Incremental re-evaluation. When the version in force changes (a
// publication, or a published version taking effect), the new table is
// built from the old one when the two versions differ only in ways that
// reach the subjects with records of some rules: the policy diff
// (policy.Compare) names the rules, lists, schemes and measures that
// changed; reevaluationScope turns that into the rules whose subjects can
// be affected, or into the reason a full rebuild is needed. The entries
// of the other subjects are carried over with their measures renumbered
// (engine.Table.CarryOver); the affected ones, and any whose entry has
// passed its next change, are re-evaluated from their facts. A start whose
// snapshot was written under an earlier version does the same from the
// snapshot. Registry.Rebuild never re-evaluates incrementally, and a test
// holds the two equal (TestS05IncrementalEqualsFull).

// incrementalShare is the largest share of the table's subjects an
// incremental re-evaluation takes on: loading subjects one by one costs
// about three times what streaming the log costs per subject, so past it
// a full rebuild is faster.
const incrementalShare = 1.0 / 3

// Fields of a concept that no decision entry depends on (texts, citations,
// what the filing checks, publication and retention): a change to them
// re-evaluates nobody. The first element of a diff's field path is
// matched.
var (
	inertRuleFields    = fieldSet("title", "legal_basis", "source", "authorities", "subjects", "severity", "repair", "retention")
	inertListFields    = fieldSet("title", "kind", "public", "publish", "legal_basis", "source", "domain", "related_domains", "contest", "publish_for", "retention")
	inertMeasureFields = fieldSet("title", "sector", "effect", "params", "legal_basis", "source", "exempt_private")
	inertSchemeFields  = fieldSet("title", "source")
	inertPolicyFields  = fieldSet("name", "version", "source", "effective")
	// The settings of a rule-named list that reach only the records of
	// the rules naming it.
	ruleListFields = fieldSet("notice", "during_dispute", "dispute_procedure")
)

func fieldSet(fs ...string) map[string]bool {
	m := map[string]bool{}
	for _, f := range fs {
		m[f] = true
	}
	return m
}

// onlyFields reports whether every changed field's first path element
// is in set.
func onlyFields(c policy.Change, set map[string]bool) bool {
	for _, f := range c.Fields {
		head, _, _ := strings.Cut(f.Field, ".")
		if !set[head] {
			return false
		}
	}
	return true
}

// reevaluationScope returns the codes of the rules whose subjects a change
// from policy a to policy b can affect (nil: nobody), or why every subject
// must be re-evaluated. It errs on the side of a full rebuild: any change
// it cannot place (the calendar, the time zone, the procedures, a scheme's
// base, bounds, minimum age or consent, a derived list, a measure's
// condition, subjects or reach, a measure added) asks for one.
func reevaluationScope(a, b *policy.Policy) (rules []string, full string) {
	if !slices.Equal(derivedLists(a), derivedLists(b)) {
		return nil, "the derived lists or their order changed"
	}
	add := func(codes ...string) {
		for _, c := range codes {
			if !slices.Contains(rules, c) {
				rules = append(rules, c)
			}
		}
	}
	for _, c := range policy.Compare(a, b).Changes {
		switch c.Section {
		case "policy":
			if !onlyFields(c, inertPolicyFields) {
				return nil, "a policy-wide setting changed (" + fieldNames(c) + ")"
			}
		case "authorities", "sectors":
			// Filing and the table's sector index (rebuilt) only.
		case "rules":
			if c.Op != policy.OpChanged || !onlyFields(c, inertRuleFields) {
				add(c.ID)
			}
		case "lists":
			why := listScope(a, b, c, add)
			if why != "" {
				return nil, why
			}
		case "schemes":
			why := schemeScope(a, b, c, add)
			if why != "" {
				return nil, why
			}
		case "measures":
			if c.Op == policy.OpAdded || (c.Op == policy.OpChanged && !onlyFields(c, inertMeasureFields)) {
				return nil, fmt.Sprintf("measure %s was %s (%s)", c.ID, c.Op, fieldNames(c))
			}
			// Removed, or changed in what no entry records: renumbered.
		default:
			return nil, fmt.Sprintf("the %s changed", c.Section)
		}
	}
	return rules, ""
}

// listScope places a change of a list: a rule-named list's notice and
// dispute settings reach the records of the rules that name it (in either
// version); a derived list's condition reaches anyone.
func listScope(a, b *policy.Policy, c policy.Change, add func(...string)) string {
	la, lb := a.List(c.ID), b.List(c.ID)
	if (la != nil && la.Derived()) || (lb != nil && lb.Derived()) {
		return fmt.Sprintf("derived list %s was %s", c.ID, c.Op)
	}
	if c.Op != policy.OpChanged || onlyFields(c, inertListFields) {
		// A rule-named list added or removed changes nothing by itself:
		// the rules that name it changed too.
		return ""
	}
	for _, f := range c.Fields {
		head, _, _ := strings.Cut(f.Field, ".")
		if !inertListFields[head] && !ruleListFields[head] {
			return fmt.Sprintf("list %s changed (%s)", c.ID, f.Field)
		}
	}
	add(rulesNaming(a, c.ID)...)
	add(rulesNaming(b, c.ID)...)
	return ""
}

// schemeScope places a change of a scheme: a change of its tiers that
// leaves the tier of its base score as it was reaches only the subjects
// with points in it (the records of the rules that give points in it,
// in either version); anything else reaches everyone it scores.
func schemeScope(a, b *policy.Policy, c policy.Change, add func(...string)) string {
	if c.Op != policy.OpChanged {
		return fmt.Sprintf("scheme %s was %s", c.ID, c.Op)
	}
	for _, f := range c.Fields {
		head, _, _ := strings.Cut(f.Field, ".")
		if head != "tiers" && !inertSchemeFields[head] {
			return fmt.Sprintf("scheme %s changed (%s)", c.ID, f.Field)
		}
	}
	sa, sb := a.Scheme(c.ID), b.Scheme(c.ID)
	if sa == nil || sb == nil {
		return fmt.Sprintf("scheme %s changed", c.ID)
	}
	base := min(max(sa.Base, sa.Bounds[0]), sa.Bounds[1])
	if sa.TierOf(base) != sb.TierOf(base) {
		return fmt.Sprintf("scheme %s's tiers changed the tier of its base score", c.ID)
	}
	add(rulesScoring(a, c.ID)...)
	add(rulesScoring(b, c.ID)...)
	return ""
}

func derivedLists(p *policy.Policy) []string {
	var out []string
	for _, l := range p.Lists {
		if l.Derived() {
			out = append(out, l.ID)
		}
	}
	return out
}

func rulesNaming(p *policy.Policy, list string) []string {
	var out []string
	for _, r := range p.Rules {
		if _, ok := r.Lists[list]; ok {
			out = append(out, r.Code)
		}
	}
	return out
}

func rulesScoring(p *policy.Policy, scheme string) []string {
	var out []string
	for _, r := range p.Rules {
		if _, ok := r.Points[scheme]; ok {
			out = append(out, r.Code)
		}
	}
	return out
}

func fieldNames(c policy.Change) string {
	var fs []string
	for _, f := range c.Fields {
		fs = append(fs, f.Field)
	}
	if len(fs) == 0 {
		return c.Op
	}
	return strings.Join(fs, ", ")
}

// reevaluate builds the table of view v (under a new version) from the
// table of view cur, re-evaluating only the subjects the change between
// their versions can affect. It reports false, having changed nothing,
// when a full rebuild is needed (logged with the reason).
//
// The old table must reflect every event up to pos: the new one does too,
// and the events after it are applied again (tail.go) once it is in.
func (r *Registry) reevaluate(ctx context.Context, cur, v *view, now time.Time, pos int64) (bool, error) {
	r.reevaluated.Store(nil) // until this one is done
	if cur == nil || cur.table == nil || r.doubt.Load() != nil {
		return false, nil
	}
	// The entries were computed under the table's version.
	oldPol, oldHash := cur.table.Policy(), cur.table.PolicyHash()
	if oldHash == v.version.Hash {
		// The version in force is the same (a publication effective
		// later): the table stands as it is.
		v.table, v.builtAt, v.head = cur.table, cur.builtAt, pos
		r.log.Info("decision table kept: the policy in force did not change", "policy", short(v.version.Hash))
		return true, nil
	}
	start := time.Now()
	rules, full := reevaluationScope(oldPol, v.version.Policy)
	if full != "" {
		r.log.Info("re-evaluating every subject", "reason", full)
		return false, nil
	}
	reeval, carried := cur.table.CarryOver(v.table, cur.table.RuleBits(rules), now)
	total := len(reeval) + carried
	if len(reeval) > 1000 && float64(len(reeval)) > incrementalShare*float64(total) {
		r.log.Info("re-evaluating every subject", "reason", fmt.Sprintf("%d of %d subjects are affected: a full rebuild is faster", len(reeval), total))
		v.table = engine.NewTable(v.version.Policy, v.version.Hash, r.loader(ctx), now)
		return false, nil
	}
	n, err := r.evaluateSubjects(ctx, v.table, v.version.Policy, reeval, now)
	if err != nil {
		return false, err
	}
	r.reevaluated.Store(&policyScope{from: oldHash, to: v.version.Hash, subjects: reeval, pos: pos})
	v.head = pos
	v.builtAt = logPos{seq: pos}
	if pos > 0 {
		evs, err := r.store.Events(ctx, pos-1, 1)
		if err != nil {
			return false, err
		}
		if len(evs) != 1 || evs[0].Seq != pos {
			return false, fmt.Errorf("event %d of the log is missing", pos)
		}
		v.builtAt.hash = evs[0].Hash
	}
	r.log.Info("decision table re-evaluated incrementally", "reevaluated", n, "carried_over", carried,
		"rules", strings.Join(rules, ","), "policy", short(v.version.Hash), "took", time.Since(start).Round(time.Millisecond))
	return true, nil
}

// policyScope is an incremental re-evaluation of the table from version
// from to version to: the subjects it re-evaluated (those the change can
// affect, and those whose entry had passed its next change); every other
// subject's entry was carried over. The old table reflected the events up
// to pos.
type policyScope struct {
	from, to string
	subjects []string
	pos      int64 // the old table reflected every event up to here
}

// swapIncremental builds view v's table from the current view's by
// reevaluate and swaps it in; done is false when a full rebuild is needed.
func (r *Registry) swapIncremental(ctx context.Context, v *view, now time.Time) (done bool, err error) {
	cur := r.current.Load()
	// The current table reflects every event up to the position.
	if ok, err := r.reevaluate(ctx, cur, v, now, r.tail.position.Load()); err != nil || !ok {
		return false, err
	}
	r.swap(v)
	if cur.table == v.table {
		return true, nil // the snapshot, if any, stands
	}
	if err := r.writeSnapshot(v.table, v.builtAt); err != nil {
		r.log.Error("decision table snapshot not written (the next start rebuilds)", "err", err)
	}
	return true, nil
}

// swapFromOlderSnapshot builds view v's table from a snapshot written
// under an earlier version (a start after a publication made while the
// registry was down, or by a one-shot command): the snapshot is loaded
// under its own version, brought up to the head of the log, and
// re-evaluated incrementally to v's version. tried reports that the
// snapshot was written under an earlier published version (and read);
// done is false when there is no such snapshot or a full rebuild is
// needed.
func (r *Registry) swapFromOlderSnapshot(ctx context.Context, v *view, now time.Time) (done, tried bool, err error) {
	hash := r.snapshotPolicy()
	if hash == "" || hash == v.version.Hash {
		return false, false, nil
	}
	var old engine.Version
	for _, ver := range v.eng.Versions() {
		if ver.Hash == hash {
			old = ver
		}
	}
	if old.Policy == nil {
		return false, false, nil // refused, with the reason, by loadSnapshot
	}
	t, pos := r.loadSnapshot(ctx, old, now)
	if t == nil {
		return false, true, nil
	}
	cur := &view{version: old, table: t, builtAt: pos, head: pos.seq}
	if ok, err := r.reevaluate(ctx, cur, v, now, pos.seq); err != nil || !ok {
		return false, true, err
	}
	r.swap(v)
	if err := r.writeSnapshot(v.table, v.builtAt); err != nil {
		r.log.Error("decision table snapshot not written (the next start rebuilds)", "err", err)
	}
	return true, true, nil
}

// republish rebuilds the table after a publication: incrementally when it
// can.
func (r *Registry) republish(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rebuildWith(ctx, rebuildIncremental)
}

// evaluateSubjects computes the entries of subjects from their facts in
// the store, on every core, and returns how many it computed (a subject
// that no longer parses is logged and skipped).
func (r *Registry) evaluateSubjects(ctx context.Context, t *engine.Table, pol *policy.Policy, subjects []string, now time.Time) (int, error) {
	var n atomic.Int64
	skipped, err := r.eachSubjectFacts(ctx, subjects, runtime.GOMAXPROCS(0), func(ev *engine.Evaluator, _ string, f *engine.Facts) error {
		t.PutFacts(f.ID.Canonical, ev.Entry(pol, f, now, now), f)
		n.Add(1)
		return nil
	})
	for _, sk := range skipped {
		r.log.Warn("subject in the log no longer parses", "subject", sk.subject, "err", sk.err)
	}
	return int(n.Load()), err
}

// skippedSubject is a subject eachSubjectFacts skipped: its identifier no
// longer parses.
type skippedSubject struct {
	subject string
	err     error
}

// eachSubjectFacts reads the facts of each subject from the store and
// calls fn with them, on workers goroutines (each with an evaluator of its
// own; fn must be safe for concurrent use). A subject whose identifier no
// longer parses is skipped and returned; the first other error stops the
// work and is returned.
func (r *Registry) eachSubjectFacts(ctx context.Context, subjects []string, workers int, fn func(ev *engine.Evaluator, subject string, f *engine.Facts) error) ([]skippedSubject, error) {
	workers = max(min(workers, len(subjects)), 1)
	errs := make([]error, workers)
	var (
		mu      sync.Mutex
		skipped []skippedSubject
		wg      sync.WaitGroup
	)
	step := (len(subjects) + workers - 1) / workers
	for w := range workers {
		lo, hi := min(w*step, len(subjects)), min((w+1)*step, len(subjects))
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := engine.NewEvaluator()
			for _, subject := range subjects[lo:hi] {
				f, err := r.Facts(ctx, subject)
				if credo.ErrorCode(err) == credo.EINVALID {
					mu.Lock()
					skipped = append(skipped, skippedSubject{subject, err})
					mu.Unlock()
					continue
				}
				if err == nil {
					err = fn(ev, subject, f)
				}
				if err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}
