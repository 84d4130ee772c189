package registry

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/internal/storecore"
	"credo/policy"
)

// maxClockSkew is how far in the future a decision date may lie: an
// authority's clock may run a little ahead, nothing more.
const maxClockSkew = 5 * time.Minute

// Validate checks that a record may be filed under the policy in force and
// canonicalises its subject. It reports the first problem with the field it
// concerns (principle 1: no record without a source).
func (r *Registry) Validate(ctx context.Context, rec *credo.Record) error {
	v, err := r.view(ctx)
	if err != nil {
		return err
	}
	return r.validate(v.version.Policy, rec)
}

func (r *Registry) validate(pol *policy.Policy, rec *credo.Record) error {
	id, err := r.validateSubject(pol, rec)
	if err != nil {
		return err
	}
	rule, err := validateRuleAndAuthority(pol, rec, id)
	if err != nil {
		return err
	}
	if err := validateEvidence(rec); err != nil {
		return err
	}
	if err := r.validateDates(pol, rec, id); err != nil {
		return err
	}
	return validateQuantity(rule, rec)
}

// validateSubject parses the record's subject (the rule says which kind
// when the identifier alone is ambiguous), canonicalises it and applies
// the registry's acceptance hook.
func (r *Registry) validateSubject(pol *policy.Policy, rec *credo.Record) (ident.ID, error) {
	if rec.Subject == "" {
		return ident.ID{}, credo.FieldErrorf("subject", "is required")
	}
	kind, ruleKind, err := recordKind(pol, rec)
	if err != nil {
		return ident.ID{}, err
	}
	id, err := r.ParseSubjectAs(rec.Subject, kind)
	if ident.IsAmbiguous(err) && ruleKind != credo.KindUnknown {
		id, err = r.ParseSubjectAs(rec.Subject, ruleKind) // the rule says which
	}
	if err != nil {
		return ident.ID{}, err
	}
	rec.Subject, rec.Kind = id.Canonical, ""
	if r.accept != nil {
		if err := r.accept(id); err != nil {
			return ident.ID{}, err
		}
	}
	return id, nil
}

// validateRuleAndAuthority checks that the rule is in the policy, the
// authority is declared and may file it, and the rule applies to the
// subject's kind.
func validateRuleAndAuthority(pol *policy.Policy, rec *credo.Record, id ident.ID) (*policy.Rule, error) {
	if rec.Rule == "" {
		return nil, credo.FieldErrorf("rule", "is required")
	}
	rule := pol.Rule(rec.Rule)
	if rule == nil {
		return nil, credo.FieldErrorf("rule", "unknown rule %q in the policy in force", rec.Rule)
	}
	if rec.Authority == "" {
		return nil, credo.FieldErrorf("authority", "is required")
	}
	if pol.Authority(rec.Authority) == nil {
		return nil, credo.FieldErrorf("authority", "unknown authority %q", rec.Authority)
	}
	if !rule.FiledBy(rec.Authority) {
		return nil, &credo.Error{Code: credo.EFORBIDDEN, Field: "authority", Message: fmt.Sprintf("authority %s may not file rule %s (it may be filed by %s)", rec.Authority, rule.Code, strings.Join(rule.Authorities, ", "))}
	}
	if !rule.AppliesTo(id.Kind.String()) {
		return nil, credo.FieldErrorf("rule", "rule %s applies to %s, not to a %s", rule.Code, strings.Join(rule.Subjects, " and "), id.Kind)
	}
	return rule, nil
}

// validateEvidence checks the case reference and the evidence digest
// (lower-cased).
func validateEvidence(rec *credo.Record) error {
	if strings.TrimSpace(rec.CaseRef) == "" {
		return credo.FieldErrorf("case_ref", "is required (the authority's case reference)")
	}
	if len(rec.CaseRef) > 200 {
		return credo.FieldErrorf("case_ref", "is longer than 200 characters")
	}
	if rec.EvidenceSHA256 == "" {
		return credo.FieldErrorf("evidence_sha256", "is required (the SHA-256 of the legally effective document behind the record)")
	}
	if b, err := hex.DecodeString(rec.EvidenceSHA256); err != nil || len(b) != 32 {
		return credo.FieldErrorf("evidence_sha256", "must be 64 hexadecimal characters")
	}
	rec.EvidenceSHA256 = strings.ToLower(rec.EvidenceSHA256)
	return nil
}

// validateDates checks the decision and notification dates: present, not
// in the future, within the stores' bounds, not before the subject's
// birth.
func (r *Registry) validateDates(pol *policy.Policy, rec *credo.Record, id ident.ID) error {
	now := r.now()
	if rec.DecidedAt.IsZero() {
		return credo.FieldErrorf("decided_at", "is required")
	}
	if rec.DecidedAt.After(now.Add(maxClockSkew)) {
		return credo.FieldErrorf("decided_at", "%s is in the future", rec.DecidedAt.Format(time.RFC3339))
	}
	if err := storecore.CheckRecordDates(rec, func(f string) string { return f }); err != nil {
		return err // the bounds of docs/dates.md
	}
	if id.HasBirth() {
		// Born on that day in the policy's time zone, at the earliest at its start.
		y, m, d := id.Birth.Date()
		if born := time.Date(y, m, d, 0, 0, 0, 0, pol.Location()); rec.DecidedAt.Before(born) {
			return credo.FieldErrorf("decided_at", "%s is before the subject was born (%s, from the ID card number)",
				rec.DecidedAt.In(pol.Location()).Format("2006-01-02"), id.Birth.Format("2006-01-02"))
		}
	}
	if !rec.NotifiedAt.IsZero() && rec.NotifiedAt.After(now.Add(maxClockSkew)) {
		return credo.FieldErrorf("notified_at", "%s is in the future", rec.NotifiedAt.Format(time.RFC3339))
	}
	return nil
}

// validateQuantity checks the quantity against the rule: required and
// positive when it counts per unit, empty otherwise.
func validateQuantity(rule *policy.Rule, rec *credo.Record) error {
	perUnit := false
	for _, ps := range rule.Points {
		perUnit = perUnit || ps.PerUnit != 0
	}
	switch {
	case perUnit && rec.Quantity <= 0:
		return credo.FieldErrorf("quantity", "rule %s counts per unit: a positive quantity is required", rule.Code)
	case !perUnit && rec.Quantity != 0:
		return credo.FieldErrorf("quantity", "rule %s does not count per unit: leave quantity empty", rule.Code)
	case rec.Quantity > 1e6:
		return credo.FieldErrorf("quantity", "%g is implausibly large", rec.Quantity)
	}
	return nil
}

// recordKind returns the kind of subject a record names if the filer said
// (its Kind), and the kind of its rule if the rule applies to one kind
// only: that decides an identifier that reads as both.
func recordKind(pol *policy.Policy, rec *credo.Record) (kind, ruleKind credo.SubjectKind, err error) {
	if rec.Kind != "" {
		k, ok := credo.ParseSubjectKind(rec.Kind)
		if !ok {
			return k, k, credo.FieldErrorf("kind", "%q is not a kind of subject: person or org", rec.Kind)
		}
		kind = k
	}
	if rule := pol.Rule(rec.Rule); rule != nil && len(rule.Subjects) == 1 {
		ruleKind, _ = credo.ParseSubjectKind(rule.Subjects[0])
	}
	return kind, ruleKind, nil
}

// FileRecords validates and files records atomically: if any record is
// invalid, nothing is filed and the error names it by index. It returns the
// stored records (the originals for identical re-filings).
func (r *Registry) FileRecords(ctx context.Context, recs []*credo.Record) ([]credo.FileResult, error) {
	v, err := r.view(ctx)
	if err != nil {
		return nil, err
	}
	for i, rec := range recs {
		if err := r.validate(v.version.Policy, rec); err != nil {
			if len(recs) > 1 {
				var e *credo.Error
				if errors.As(err, &e) {
					c := *e
					c.Field = fmt.Sprintf("records[%d].%s", i, e.Field)
					return nil, &c
				}
			}
			return nil, err
		}
	}
	return r.file(ctx, v, recs)
}

// file files validated records atomically, issues their notices and
// refreshes the decision entries they touch.
func (r *Registry) file(ctx context.Context, v *view, recs []*credo.Record) ([]credo.FileResult, error) {
	res, err := r.store.FileRecords(ctx, recs)
	if err != nil {
		return nil, err
	}
	r.issueNotices(ctx, v.version.Policy, v.version.Hash, res)
	subjects := make([]string, 0, len(res))
	seqs := make([]int64, 0, len(res))
	for _, fr := range res {
		if fr.Created {
			subjects = append(subjects, fr.Record.Subject)
			seqs = append(seqs, fr.Record.ID) // a record's id is its event's seq
		}
	}
	if rv, err := r.refresh(ctx, subjects...); err == nil {
		r.refreshedOwn(rv, seqs)
	}
	return res, nil
}

// FileEach files records that have each passed Validate (bulk ingest
// validates line by line to report every bad line), without validating
// them again. They are filed in one atomic batch when they can be; when one
// conflicts with a stored record, they are filed one by one so that only
// the conflicting ones are refused. It returns each record's result, or in
// refused[i] the conflict that refused record i; err reports a failure of
// the store, after which nothing more is known.
func (r *Registry) FileEach(ctx context.Context, recs []*credo.Record) (res []credo.FileResult, refused []error, err error) {
	v, err := r.view(ctx)
	if err != nil {
		return nil, nil, err
	}
	res, err = r.file(ctx, v, recs)
	if credo.ErrorCode(err) != credo.ECONFLICT {
		return res, make([]error, len(recs)), err
	}
	res, refused = make([]credo.FileResult, len(recs)), make([]error, len(recs))
	for i, rec := range recs {
		one, err := r.file(ctx, v, []*credo.Record{rec})
		switch {
		case credo.ErrorCode(err) == credo.ECONFLICT:
			refused[i] = err
		case err != nil:
			return nil, nil, err
		default:
			res[i] = one[0]
		}
	}
	return res, refused, nil
}

// FileRecord validates and files one record.
func (r *Registry) FileRecord(ctx context.Context, rec *credo.Record) (credo.FileResult, error) {
	res, err := r.FileRecords(ctx, []*credo.Record{rec})
	if err != nil {
		return credo.FileResult{}, err
	}
	return res[0], nil
}

// refresh recomputes the decision entries of subjects after a change, and
// of the persons linked to any organisation among them. It returns the
// view whose table it refreshed and the first error (it refreshes every
// subject it can regardless).
func (r *Registry) refresh(ctx context.Context, subjects ...string) (*view, error) {
	v := r.current.Load()
	if r.noTable || v == nil || v.table == nil {
		return v, nil
	}
	return v, r.refreshTable(ctx, v.table, r.now(), subjects)
}

// refreshTable recomputes the entries of subjects in a table, and of the
// persons linked to any organisation among them. It returns the first
// error (it refreshes every subject it can regardless).
func (r *Registry) refreshTable(ctx context.Context, t *engine.Table, now time.Time, subjects []string) error {
	seen := map[string]bool{}
	var first error
	fail := func(err error, msg string, args ...any) {
		r.log.Error(msg, append(args, "err", err)...)
		if first == nil {
			first = err
		}
	}
	for _, s := range subjects {
		if seen[s] {
			continue
		}
		seen[s] = true
		if _, err := t.Refresh(s, now); err != nil {
			fail(err, "refreshing decision entry", "subject", s)
		}
		if id, err := r.parser.Parse(s); err == nil && id.Kind == credo.Org {
			persons, err := r.store.LinkedPersons(ctx, s)
			if err != nil {
				fail(err, "loading linked persons", "org", s)
			}
			for _, p := range persons {
				if !seen[p] {
					seen[p] = true
					if _, err := t.Refresh(p, now); err != nil {
						fail(err, "refreshing decision entry", "subject", p)
					}
				}
			}
		}
	}
	return first
}

// Append appends events about subjects (changes, disputes, consents, links)
// and refreshes the decision entries they touch.
func (r *Registry) Append(ctx context.Context, evs ...*credo.Event) ([]*credo.Event, error) {
	out, err := r.store.Append(ctx, evs)
	if err != nil {
		return nil, err
	}
	var subjects []string
	seqs := make([]int64, 0, len(out))
	for _, ev := range out {
		seqs = append(seqs, ev.Seq)
		if ev.Subject != "" {
			subjects = append(subjects, ev.Subject)
		}
		if ev.Link != nil {
			subjects = append(subjects, ev.Link.Person)
		}
	}
	if rv, err := r.refresh(ctx, subjects...); err == nil {
		r.refreshedOwn(rv, seqs)
	}
	return out, nil
}

// ChangeRecord revokes a record, records its fulfilment or approves its
// repair, effective at instant at (zero: now), on behalf of actor.
func (r *Registry) ChangeRecord(ctx context.Context, typ credo.EventType, recordID int64, at time.Time, actor, reason string, void bool) (*credo.Event, error) {
	switch typ {
	case credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved:
	default:
		return nil, credo.Errorf(credo.EINVALID, "%s is not a change to a record", typ)
	}
	rec, err := r.store.Record(ctx, recordID)
	if err != nil {
		return nil, err
	}
	if at.IsZero() {
		at = r.now()
	}
	if typ == credo.EventRepairApproved {
		if err := r.repairAllowed(ctx, rec, at); err != nil {
			return nil, err
		}
	}
	out, err := r.Append(ctx, &credo.Event{Type: typ, Subject: rec.Subject, Actor: actor,
		Change: &credo.RecordChange{RecordID: rec.ID, At: at, Reason: reason, VoidAbInitio: void && typ == credo.EventRecordRevoked}})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// repairAllowed refuses a repair before the rule's minimum period, with the
// date from which one is possible.
func (r *Registry) repairAllowed(ctx context.Context, rec *credo.Record, at time.Time) error {
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return err
	}
	return repairGate(pol, rec, at).Refusal
}

// Publish validates and publishes a policy version effective at instant
// effective (zero: the policy's own effective time). A policy with lint
// errors is refused. The decision table is rebuilt and swapped in.
func (r *Registry) Publish(ctx context.Context, name string, src []byte, effective time.Time) (*credo.PolicyVersion, []policy.Diagnostic, error) {
	p, err := policy.Parse(name, src)
	if err != nil {
		return nil, nil, &credo.Error{Code: credo.EINVALID, Op: "policy publish", Message: err.Error(), Err: err}
	}
	if effective.IsZero() {
		effective = p.Effective
	}
	pv := &credo.PolicyVersion{Hash: policy.Hash(src), Name: p.Name, Effective: effective, Published: r.now(), Source: src}
	// Versions are never overwritten: the store keeps the first
	// publication of a document and answers a second with the first's
	// event. Say so, rather than report a publication that did not happen.
	already := func(old *credo.PolicyVersion) error {
		return &credo.Error{Code: credo.ECONFLICT, Op: "policy publish", Message: fmt.Sprintf(
			"this policy was already published as version %s on %s (effective %s): versions are never overwritten, nothing was published",
			old.Hash[:12], old.Published.Format(time.RFC3339), old.Effective.Format(time.RFC3339))}
	}
	for _, v := range r.Engine().Versions() {
		if v.Hash == pv.Hash {
			return nil, nil, already(&credo.PolicyVersion{Hash: v.Hash, Effective: v.Effective, Published: v.Published})
		}
	}
	head, _, err := r.store.Head(ctx)
	if err != nil {
		return nil, nil, err
	}
	out, err := r.store.Append(ctx, []*credo.Event{{Type: credo.EventPolicyPublished, Actor: "admin", Policy: pv}})
	if err != nil {
		return nil, nil, err
	}
	if len(out) == 1 && out[0].Seq <= head && out[0].Policy != nil {
		// The store answered with an earlier event: published meanwhile
		// by another process.
		return nil, nil, already(out[0].Policy)
	}
	// The rebuild takes this parse of the version rather than parse it
	// again, named as a rebuild names a published version.
	p.File = publishedName(pv.Hash)
	r.parsed.Store(pv.Hash, &parsedPolicy{pol: p, src: src})
	if err := r.republish(ctx); err != nil {
		return nil, nil, err
	}
	return pv, p.Warnings, nil
}

// Explain returns the decision for a sector at an instant as known at
// another, with its full reasons: the slow path behind replays and `credo
// check --at`.
func (r *Registry) Explain(ctx context.Context, subject, sector string, at, known time.Time) (engine.Decision, error) {
	st, err := r.State(ctx, subject, at, known)
	if err != nil {
		return engine.Decision{}, err
	}
	return decideSector(st, sector)
}
