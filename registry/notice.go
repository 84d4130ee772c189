package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
)

// Notices.
//
// Every record whose rule puts the subject on a list or changes their
// points gets one notice.issued event, appended right after the record is
// filed (unless all its effects had already ended when it was filed:
// history loaded late changes nothing, and is in the subject's file anyway): what was recorded, by whom, under which rule and legal basis, what
// follows and from when, how long it lasts, and how to object. The store
// keeps at most one notice per record (appending a second is a no-op), and
// queues each notice for the configured webhooks in the notice's own
// transaction.
//
// Filing and the notice are two transactions: a process that stops between
// them leaves a record without its notice. The sweeper finds such records
// (through the store's notices projection) and issues their notices: when
// the registry opens, and periodically in a server (RunNoticeSweeper). So
// a notice is never silently lost; at worst it is late.

// noticeBatch is how many records the sweeper examines per query.
const noticeBatch = 1000

// issueNotices appends the notices of newly created records. It does not
// fail the filing (the records are committed): a notice it could not
// append is issued by the sweeper, which it wakes.
func (r *Registry) issueNotices(ctx context.Context, pol *policy.Policy, hash string, res []credo.FileResult) {
	var evs []*credo.Event
	for _, fr := range res {
		if !fr.Created {
			continue
		}
		if n := r.notice(pol, hash, fr.Record); n != nil {
			evs = append(evs, noticeEvent(n))
		}
	}
	if len(evs) == 0 {
		return
	}
	// The records are filed whatever the caller does now: a client that
	// hung up must not cost the subject their notice.
	if _, err := r.store.Append(context.WithoutCancel(ctx), evs); err != nil {
		r.log.Error("issuing notices: the sweeper will retry", "notices", len(evs), "err", err)
		r.noticeFailed.Store(true)
		r.wakeSweeper()
	}
}

// NoticesIssuedThrough moves the sweeper's cursor to id: every record up to
// id was filed through this registry, which issued their notices (and no
// other writer filed meanwhile: a bulk load into a new registry). It does
// nothing and reports false if a notice could not be appended since the
// registry was opened: the sweep must then examine those records. Without
// it the first start after a bulk load examines every record of the city
// once more (44 s for 4.4 M records).
func (r *Registry) NoticesIssuedThrough(ctx context.Context, id int64) (bool, error) {
	if r.noticeFailed.Load() {
		return false, nil
	}
	r.sweepMu.Lock()
	defer r.sweepMu.Unlock()
	if r.noticeFailed.Load() {
		return false, nil
	}
	if err := r.store.SetNoticeSweepCursor(ctx, id); err != nil {
		return false, err
	}
	return true, nil
}

func noticeEvent(n *credo.Notice) *credo.Event {
	return &credo.Event{Type: credo.EventNoticeIssued, Subject: n.Subject, Actor: "credo", Notice: n}
}

// wakeSweeper asks a running sweeper to sweep soon.
func (r *Registry) wakeSweeper() {
	select {
	case r.sweepNow <- struct{}{}:
	default:
	}
}

// Notice returns the notice a record gets under the policy in force when
// it was filed (nil if its rule has no effect, or no policy is known).
func (r *Registry) Notice(ctx context.Context, rec *credo.Record) *credo.Notice {
	now := r.now()
	ver, ok := r.Engine().PolicyAt(rec.FiledAt, now)
	if !ok {
		if ver, ok = r.Engine().PolicyAt(now, now); !ok {
			return nil
		}
	}
	if ver.Policy.Rule(rec.Rule) == nil {
		if cur, ok := r.Engine().PolicyAt(now, now); ok {
			ver = cur
		}
	}
	return r.notice(ver.Policy, ver.Hash, rec)
}

// SweepNotices issues the notices missing from records filed since the
// last sweep and returns how many it issued. Records whose rule has no
// effect are passed over. Safe to run concurrently with filing: the store
// never keeps two notices for one record.
func (r *Registry) SweepNotices(ctx context.Context) (int, error) {
	ns := r.store
	r.sweepMu.Lock()
	defer r.sweepMu.Unlock()
	if len(r.Engine().Versions()) == 0 {
		return 0, nil // no policy: nothing can have been filed
	}
	after, err := ns.NoticeSweepCursor(ctx)
	if err != nil {
		return 0, err
	}
	issued := 0
	for {
		recs, examined, err := ns.RecordsWithoutNotice(ctx, after, noticeBatch)
		if err != nil {
			return issued, err
		}
		var evs []*credo.Event
		for _, rec := range recs {
			if n := r.Notice(ctx, rec); n != nil {
				evs = append(evs, noticeEvent(n))
			}
		}
		if len(evs) > 0 {
			head, _, err := r.store.Head(ctx)
			if err != nil {
				return issued, err
			}
			out, err := r.store.Append(ctx, evs)
			if err != nil {
				return issued, err
			}
			n := 0
			for _, ev := range out {
				if ev.Seq > head { // not a notice appended meanwhile by the filer
					n++
				}
			}
			if n > 0 {
				r.log.Warn("issued missing notices", "notices", n, "through_record", examined)
			}
			issued += n
		}
		if examined <= after {
			return issued, nil
		}
		if err := ns.SetNoticeSweepCursor(ctx, examined); err != nil {
			return issued, err
		}
		after = examined
		if len(recs) < noticeBatch {
			return issued, nil
		}
	}
}

// RunNoticeSweeper sweeps for missing notices every interval (and soon
// after a notice could not be appended) until ctx ends.
func (r *Registry) RunNoticeSweeper(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.sweepNow:
			// Let the store recover from whatever failed first.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		if _, err := r.SweepNotices(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("sweeping for missing notices", "err", err)
		}
	}
}

// Notices returns the notices issued to a subject, oldest first, as the
// events that issued them.
func (r *Registry) Notices(ctx context.Context, subject string) ([]credo.Event, error) {
	id, err := r.ParseSubject(subject)
	if err != nil {
		return nil, err
	}
	if err := r.Doubt(); err != nil {
		return nil, err
	}
	evs, err := r.store.SubjectEvents(ctx, id.Canonical)
	if err != nil {
		return nil, err
	}
	out := []credo.Event{}
	for _, ev := range evs {
		if ev.Type == credo.EventNoticeIssued && ev.Notice != nil && ev.Subject == id.Canonical {
			out = append(out, ev)
		}
	}
	return r.withNoticeTexts(out)
}

// DefaultHowToObject tells a subject how to object when the list gives no
// contest instructions of its own.
const DefaultHowToObject = "Object through the Credo subject portal or API, or in writing to the authority that filed the record, citing the record number."

// notice computes the notice of a record under a policy: nil if the rule
// is unknown, neither lists nor scores, or all its effects had ended by
// the time the record was filed.
func (r *Registry) notice(pol *policy.Policy, hash string, rec *credo.Record) *credo.Notice {
	rule := pol.Rule(rec.Rule)
	if rule == nil {
		return nil
	}
	cal := pol.Calendar
	n := &credo.Notice{
		RecordID: rec.ID, Subject: rec.Subject, SubjectName: rec.SubjectName,
		Rule: rule.Code, RuleTitle: rule.Title.String(), Severity: rule.Severity,
		Authority: credo.NoticeAuthority{ID: rec.Authority},
		CaseRef:   rec.CaseRef, DecidedAt: rec.DecidedAt, LegalBasis: rule.LegalBasis.String(),
		Policy: hash, ServedAt: engine.NoticeServed(rec),
	}
	if a := pol.Authority(rec.Authority); a != nil {
		n.Authority.Name = a.Name.String()
		n.AppealTo = appealTo(pol, a, pol.FirstLanguage())
	}
	id, err := r.parser.Parse(rec.Subject)
	kind := ""
	if err == nil {
		kind = id.Kind.String()
		// The engine's own test: a minor's conduct has no effect at
		// all, then or later (no list, no points).
		n.Minor = engine.MinorAt(id, rec.DecidedAt, cal.Loc)
	}

	effect := false // the rule lists or scores a subject of this kind
	for _, sid := range sortedKeys(rule.Points) {
		sc := pol.Scheme(sid)
		if sc == nil || (kind != "" && !sc.Applies(kind)) {
			continue
		}
		ps := rule.Points[sid]
		pts := engine.RecordPoints(ps, rec)
		if pts == 0 {
			continue
		}
		effect = true
		if n.Minor {
			continue
		}
		n.Points = append(n.Points, credo.NoticePoints{Scheme: sid, Title: sc.Title.String(), Points: pts, Capped: ps.Cap > 0})
	}
	lasts := cal.Add(rec.DecidedAt, rule.Lifetime)
	for _, lid := range rule.ListIDs() {
		l := pol.List(lid)
		if l == nil {
			continue
		}
		effect = true
		if n.Minor {
			continue
		}
		spec := rule.Lists[lid]
		from, to := engine.ListingSpan(pol, l, spec, rec)
		n.Lists = append(n.Lists, credo.NoticeListing{List: lid, Title: l.Title.String(), Kind: l.Kind, Public: l.Public,
			LegalBasis: l.LegalBasis.String(), From: from, Until: to, UntilFulfilled: spec.UntilFulfilled})
		if n.EffectiveFrom.IsZero() || from.Before(n.EffectiveFrom) {
			n.EffectiveFrom = from
		}
		if to.After(lasts) {
			lasts = to
		}
	}
	if !effect {
		return nil // no effect: nothing to give notice of
	}
	// How to object: the contest text of the list whose procedure governs
	// objections to the record, the procedure whose deadlines follow (the
	// lint refuses a contest text that contradicts them).
	if l := engine.DisputeList(pol, rule); l != nil {
		n.HowToObject = l.Contest.String()
	}
	if n.EffectiveFrom.IsZero() {
		n.EffectiveFrom = rec.DecidedAt // points count from the decision date
	}
	if !rec.FiledAt.IsZero() && !lasts.After(rec.FiledAt) {
		// Filed after all its effects had ended (history loaded late):
		// nothing follows, nothing is left to object to. The record is
		// in the subject's file all the same.
		return nil
	}
	n.Lasts = lasts
	n.ObjectUntil = lasts
	_, proc := engine.DisputeProcedure(pol, rule)
	n.ReviewWithin = proc.Review.String()
	if n.AppealTo != "" {
		n.AppealWithin = proc.AppealFile.String() // empty: the procedure provides no appeal
	}
	if n.AppealWithin == "" {
		n.AppealTo = "" // no appeal the registry would accept: offer none
	}
	if from, ok := engine.RepairFrom(pol, rule, rec); ok {
		n.RepairFrom = from
	}
	if n.HowToObject == "" {
		n.HowToObject = DefaultHowToObject
	}
	n.Template = NoticeTemplate
	n.Text, _ = noticeTexts(pol, n, n.Template)
	n.TextSHA256 = credo.NoticeText{EN: credo.HashBytes([]byte(n.Text.EN)), ZH: credo.HashBytes([]byte(n.Text.ZH))}
	return n
}

// NoticeTemplate is the version of the notice texts new notices are
// rendered with. A notice is stored as its facts, the version of its
// template and the SHA-256 of each text as sent (credo.Notice.Template):
// its texts are rendered again from these and the policy version the
// notice names whenever it is read, and must hash as they did. So a
// template, once used, never changes: a change to the wording of
// noticeEN, noticeZH or anything they call (noticeIn, durationEN, ...) is a
// new version, with the old one kept in noticeTexts.
const NoticeTemplate = 1

// noticeTexts renders a notice's texts with template version v under the
// policy version the notice names.
func noticeTexts(pol *policy.Policy, n *credo.Notice, v int) (credo.NoticeText, bool) {
	switch v {
	case 1:
		return credo.NoticeText{EN: noticeEN(pol, noticeIn(pol, n, "en")), ZH: noticeZH(pol, noticeIn(pol, n, "zh-CN"))}, true
	}
	return credo.NoticeText{}, false
}

// NoticeText returns the texts of a notice: those it carries, or, for a
// notice stored as its facts, the texts rendered again from them and the
// policy version it names, checked against the digests of the texts sent.
func (r *Registry) NoticeText(n *credo.Notice) (credo.NoticeText, error) {
	if n.Template == 0 || n.Text != (credo.NoticeText{}) {
		return n.Text, nil
	}
	var pol *policy.Policy
	for _, v := range r.Engine().Versions() {
		if v.Hash == n.Policy {
			pol = v.Policy
		}
	}
	if pol == nil {
		return credo.NoticeText{}, credo.Errorf(credo.EINTERNAL, "the notice of record %d names policy version %s, which is not in the log", n.RecordID, short(n.Policy))
	}
	t, ok := noticeTexts(pol, n, n.Template)
	if !ok {
		return credo.NoticeText{}, credo.Errorf(credo.EINTERNAL, "the notice of record %d was rendered with template %d, which this program does not have", n.RecordID, n.Template)
	}
	if credo.HashBytes([]byte(t.EN)) != n.TextSHA256.EN || credo.HashBytes([]byte(t.ZH)) != n.TextSHA256.ZH {
		return credo.NoticeText{}, credo.Errorf(credo.EINTERNAL, "the text of the notice of record %d, rendered from its facts, is not the text sent (its SHA-256 differs)", n.RecordID)
	}
	return t, nil
}

// withNoticeTexts returns evs with every notice's texts in it (see
// NoticeText), the notices copied, not altered.
func (r *Registry) withNoticeTexts(evs []credo.Event) ([]credo.Event, error) {
	for i := range evs {
		n := evs[i].Notice
		if n == nil || n.Template == 0 || n.Text != (credo.NoticeText{}) {
			continue
		}
		t, err := r.NoticeText(n)
		if err != nil {
			return nil, err
		}
		c := *n
		c.Text = t
		evs[i].Notice = &c
	}
	return evs, nil
}

// appealTo names the authority that hears appeals against a's decisions,
// in lang, with its id; "" when there is none.
func appealTo(pol *policy.Policy, a *policy.Authority, lang string) string {
	if a == nil || a.AppealTo == "" {
		return ""
	}
	if ap := pol.Authority(a.AppealTo); ap != nil && !ap.Name.IsZero() {
		return ap.Name.For(lang) + " (" + a.AppealTo + ")"
	}
	return a.AppealTo
}

// noticeIn returns a copy of the notice with the policy's texts in lang:
// the notice keeps them in the policy's first language, its plain-language
// texts each speak one language throughout.
func noticeIn(pol *policy.Policy, n *credo.Notice, lang string) *credo.Notice {
	c := *n
	rule := pol.Rule(n.Rule)
	if rule == nil {
		return &c
	}
	c.RuleTitle, c.LegalBasis = rule.Title.For(lang), rule.LegalBasis.For(lang)
	if a := pol.Authority(n.Authority.ID); a != nil {
		c.Authority.Name = a.Name.For(lang)
		if c.AppealTo != "" {
			c.AppealTo = appealTo(pol, a, lang)
		}
	}
	c.Lists = slices.Clone(n.Lists)
	for i := range c.Lists {
		if l := pol.List(c.Lists[i].List); l != nil {
			c.Lists[i].Title, c.Lists[i].LegalBasis = l.Title.For(lang), l.LegalBasis.For(lang)
		}
	}
	c.Points = slices.Clone(n.Points)
	for i := range c.Points {
		if sc := pol.Scheme(c.Points[i].Scheme); sc != nil {
			c.Points[i].Title = sc.Title.For(lang)
		}
	}
	if l := engine.DisputeList(pol, rule); l != nil && !l.Contest.IsZero() {
		c.HowToObject = l.Contest.For(lang)
	}
	return &c
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func noticeDay(pol *policy.Policy, t time.Time) string {
	return t.In(pol.Location()).Format("2006-01-02")
}

// durationEN and durationZH spell a policy duration out.
func durationEN(s string) string {
	d, err := policy.ParseDuration(s)
	if err != nil {
		return s
	}
	unit := map[policy.Unit]string{policy.Days: "day", policy.WorkDays: "working day", policy.Months: "month", policy.Years: "year"}[d.Unit]
	if d.N != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", d.N, unit)
}

func durationZH(s string) string {
	d, err := policy.ParseDuration(s)
	if err != nil {
		return s
	}
	unit := map[policy.Unit]string{policy.Days: "日", policy.WorkDays: "个工作日", policy.Months: "个月", policy.Years: "年"}[d.Unit]
	return fmt.Sprintf("%d%s", d.N, unit)
}

var listKindEN = map[string]string{"black": "blacklist", "red": "redlist", "watch": "watchlist"}
var listKindZH = map[string]string{"black": "黑名单", "red": "红名单", "watch": "重点关注名单"}

func noticeEN(pol *policy.Policy, n *credo.Notice) string {
	var b strings.Builder
	by := n.Authority.Name
	if by == "" {
		by = n.Authority.ID
	}
	what := n.Rule
	if n.RuleTitle != "" {
		what = fmt.Sprintf("%q (%s)", n.RuleTitle, n.Rule)
	}
	fmt.Fprintf(&b, "Notice of record %d (case %s): on %s %s recorded %s about you, under %s.",
		n.RecordID, n.CaseRef, noticeDay(pol, n.DecidedAt), by, what, strings.TrimRight(n.LegalBasis, ". "))
	for _, l := range n.Lists {
		name := l.List
		if l.Title != "" {
			name = l.Title
		}
		public := ""
		if l.Public {
			public = " (public)"
		}
		fmt.Fprintf(&b, " You will be on the %s %q%s from %s", listKindEN[l.Kind], name, public, noticeDay(pol, l.From))
		if l.UntilFulfilled {
			fmt.Fprintf(&b, " until you fulfil the obligation, at the latest until %s.", noticeDay(pol, l.Until))
		} else {
			fmt.Fprintf(&b, " until %s.", noticeDay(pol, l.Until))
		}
	}
	if n.Minor {
		b.WriteString(" You were a minor at the decision date: this record puts you on no list and changes none of your points, now or after you turn 18, and no measure follows from it.")
	}
	for _, p := range n.Points {
		fmt.Fprintf(&b, " Your %s points change by %+d from %s (if you are scored", p.Scheme, p.Points, noticeDay(pol, n.DecidedAt))
		if p.Capped {
			b.WriteString("; less if the rule's cap is reached")
		}
		b.WriteString(").")
	}
	if n.Minor {
		fmt.Fprintf(&b, " The record stays in your file until %s. You may object until then: %s", noticeDay(pol, n.Lasts), n.HowToObject)
	} else {
		fmt.Fprintf(&b, " All effects end by %s. You may object until then: %s", noticeDay(pol, n.Lasts), n.HowToObject)
	}
	if n.ReviewWithin != "" {
		fmt.Fprintf(&b, " The authority must decide within %s", durationEN(n.ReviewWithin))
		if n.AppealTo != "" && n.AppealWithin != "" {
			fmt.Fprintf(&b, "; you may appeal to %s within %s", n.AppealTo, durationEN(n.AppealWithin))
		}
		b.WriteString(".")
	}
	if !n.RepairFrom.IsZero() {
		fmt.Fprintf(&b, " Credit repair: from %s.", noticeDay(pol, n.RepairFrom))
	}
	return b.String()
}

func noticeZH(pol *policy.Policy, n *credo.Notice) string {
	var b strings.Builder
	by := n.Authority.Name
	if by == "" {
		by = n.Authority.ID
	}
	fmt.Fprintf(&b, "记录%d告知书（案号%s）：%s，%s依据%s对您作出记录（规则%s", n.RecordID, n.CaseRef, noticeDay(pol, n.DecidedAt), by, strings.TrimRight(n.LegalBasis, ". "), n.Rule)
	if n.RuleTitle != "" {
		fmt.Fprintf(&b, "「%s」", n.RuleTitle)
	}
	b.WriteString("）。")
	for _, l := range n.Lists {
		name := l.List
		if l.Title != "" {
			name = l.Title
		}
		public := ""
		if l.Public {
			public = "（公开）"
		}
		fmt.Fprintf(&b, "自%s起，您将被列入%s「%s」%s，", noticeDay(pol, l.From), listKindZH[l.Kind], name, public)
		if l.UntilFulfilled {
			fmt.Fprintf(&b, "直至履行义务，最迟至%s。", noticeDay(pol, l.Until))
		} else {
			fmt.Fprintf(&b, "至%s止。", noticeDay(pol, l.Until))
		}
	}
	if n.Minor {
		b.WriteString("决定作出时您未成年：本记录不使您列入任何名单，不改变您的任何分值，成年后亦然，也不引起任何措施。")
	}
	for _, p := range n.Points {
		scheme := p.Scheme
		if p.Title != "" {
			scheme = "「" + p.Title + "」"
		}
		fmt.Fprintf(&b, "自%s起，您的%s分值变动%+d分（仅在您参与该评分时适用", noticeDay(pol, n.DecidedAt), scheme, p.Points)
		if p.Capped {
			b.WriteString("；达到规则上限时减少")
		}
		b.WriteString("）。")
	}
	how := n.HowToObject
	if how == DefaultHowToObject {
		how = "可通过Credo个人门户或接口提出，或书面向作出记录的机关提出，并注明记录编号。"
	}
	if n.Minor {
		fmt.Fprintf(&b, "本记录保留在您的档案中至%s，此前您可随时提出异议：%s", noticeDay(pol, n.Lasts), how)
	} else {
		fmt.Fprintf(&b, "全部效力最迟于%s结束，此前您可随时提出异议：%s", noticeDay(pol, n.Lasts), how)
	}
	if n.ReviewWithin != "" {
		fmt.Fprintf(&b, " 机关应在%s内作出决定", durationZH(n.ReviewWithin))
		if n.AppealTo != "" && n.AppealWithin != "" {
			fmt.Fprintf(&b, "；不服的，可在%s内向%s申请复核", durationZH(n.AppealWithin), n.AppealTo)
		}
		b.WriteString("。")
	}
	if !n.RepairFrom.IsZero() {
		fmt.Fprintf(&b, "自%s起可申请信用修复。", noticeDay(pol, n.RepairFrom))
	}
	return b.String()
}

// NoticesAsFacts returns the hook credo migrate converts a log of encoding
// version 1 with (storecore.Converter.Hook), fed every event in order: a
// notice stored with its texts becomes its facts and the digests of its
// texts (Template NoticeTemplate) when the template renders them again
// byte for byte under the policy version the notice names (published
// earlier in the log); any other notice keeps its texts as they were sent.
func NoticesAsFacts() func(ev *credo.Event) (bool, error) {
	pols := map[string]*policy.Policy{}
	return func(ev *credo.Event) (bool, error) {
		switch {
		case ev.Type == credo.EventPolicyPublished && ev.Policy != nil:
			pol, err := policy.Parse(ev.Policy.Name, ev.Policy.Source)
			if err != nil {
				return false, nil // a version that does not parse renders no notice
			}
			pols[credo.HashBytes(ev.Policy.Source)] = pol
		case ev.Type == credo.EventNoticeIssued && ev.Notice != nil && ev.Notice.Template == 0:
			n := ev.Notice
			pol := pols[n.Policy]
			if pol == nil {
				return false, nil
			}
			if t, ok := noticeTexts(pol, n, NoticeTemplate); !ok || t != n.Text {
				return false, nil
			}
			n.Template = NoticeTemplate
			n.TextSHA256 = credo.NoticeText{EN: credo.HashBytes([]byte(n.Text.EN)), ZH: credo.HashBytes([]byte(n.Text.ZH))}
			return true, nil
		}
		return false, nil
	}
}
