package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
	"credo/registry"
	"credo/transparency"
)

// citizenPage is the citizen's whole file as the page shows it.
type citizenPage struct {
	Subject   string
	Kind      string
	At        time.Time
	Decisions []decisionView
	Schemes   []schemeView
	Listings  []listingView
	Measures  []measureView
	Records   []recordView
	Disputes  []registry.DisputeCase
	Repairs   []registry.RepairCase
	Notices   []noticeView
	Checks    []checkView
	Flash     string
}

type decisionView struct {
	Sector, SectorTitle, Decision string
	Grants                        []string
	Reasons                       []reasonView
}

type reasonView struct {
	engine.Reason
	Title      string
	ListTitles []string
	Records    []recordRef
}

type recordRef struct {
	ID    int64
	Title string
}

type schemeView struct {
	engine.SchemeState
	Title   string
	Meaning string
	Tiers   []tierView
	Chart   template.HTML
	Points  []historyPoint
}

// tierView is a tier as shown: its meaning in the page's language.
type tierView struct {
	Name    string
	Min     int
	Meaning string
}

type listingView struct {
	engine.Listing
	Title     string
	Public    bool
	Records   []recordRef
	Contest   string
	RepairBy  time.Time // earliest repair of the records behind it
	Notice    string
	Fulfilled bool // ends on performance
}

type measureView struct {
	engine.MeasureState
	Title, SectorTitle string
	ListTitles         []string
}

type recordView struct {
	engine.RecordState
	Title, AuthorityName, LegalBasis string
	CanObject, CanAppeal, CanRepair  bool
	RepairOpen                       bool // a repair application is pending
}

type noticeView struct {
	Seq    int64
	Issued time.Time
	Text   string
	Record int64
	// Org is set on a party notice: the record is the organisation's,
	// and it reaches the subject through their role there.
	Org string
}

type checkView struct {
	credo.CheckEntry
	SectorTitle string
}

// citizenSubject returns the canonical subject of a citizen session.
func (p *Portal) citizenSubject(c *reqCtx) (string, error) {
	id, err := p.reg.ParseSubject(c.sess.Subject)
	if err != nil {
		return "", credo.Errorf(credo.EFORBIDDEN, "this sign-in is bound to no valid subject")
	}
	return id.Canonical, nil
}

func (p *Portal) handleCitizen(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	subject, err := p.citizenSubject(c)
	if err != nil {
		return err
	}
	cp, err := p.citizenFile(r.Context(), c, subject)
	if err != nil {
		return err
	}
	switch r.URL.Query().Get("done") {
	case "objection":
		cp.Flash = tr(c.lang, "me.flash.objection")
	case "repair":
		cp.Flash = tr(c.lang, "me.flash.repair")
	}
	p.render(w, c, http.StatusOK, "citizen", "me.title", cp)
	return nil
}

// citizenFile gathers everything a subject may see about themselves.
func (p *Portal) citizenFile(ctx context.Context, c *reqCtx, subject string) (*citizenPage, error) {
	pol, _, err := p.reg.Policy(ctx)
	if err != nil {
		return nil, err
	}
	f, err := p.reg.Facts(ctx, subject)
	if err != nil {
		return nil, err
	}
	now := c.now
	st, err := p.reg.Engine().State(f, now, now)
	if err != nil {
		return nil, err
	}
	cp := &citizenPage{Subject: subject, Kind: st.Kind, At: now}
	fv := fileView{pol: pol, st: st, lang: c.lang}
	cp.Decisions = fv.decisions()
	// Schemes, with their history.
	hist, err := p.scoreHistory(f, now, pol.Location())
	if err != nil {
		return nil, err
	}
	cp.Schemes = fv.schemes(c, hist, now)
	cp.Listings = fv.listings()
	cp.Measures = fv.measures()
	if cp.Disputes, err = p.reg.Disputes(ctx, credo.DisputeFilter{Subject: subject}, ""); err != nil {
		return nil, err
	}
	if cp.Repairs, err = p.reg.Repairs(ctx, credo.RepairFilter{Subject: subject}); err != nil {
		return nil, err
	}
	cp.Records = fv.records(cp.Disputes, cp.Repairs, now)
	if cp.Notices, err = noticeViews(f, subject, c.lang, p.reg.NoticeText); err != nil {
		return nil, err
	}
	// Records of organisations that reach the subject through a role
	// there: the subject is a party to them, with a notice of their own.
	party, err := p.reg.PartyNotices(ctx, subject)
	if err != nil {
		return nil, err
	}
	for _, n := range party {
		text := n.Text.EN
		if c.lang == "zh-CN" && n.Text.ZH != "" {
			text = n.Text.ZH
		}
		nv := noticeView{Issued: n.ServedAt, Text: text, Record: n.RecordID}
		if n.Party != nil {
			nv.Org = n.Party.Org
		}
		cp.Notices = append(cp.Notices, nv)
	}
	if cp.Checks, err = p.checkViews(ctx, fv, subject); err != nil {
		return nil, err
	}
	return cp, nil
}

// fileView turns a subject's state into the page's views, in the page's
// language.
type fileView struct {
	pol  *policy.Policy
	st   *engine.State
	lang string
}

// recTitle is a record's reference with its rule's title.
func (fv fileView) recTitle(id int64) recordRef {
	ref := recordRef{ID: id}
	if rs := fv.st.Record(id); rs != nil {
		ref.Title = ruleTitle(fv.pol, rs.Record.Rule, fv.lang)
	}
	return ref
}

// decisions: every sector where a measure is in force.
func (fv fileView) decisions() []decisionView {
	pol, lang := fv.pol, fv.lang
	var sectors []string
	for _, m := range fv.st.Measures {
		if !slices.Contains(sectors, m.Sector) {
			sectors = append(sectors, m.Sector)
		}
	}
	var out []decisionView
	for _, sec := range sectors {
		d := fv.st.Decide(sec)
		dv := decisionView{Sector: sec, SectorTitle: sectorTitle(pol, sec, lang), Decision: d.Decision}
		for _, g := range d.Grants {
			dv.Grants = append(dv.Grants, measureTitle(pol, g, lang))
		}
		for _, rs := range d.Reasons {
			rv := reasonView{Reason: rs, Title: measureTitle(pol, rs.Code, lang), ListTitles: listTitles(pol, rs.Lists, lang)}
			rv.Reason.LegalBasis, rv.Reason.Contest = rs.LegalBasisIn(pol, lang), rs.ContestIn(pol, lang)
			for _, id := range rs.Records {
				rv.Records = append(rv.Records, fv.recTitle(id))
			}
			dv.Reasons = append(dv.Reasons, rv)
		}
		out = append(out, dv)
	}
	return out
}

// schemes: the subject's scores, tiers and what they mean, with the
// history and its chart.
func (fv fileView) schemes(c *reqCtx, hist []registry.HistoryPoint, now time.Time) []schemeView {
	pol, lang := fv.pol, fv.lang
	var out []schemeView
	for _, sc := range fv.st.Schemes {
		sv := schemeView{SchemeState: sc}
		if s := pol.Scheme(sc.Scheme); s != nil {
			sv.Title = s.Title.For(lang)
			for _, t := range s.Tiers {
				sv.Tiers = append(sv.Tiers, tierView{Name: t.Name, Min: t.Min, Meaning: t.Meaning.For(lang)})
				if t.Name == sc.Tier {
					sv.Meaning = t.Meaning.For(lang)
				}
			}
		}
		for _, hp := range hist {
			if hp.Scheme == sc.Scheme {
				pt := historyPoint{HistoryPoint: hp}
				if pt.RecordID != 0 {
					pt.Cause = fv.recTitle(pt.RecordID).Title
				}
				sv.Points = append(sv.Points, pt)
			}
		}
		if len(sv.Points) > 0 {
			sv.Chart = scoreChart(c, sv.Title, sv.Points, now, pol.Location())
		}
		out = append(out, sv)
	}
	return out
}

// listings: the lists the subject is on, with the records behind each and
// the earliest repair.
func (fv fileView) listings() []listingView {
	var out []listingView
	for _, li := range fv.st.Listings {
		lv := listingView{Listing: li, Title: li.List, Fulfilled: li.UntilFulfilled}
		if l := fv.pol.List(li.List); l != nil {
			lv.Title, lv.Public, lv.Contest = orDefault(l.Title.For(fv.lang), l.ID), l.Public, l.Contest.For(fv.lang)
			lv.Listing.LegalBasis = l.LegalBasis.For(fv.lang)
		}
		for _, id := range li.Records {
			lv.Records = append(lv.Records, fv.recTitle(id))
			if rs := fv.st.Record(id); rs != nil && !rs.RepairFrom.IsZero() && (lv.RepairBy.IsZero() || rs.RepairFrom.Before(lv.RepairBy)) {
				lv.RepairBy = rs.RepairFrom
			}
		}
		out = append(out, lv)
	}
	return out
}

// measures: the measures in force, with their legal bases.
func (fv fileView) measures() []measureView {
	pol, lang := fv.pol, fv.lang
	var out []measureView
	for _, m := range fv.st.Measures {
		if pm := pol.Measure(m.Measure); pm != nil {
			m.LegalBasis = pm.LegalBasis.For(lang)
		}
		out = append(out, measureView{MeasureState: m, Title: measureTitle(pol, m.Measure, lang), SectorTitle: sectorTitle(pol, m.Sector, lang),
			ListTitles: listTitles(pol, m.Lists, lang)})
	}
	return out
}

// records: the subject's records, newest first, each with the steps the
// subject may take on it (registry.RecordEligibility: the rules the
// registry itself applies when the step is taken).
func (fv fileView) records(disputes []registry.DisputeCase, repairs []registry.RepairCase, now time.Time) []recordView {
	pol, lang := fv.pol, fv.lang
	disputesOf := map[int64][]credo.DisputeView{}
	for _, d := range disputes {
		disputesOf[d.RecordID] = append(disputesOf[d.RecordID], d.DisputeView)
	}
	repairsOf := map[int64][]credo.RepairView{}
	for _, a := range repairs {
		repairsOf[a.RecordID] = append(repairsOf[a.RecordID], a.RepairView)
	}
	recs := slices.Clone(fv.st.Records)
	slices.SortFunc(recs, func(a, b engine.RecordState) int { return b.Record.DecidedAt.Compare(a.Record.DecidedAt) })
	var out []recordView
	for _, rs := range recs {
		rv := recordView{RecordState: rs, Title: ruleTitle(pol, rs.Record.Rule, lang), AuthorityName: authorityName(pol, rs.Record.Authority, lang)}
		if rule := pol.Rule(rs.Record.Rule); rule != nil {
			rv.LegalBasis = rule.LegalBasis.For(lang)
		}
		el := registry.RecordEligibility(pol, &rs.Record, &rs, disputesOf[rs.Record.ID], repairsOf[rs.Record.ID], now)
		rv.CanObject = el.Object.Allowed
		rv.CanAppeal = el.Appeal.Allowed
		rv.RepairOpen = el.RepairPending
		// A repair not yet possible is offered with its date (the page
		// says from when); the registry refuses it until then.
		rv.CanRepair = el.Repair.Allowed || el.Repair.Later
		out = append(out, rv)
	}
	return out
}

// noticeViews: the notices are among the events already loaded
// (registry.Notices would read them again), newest first; texts gives a
// notice's texts (registry.NoticeText: rendered from its facts).
func noticeViews(f *engine.Facts, subject, lang string, texts func(*credo.Notice) (credo.NoticeText, error)) ([]noticeView, error) {
	var out []noticeView
	for i := len(f.Events) - 1; i >= 0; i-- {
		ev := f.Events[i]
		if ev.Type != credo.EventNoticeIssued || ev.Notice == nil || ev.Subject != subject {
			continue
		}
		t, err := texts(ev.Notice)
		if err != nil {
			return nil, err
		}
		text := t.EN
		if lang == "zh-CN" && t.ZH != "" {
			text = t.ZH
		}
		out = append(out, noticeView{Seq: ev.Seq, Issued: ev.Recorded, Text: text, Record: ev.Notice.RecordID})
	}
	return out, nil
}

// checkViews: who checked the subject, once the check log has caught up.
func (p *Portal) checkViews(ctx context.Context, fv fileView, subject string) ([]checkView, error) {
	if p.opts.FlushChecks != nil {
		if err := p.opts.FlushChecks(ctx); err != nil {
			return nil, credo.Errorf(credo.EUNAVAILABLE, "the check log is catching up; try again")
		}
	}
	checks, err := p.checks.ChecksOf(ctx, subject, 200)
	if err != nil {
		return nil, err
	}
	var out []checkView
	for _, ch := range checks {
		out = append(out, checkView{CheckEntry: ch, SectorTitle: sectorTitle(fv.pol, ch.Sector, fv.lang)})
	}
	return out, nil
}

// historyPoint is a point of the score history (registry.WalkHistory)
// with the title of the record that caused it, for the chart.
type historyPoint struct {
	registry.HistoryPoint
	Cause string
}

// historyCache keeps each subject's score history, which costs one
// evaluation of the whole file per change (most of a citizen page's
// time), together with what it was computed from: the engine (a new one
// comes with every policy publication), the subject's events, the window
// start, and the first change after the instant it was computed for. Until
// that change, with the same events and engine, the history up to any
// later instant is the same.
type historyCache struct {
	mu sync.Mutex
	m  map[string]*historyEntry
}

type historyEntry struct {
	eng       *engine.Engine
	sig       [3]int64
	start, to time.Time
	next      time.Time
	points    []registry.HistoryPoint
}

// maxCachedHistories bounds the cache; it is emptied when full.
const maxCachedHistories = 10000

// factsSig identifies a subject's events: how many, and the last
// sequence number (the log is append-only), with those of its
// organisations.
func factsSig(f *engine.Facts) [3]int64 {
	var s [3]int64
	s[0] = int64(len(f.Events))
	if n := len(f.Events); n > 0 {
		s[1] = f.Events[n-1].Seq
	}
	for _, o := range f.Orgs {
		s[2] = s[2]*31 + int64(len(o.Events))
		if n := len(o.Events); n > 0 {
			s[2] = s[2]*31 + o.Events[n-1].Seq
		}
	}
	return s
}

// scoreHistory returns a subject's score history over the five years up
// to now (from midnight, so that the window moves once a day), from the
// cache when it is still exact.
func (p *Portal) scoreHistory(f *engine.Facts, now time.Time, loc *time.Location) ([]registry.HistoryPoint, error) {
	eng := p.reg.Engine()
	y, m, d := now.In(loc).AddDate(-5, 0, 0).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	sig := factsSig(f)
	key := f.ID.Canonical
	hc := &p.histories
	hc.mu.Lock()
	e := hc.m[key]
	hc.mu.Unlock()
	if e != nil && e.eng == eng && e.sig == sig && !now.Before(e.to) && (e.next.IsZero() || now.Before(e.next)) {
		// The walk starts at the window's start or the first policy,
		// whichever is later: as before if the window has not moved past
		// where the last walk started.
		if !from.After(e.start) {
			return e.points, nil
		}
	}
	walk, err := registry.WalkHistory(eng, f, from, now, now)
	if err != nil {
		return nil, err
	}
	pts := walk.Points
	if !walk.Capped {
		hc.mu.Lock()
		if hc.m == nil || len(hc.m) >= maxCachedHistories {
			hc.m = map[string]*historyEntry{}
		}
		hc.m[key] = &historyEntry{eng: eng, sig: sig, start: walk.Start, to: now, next: walk.Next, points: pts}
		hc.mu.Unlock()
	}
	return pts, nil
}

// Export is the whole file a subject downloads (GDPR Art. 15 style): the
// state with its decisions, the history, records, disputes, repair
// applications, notices and the access log.
type Export struct {
	Subject   string                  `json:"subject"`
	Exported  time.Time               `json:"exported"`
	Policy    string                  `json:"policy"`
	State     *engine.State           `json:"state"`
	Decisions []engine.Decision       `json:"decisions"`
	History   []registry.HistoryPoint `json:"history"`
	Disputes  []registry.DisputeCase  `json:"disputes"`
	Repairs   []registry.RepairCase   `json:"repairs"`
	Notices   []credo.Event           `json:"notices"`
	Checks    []credo.CheckEntry      `json:"checks"`
	Logic     string                  `json:"logic"`
	// Receipt proves every event of the subject's file is in the log:
	// verify it offline with credo receipt verify FILE --key KEY.
	Receipt *transparency.Receipt `json:"receipt,omitempty"`
}

func (p *Portal) handleExport(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	subject, err := p.citizenSubject(c)
	if err != nil {
		return err
	}
	f, err := p.reg.Facts(ctx, subject)
	if err != nil {
		return err
	}
	st, err := p.reg.Engine().State(f, c.now, c.now)
	if err != nil {
		return err
	}
	ex := Export{Subject: subject, Exported: c.now, Policy: st.Policy, State: st, Decisions: []engine.Decision{},
		Logic: "Scores, tiers, listings and measures are computed by Credo's engine from the records below under the published policy " + st.Policy +
			"; sanctions follow only from list membership. The same state can be replayed for any instant."}
	seen := map[string]bool{}
	for _, m := range st.Measures {
		if !seen[m.Sector] {
			seen[m.Sector] = true
			ex.Decisions = append(ex.Decisions, st.Decide(m.Sector))
		}
	}
	if ex.History, err = p.scoreHistory(f, c.now, c.loc); err != nil {
		return err
	}
	if ex.Disputes, err = p.reg.Disputes(ctx, credo.DisputeFilter{Subject: subject}, ""); err != nil {
		return err
	}
	if ex.Repairs, err = p.reg.Repairs(ctx, credo.RepairFilter{Subject: subject}); err != nil {
		return err
	}
	if ex.Notices, err = p.reg.Notices(ctx, subject); err != nil {
		return err
	}
	if p.opts.Receipt != nil {
		if ex.Receipt, err = p.opts.Receipt(ctx, subject); err != nil {
			return err
		}
	}
	if p.opts.FlushChecks != nil {
		if err := p.opts.FlushChecks(ctx); err != nil {
			return credo.Errorf(credo.EUNAVAILABLE, "the check log is catching up; try again")
		}
	}
	if ex.Checks, err = p.checks.ChecksOf(ctx, subject, 10000); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="credo-%s.json"`, subject))
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ex)
}

// objectionForm is the objection page's data.
type objectionForm struct {
	Record  recordView
	Appeal  bool
	Grounds string
	NewInfo bool
	Review  string // how long the authority has
	Errors  map[string]string
}

// ownRecordView loads a record of the signed-in subject as the file shows it.
func (p *Portal) ownRecordView(ctx context.Context, c *reqCtx, raw string) (*recordView, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || id <= 0 {
		return nil, credo.FieldErrorf("record", "%s", tr(c.lang, "err.record"))
	}
	subject, err := p.citizenSubject(c)
	if err != nil {
		return nil, err
	}
	rec, err := p.reg.Store().Record(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.Subject != subject {
		// Whether another subject's record exists is not theirs to learn.
		return nil, credo.Errorf(credo.ENOTFOUND, "no record %d", id) // the same answer as for a missing one
	}
	cp, err := p.citizenFile(ctx, c, subject)
	if err != nil {
		return nil, err
	}
	for i := range cp.Records {
		if cp.Records[i].Record.ID == id {
			return &cp.Records[i], nil
		}
	}
	return nil, credo.Errorf(credo.ENOTFOUND, "record %d not found", id)
}

func (p *Portal) reviewPeriod(ctx context.Context, rule string) string {
	pol, _, err := p.reg.Policy(ctx)
	if err != nil {
		return ""
	}
	_, proc := engine.DisputeProcedure(pol, pol.Rule(rule))
	return proc.Review.String()
}

func (p *Portal) handleObjectForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	rv, err := p.ownRecordView(r.Context(), c, r.URL.Query().Get("record"))
	if err != nil {
		return err
	}
	f := objectionForm{Record: *rv, Appeal: r.URL.Query().Get("appeal") == "1" && rv.CanAppeal, Review: p.reviewPeriod(r.Context(), rv.Record.Rule)}
	p.render(w, c, http.StatusOK, "object", "object.title", f)
	return nil
}

func (p *Portal) handleObject(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	rv, err := p.ownRecordView(ctx, c, r.PostFormValue("record"))
	if err != nil {
		return err
	}
	f := objectionForm{Record: *rv, Appeal: r.PostFormValue("appeal") == "1", Grounds: r.PostFormValue("grounds"),
		NewInfo: r.PostFormValue("new_information") == "1", Review: p.reviewPeriod(ctx, rv.Record.Rule), Errors: map[string]string{}}
	g := strings.TrimSpace(f.Grounds)
	switch {
	case g == "":
		f.Errors["grounds"] = tr(c.lang, "object.grounds.required")
	case len([]rune(g)) < 10:
		f.Errors["grounds"] = tr(c.lang, "object.grounds.short")
	case len(g) > 4000:
		f.Errors["grounds"] = tr(c.lang, "err.toolong")
	}
	if len(f.Errors) == 0 {
		_, err = p.reg.OpenDispute(ctx, rv.Record.ID, g, "", f.Appeal, f.NewInfo, registry.ActorSubject)
		if err == nil {
			http.Redirect(w, r, "/me?done=objection#disputes", http.StatusSeeOther)
			return nil
		}
		if !fieldError(c, err, f.Errors, map[string]string{"record_id": "grounds", "evidence_sha256": "grounds"}, "grounds") {
			return err
		}
	}
	p.render(w, c, statusOfForm(err), "object", "object.title", f)
	return nil
}

// repairForm is the repair application page's data.
type repairForm struct {
	Record     recordView
	Statement  string
	Commitment bool
	Decide     string
	Errors     map[string]string
}

func (p *Portal) repairDecide(ctx context.Context) string {
	pol, _, err := p.reg.Policy(ctx)
	if err != nil {
		return ""
	}
	return pol.Procedures.Repair.Decide.String()
}

func (p *Portal) handleRepairForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	rv, err := p.ownRecordView(r.Context(), c, r.URL.Query().Get("record"))
	if err != nil {
		return err
	}
	p.render(w, c, http.StatusOK, "repair", "repair.title", repairForm{Record: *rv, Decide: p.repairDecide(r.Context())})
	return nil
}

func (p *Portal) handleRepair(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	rv, err := p.ownRecordView(ctx, c, r.PostFormValue("record"))
	if err != nil {
		return err
	}
	f := repairForm{Record: *rv, Statement: r.PostFormValue("statement"), Commitment: r.PostFormValue("commitment") == "1",
		Decide: p.repairDecide(ctx), Errors: map[string]string{}}
	s := strings.TrimSpace(f.Statement)
	switch {
	case s == "":
		f.Errors["statement"] = tr(c.lang, "repair.statement.required")
	case len(s) > 4000:
		f.Errors["statement"] = tr(c.lang, "err.toolong")
	}
	if !f.Commitment {
		f.Errors["commitment"] = tr(c.lang, "repair.commitment.required")
	}
	if len(f.Errors) == 0 {
		_, err = p.reg.ApplyRepair(ctx, rv.Record.ID, s, true, registry.ActorSubject)
		if err == nil {
			http.Redirect(w, r, "/me?done=repair#disputes", http.StatusSeeOther)
			return nil
		}
		if !fieldError(c, err, f.Errors, map[string]string{"record_id": "statement"}, "statement") {
			return err
		}
	}
	p.render(w, c, statusOfForm(err), "repair", "repair.title", f)
	return nil
}

// fieldError puts a registry refusal (invalid input or a conflict) at the
// form field it concerns (renamed through fields; unknown or no field: at
// fallback) and reports whether it did. Other errors are left to the
// error page.
func fieldError(c *reqCtx, err error, errs map[string]string, fields map[string]string, fallback string) bool {
	code := credo.ErrorCode(err)
	if code != credo.EINVALID && code != credo.ECONFLICT && code != credo.ENOTFOUND {
		return false
	}
	var field string
	if ce := asCredoError(err); ce != nil {
		field = ce.Field
	}
	if f, ok := fields[field]; ok {
		field = f
	}
	if field == "" {
		field = fallback
	}
	msg := messageOnly(err)
	if c.lang != "en" {
		msg = tr(c.lang, "err.registry") + msg
	}
	errs[field] = msg
	return true
}

// statusOfForm is the status of a form shown again: 400 for our own
// validation, else the registry error's.
func statusOfForm(err error) int {
	if err == nil {
		return http.StatusBadRequest
	}
	return statusOf(err)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// The policy's names and titles in the page's language, by id (the id
// when the policy gives none).

func ruleTitle(pol *policy.Policy, code, lang string) string {
	if r := pol.Rule(code); r != nil && !r.Title.IsZero() {
		return r.Title.For(lang)
	}
	return code
}

func sectorTitle(pol *policy.Policy, id, lang string) string {
	if s := pol.Sector(id); s != nil && !s.Title.IsZero() {
		return s.Title.For(lang)
	}
	return id
}

func measureTitle(pol *policy.Policy, id, lang string) string {
	if m := pol.Measure(id); m != nil && !m.Title.IsZero() {
		return m.Title.For(lang)
	}
	return id
}

// listTitles returns the titles of lists, by id.
func listTitles(pol *policy.Policy, ids []string, lang string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if l := pol.List(id); l != nil && !l.Title.IsZero() {
			id = l.Title.For(lang)
		}
		out = append(out, id)
	}
	return out
}

func authorityName(pol *policy.Policy, id, lang string) string {
	if a := pol.Authority(id); a != nil && !a.Name.IsZero() {
		return a.Name.For(lang)
	}
	return id
}
