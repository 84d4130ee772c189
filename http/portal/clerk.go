package portal

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"credo"
	"credo/ingest"
	"credo/registry"
)

// clerkPage is an authority's queue.
type clerkPage struct {
	Authority, AuthorityName string
	Disputes                 []registry.DisputeCase
	Repairs                  []registry.RepairCase
	Overdue                  int
	Flash                    string
}

func (p *Portal) handleClerk(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	pol, _, err := p.reg.Policy(ctx)
	if err != nil {
		return err
	}
	a := c.sess.Authority
	cp := clerkPage{Authority: a, AuthorityName: authorityName(pol, a, c.lang)}
	if cp.Disputes, err = p.reg.DisputeQueue(ctx, a); err != nil {
		return err
	}
	if cp.Repairs, err = p.reg.RepairQueue(ctx, a); err != nil {
		return err
	}
	for _, d := range cp.Disputes {
		if d.Overdue {
			cp.Overdue++
		}
	}
	for _, x := range cp.Repairs {
		if x.Overdue {
			cp.Overdue++
		}
	}
	switch r.URL.Query().Get("done") {
	case "filed":
		cp.Flash = tr(c.lang, "clerk.flash.filed") + " #" + r.URL.Query().Get("id")
	case "decided":
		cp.Flash = tr(c.lang, "clerk.flash.decided")
	}
	p.render(w, c, http.StatusOK, "clerk", "clerk.title", cp)
	return nil
}

// fileForm is the record filing form: what the clerk typed, the rules
// the authority may file, and the messages at each field.
type fileForm struct {
	Values map[string]string
	Rules  []ruleOption
	Errors map[string]string
}

// ruleOption is a rule the clerk may file, titled in the page's language.
type ruleOption struct{ Code, Title string }

// fieldMessage is one field's message, for the summary above the form.
type fieldMessage struct{ Field, Message string }

// ErrorList is the form's messages in the order of its fields.
func (f fileForm) ErrorList() []fieldMessage { return errorList(fileFields, f.Errors) }

// errorList is a form's messages in the order of its fields.
func errorList(fields []string, errs map[string]string) []fieldMessage {
	var out []fieldMessage
	for _, k := range fields {
		if m := errs[k]; m != "" {
			out = append(out, fieldMessage{k, m})
		}
	}
	return out
}

// fileFields are the form's fields, in the order validation reports them.
var fileFields = []string{"subject", "subject_name", "rule", "case_ref", "decided_at", "notified_at", "quantity", "evidence_sha256", "evidence_uri"}

func (p *Portal) fileRules(c *reqCtx) ([]ruleOption, error) {
	pol, _, err := p.reg.Policy(c.request.Context())
	if err != nil {
		return nil, err
	}
	var out []ruleOption
	for _, r := range pol.Rules {
		if r.FiledBy(c.sess.Authority) {
			out = append(out, ruleOption{Code: r.Code, Title: r.Title.For(c.lang)})
		}
	}
	return out, nil
}

func (p *Portal) handleFileForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	rules, err := p.fileRules(c)
	if err != nil {
		return err
	}
	p.render(w, c, http.StatusOK, "file", "file.title", fileForm{Values: map[string]string{}, Rules: rules})
	return nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func (p *Portal) handleFile(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	rules, err := p.fileRules(c)
	if err != nil {
		return err
	}
	pol, _, err := p.reg.Policy(ctx)
	if err != nil {
		return err
	}
	f := fileForm{Values: map[string]string{}, Rules: rules, Errors: map[string]string{}}
	for _, k := range fileFields {
		f.Values[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	v := f.Values
	rec := &credo.Record{Authority: c.sess.Authority, Rule: v["rule"], CaseRef: v["case_ref"], SubjectName: v["subject_name"],
		EvidenceSHA256: strings.ToLower(v["evidence_sha256"]), EvidenceURI: v["evidence_uri"]}
	// Our own checks first, with translated messages; the registry's
	// validation (the policy's rules) follows.
	if v["subject"] == "" {
		f.Errors["subject"] = tr(c.lang, "file.subject.required")
	} else if id, err := p.reg.ParseSubject(v["subject"]); err != nil {
		f.Errors["subject"] = tr(c.lang, "file.subject.invalid") + " " + messageOnly(err)
	} else {
		rec.Subject = id.Canonical
	}
	if v["rule"] == "" {
		f.Errors["rule"] = tr(c.lang, "file.rule.required")
	} else if rule := pol.Rule(v["rule"]); rule == nil || !rule.FiledBy(c.sess.Authority) {
		f.Errors["rule"] = tr(c.lang, "file.rule.invalid")
	}
	if v["case_ref"] == "" {
		f.Errors["case_ref"] = tr(c.lang, "file.case_ref.required")
	}
	if v["decided_at"] == "" {
		f.Errors["decided_at"] = tr(c.lang, "file.decided_at.required")
	} else if t, err := ingest.ParseTime(v["decided_at"], pol.Location()); err != nil {
		f.Errors["decided_at"] = tr(c.lang, "file.date.invalid")
	} else {
		rec.DecidedAt = t
	}
	if v["notified_at"] != "" {
		if t, err := ingest.ParseTime(v["notified_at"], pol.Location()); err != nil {
			f.Errors["notified_at"] = tr(c.lang, "file.date.invalid")
		} else {
			rec.NotifiedAt = t
		}
	}
	if v["quantity"] != "" {
		q, err := strconv.ParseFloat(v["quantity"], 64)
		if err != nil || q < 0 || q > 1e6 {
			f.Errors["quantity"] = tr(c.lang, "file.quantity.invalid")
		} else {
			rec.Quantity = q
		}
	}
	if v["evidence_sha256"] == "" {
		f.Errors["evidence_sha256"] = tr(c.lang, "file.evidence.required")
	} else if !sha256Hex.MatchString(v["evidence_sha256"]) {
		f.Errors["evidence_sha256"] = tr(c.lang, "file.evidence.invalid")
	}
	if len(f.Errors) == 0 {
		res, err := p.reg.FileRecord(ctx, rec)
		if err == nil {
			http.Redirect(w, r, "/clerk?done=filed&id="+strconv.FormatInt(res.Record.ID, 10), http.StatusSeeOther)
			return nil
		}
		if !fieldError(c, err, f.Errors, map[string]string{"authority": "rule"}, "case_ref") {
			return err
		}
		p.render(w, c, statusOf(err), "file", "file.title", f)
		return nil
	}
	p.render(w, c, http.StatusBadRequest, "file", "file.title", f)
	return nil
}

// decideForm is the page of one queue item and its decision form.
type decideForm struct {
	Kind     string // dispute | repair
	Dispute  *registry.DisputeCase
	Repair   *registry.RepairCase
	Record   *credo.Record
	Title    string
	Outcomes []string
	Outcome  string
	Reason   string
	Errors   map[string]string
}

func (p *Portal) itemID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, credo.Errorf(credo.ENOTFOUND, "no such item")
	}
	return id, nil
}

// disputeFor loads a dispute the clerk's authority decides (or decided).
func (p *Portal) disputeFor(r *http.Request, c *reqCtx) (*decideForm, error) {
	id, err := p.itemID(r)
	if err != nil {
		return nil, err
	}
	d, err := p.reg.Dispute(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if d.Decider != c.sess.Authority {
		return nil, credo.Errorf(credo.EFORBIDDEN, "%s", tr(c.lang, "err.notyourqueue"))
	}
	rec, err := p.reg.Store().Record(r.Context(), d.RecordID)
	if err != nil {
		return nil, err
	}
	pol, _, err := p.reg.Policy(r.Context())
	if err != nil {
		return nil, err
	}
	return &decideForm{Kind: "dispute", Dispute: d, Record: rec, Title: ruleTitle(pol, rec.Rule, c.lang),
		Outcomes: []string{credo.OutcomeUpheld, credo.OutcomeCorrected, credo.OutcomeRevoked}, Errors: map[string]string{}}, nil
}

func (p *Portal) handleDisputeForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := p.disputeFor(r, c)
	if err != nil {
		return err
	}
	p.render(w, c, http.StatusOK, "decide", "decide.dispute.title", f)
	return nil
}

func (p *Portal) handleDecideDispute(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := p.disputeFor(r, c)
	if err != nil {
		return err
	}
	f.Outcome, f.Reason = r.PostFormValue("outcome"), r.PostFormValue("reason")
	validateDecision(c, f)
	if len(f.Errors) == 0 {
		_, err = p.reg.DecideDispute(r.Context(), f.Dispute.ID, f.Outcome, strings.TrimSpace(f.Reason), c.sess.Authority)
		if err == nil {
			http.Redirect(w, r, "/clerk?done=decided", http.StatusSeeOther)
			return nil
		}
		if !fieldError(c, err, f.Errors, nil, "reason") {
			return err
		}
	}
	p.render(w, c, statusOfForm(err), "decide", "decide.dispute.title", f)
	return nil
}

func validateDecision(c *reqCtx, f *decideForm) {
	ok := false
	for _, o := range f.Outcomes {
		ok = ok || o == f.Outcome
	}
	if !ok {
		f.Errors["outcome"] = tr(c.lang, "decide.outcome.required")
	}
	reason := strings.TrimSpace(f.Reason)
	switch {
	case reason == "":
		f.Errors["reason"] = tr(c.lang, "decide.reason.required")
	case len(reason) > 4000:
		f.Errors["reason"] = tr(c.lang, "err.toolong")
	}
}

func (p *Portal) repairFor(r *http.Request, c *reqCtx) (*decideForm, error) {
	id, err := p.itemID(r)
	if err != nil {
		return nil, err
	}
	a, err := p.reg.RepairApplication(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if a.Decider != c.sess.Authority {
		return nil, credo.Errorf(credo.EFORBIDDEN, "%s", tr(c.lang, "err.notyourqueue"))
	}
	rec, err := p.reg.Store().Record(r.Context(), a.RecordID)
	if err != nil {
		return nil, err
	}
	pol, _, err := p.reg.Policy(r.Context())
	if err != nil {
		return nil, err
	}
	return &decideForm{Kind: "repair", Repair: a, Record: rec, Title: ruleTitle(pol, rec.Rule, c.lang),
		Outcomes: []string{credo.RepairApproved, credo.RepairRefused}, Errors: map[string]string{}}, nil
}

func (p *Portal) handleRepairDecisionForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := p.repairFor(r, c)
	if err != nil {
		return err
	}
	p.render(w, c, http.StatusOK, "decide", "decide.repair.title", f)
	return nil
}

func (p *Portal) handleDecideRepair(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := p.repairFor(r, c)
	if err != nil {
		return err
	}
	f.Outcome, f.Reason = r.PostFormValue("outcome"), r.PostFormValue("reason")
	validateDecision(c, f)
	if len(f.Errors) == 0 {
		_, err = p.reg.DecideRepair(r.Context(), f.Repair.ID, f.Outcome == credo.RepairApproved, strings.TrimSpace(f.Reason), c.sess.Authority)
		if err == nil {
			http.Redirect(w, r, "/clerk?done=decided", http.StatusSeeOther)
			return nil
		}
		if !fieldError(c, err, f.Errors, nil, "reason") {
			return err
		}
	}
	p.render(w, c, statusOfForm(err), "decide", "decide.repair.title", f)
	return nil
}

func asCredoError(err error) *credo.Error {
	var ce *credo.Error
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

// messageOnly is an error's caller-safe message without its field name
// (the form shows it at the field).
func messageOnly(err error) string {
	if ce := asCredoError(err); ce != nil {
		return ce.Message
	}
	return "internal error"
}
