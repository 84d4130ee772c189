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

// Parties: persons whom a record about an organisation reaches through a
// link. A measure the policy extends to a role (extends_to) reaches the
// person who holds it, so that person is a party to the record, not a
// bystander: they get a notice of their own (PartyNotices), see it in
// their file, and may object to the record (IsParty).
//
// A person is a party to a record about an organisation when they held a
// role for it, as adults, at some time while the record has effects, and
// a measure that extends to that role refers to a list the record's rule
// puts the organisation on. The notices are computed from the log and
// the policy in force whenever the file is read (they are not separate
// events: the store keeps one notice.issued per record, the
// organisation's).

// PartyNotices returns the notices of the records that reach a person
// through the organisations they are (or were) linked to, oldest record
// first.
func (r *Registry) PartyNotices(ctx context.Context, person string) ([]credo.Notice, error) {
	id, err := r.ParseSubject(person)
	if err != nil {
		return nil, err
	}
	if id.Kind != credo.Person {
		return []credo.Notice{}, nil
	}
	pol, hash, err := r.Policy(ctx)
	if err != nil {
		return nil, err
	}
	f, err := r.Facts(ctx, id.Canonical)
	if err != nil {
		return nil, err
	}
	adult := engine.AdultFrom(id, pol.Location())
	out := []credo.Notice{}
	for _, org := range f.Orgs {
		links := personLinks(org.Events, org.ID.Canonical, id.Canonical)
		if len(links) == 0 {
			continue
		}
		for _, ev := range org.Events {
			if ev.Type != credo.EventRecordFiled || ev.Record == nil {
				continue
			}
			rec := *ev.Record
			if rec.DecidedAt.Before(adult) {
				continue // the person does not answer for what was decided before they came of age
			}
			base := r.notice(pol, hash, &rec)
			if base == nil || base.Minor {
				continue
			}
			for _, ln := range links {
				if !overlaps(ln.From, ln.Until, base.EffectiveFrom, base.Lasts) {
					continue
				}
				ms := partyMeasures(pol, pol.Rule(rec.Rule), ln.Role)
				if len(ms) == 0 {
					continue
				}
				out = append(out, partyNotice(pol, base, id.Canonical, ln.Role, ms))
			}
		}
	}
	slices.SortStableFunc(out, func(a, b credo.Notice) int { return int(a.RecordID - b.RecordID) })
	return out, nil
}

// IsParty reports whether a record about an organisation reaches the
// person through a link (see PartyNotices): the person may then object to
// it.
func (r *Registry) IsParty(ctx context.Context, recordID int64, person string) (bool, error) {
	ns, err := r.PartyNotices(ctx, person)
	if err != nil {
		return false, err
	}
	for _, n := range ns {
		if n.RecordID == recordID {
			return true, nil
		}
	}
	return false, nil
}

// personLinks folds an organisation's link events into the person's links.
func personLinks(evs []credo.Event, org, person string) []credo.Link {
	var ls []credo.Link
	for _, ev := range evs {
		if ev.Link == nil || ev.Link.Org != org || ev.Link.Person != person {
			continue
		}
		switch ev.Type {
		case credo.EventLinkAdded:
			ls = append(ls, *ev.Link)
		case credo.EventLinkRemoved:
			for i := range ls {
				if ls[i].Role == ev.Link.Role && ls[i].Until.IsZero() {
					ls[i].Until = ev.Link.Until
					if ls[i].Until.IsZero() {
						ls[i].Until = ev.Recorded
					}
				}
			}
		}
	}
	return ls
}

// overlaps reports whether [a0, a1) and [b0, b1) overlap (a zero end: open).
func overlaps(a0, a1, b0, b1 time.Time) bool {
	return (a1.IsZero() || a1.After(b0)) && (b1.IsZero() || b1.After(a0))
}

// partyMeasures returns the measures that extend to a role and refer to a
// list the rule puts the organisation on.
func partyMeasures(pol *policy.Policy, rule *policy.Rule, role string) []credo.NoticeMeasure {
	if rule == nil {
		return nil
	}
	lists := rule.ListIDs()
	var out []credo.NoticeMeasure
	for _, m := range pol.Measures {
		if !slices.Contains(m.ExtendsTo, role) || !m.AppliesTo("person") {
			continue
		}
		hit := false
		for _, l := range m.Lists() {
			hit = hit || slices.Contains(lists, l)
		}
		if hit {
			out = append(out, credo.NoticeMeasure{Measure: m.ID, Title: m.Title.String(), Sector: m.Sector, Effect: m.Effect,
				LegalBasis: m.LegalBasis.String(), ExemptPrivate: m.ExemptPrivate})
		}
	}
	return out
}

var roleEN = map[string]string{
	credo.RoleLegalRepresentative: "legal representative", credo.RolePrincipal: "principal",
	credo.RoleActualController: "actual controller", credo.RoleDirectlyResponsible: "directly responsible person",
}
var roleZH = map[string]string{
	credo.RoleLegalRepresentative: "法定代表人", credo.RolePrincipal: "主要负责人",
	credo.RoleActualController: "实际控制人", credo.RoleDirectlyResponsible: "直接责任人员",
}

// partyNotice turns an organisation's notice into the notice of a person
// it reaches in a role.
func partyNotice(pol *policy.Policy, base *credo.Notice, person, role string, ms []credo.NoticeMeasure) credo.Notice {
	n := *base
	n.Party = &credo.NoticeParty{Org: base.Subject, OrgName: base.SubjectName, Role: role, Measures: ms}
	n.Subject, n.SubjectName = person, ""
	n.Points = nil
	org := base.Subject
	if base.SubjectName != "" {
		org = fmt.Sprintf("%s (%s)", base.SubjectName, base.Subject)
	}
	by := n.Authority.Name
	if by == "" {
		by = n.Authority.ID
	}
	what := n.Rule
	if n.RuleTitle != "" {
		what = fmt.Sprintf("%q (%s)", n.RuleTitle, n.Rule)
	}
	var en, zh strings.Builder
	fmt.Fprintf(&en, "Notice to a party of record %d (case %s): on %s %s recorded %s about %s, under %s. It reaches you as the organisation's %s.",
		n.RecordID, n.CaseRef, noticeDay(pol, n.DecidedAt), by, what, org, strings.TrimRight(n.LegalBasis, ". "), roleEN[role])
	zn := noticeIn(pol, &n, "zh-CN") // the policy's texts in Chinese
	zhBy := zn.Authority.Name
	if zhBy == "" {
		zhBy = n.Authority.ID
	}
	fmt.Fprintf(&zh, "记录%d当事人告知书（案号%s）：%s，%s依据%s对%s作出记录（规则%s）。您系该单位的%s，该记录对您产生效力。",
		n.RecordID, n.CaseRef, noticeDay(pol, n.DecidedAt), zhBy, strings.TrimRight(zn.LegalBasis, "。. "), org, n.Rule, roleZH[role])
	for i, l := range n.Lists {
		name, zhName := l.List, l.List
		if l.Title != "" {
			name = l.Title
		}
		if t := zn.Lists[i].Title; t != "" {
			zhName = t
		}
		fmt.Fprintf(&en, " The organisation is on the %s %q from %s until %s", listKindEN[l.Kind], name, noticeDay(pol, l.From), noticeDay(pol, l.Until))
		fmt.Fprintf(&zh, "该单位自%s起列入%s「%s」，至%s止", noticeDay(pol, l.From), listKindZH[l.Kind], zhName, noticeDay(pol, l.Until))
		if l.UntilFulfilled {
			en.WriteString(" at the latest (earlier once the obligation is fulfilled)")
			zh.WriteString("（履行义务后提前结束）")
		}
		en.WriteString(".")
		zh.WriteString("。")
	}
	en.WriteString(" Measures that reach you while the organisation is listed and you hold the role:")
	zh.WriteString("单位在名单期间、您担任该职务期间，以下措施适用于您：")
	for i, m := range ms {
		name := m.Measure
		if m.Title != "" {
			name = fmt.Sprintf("%q (%s)", m.Title, m.Measure)
		}
		sep := ","
		if i == len(ms)-1 {
			sep = "."
		}
		fmt.Fprintf(&en, " %s, %s in %s, under %s", name, m.Effect, m.Sector, strings.TrimRight(m.LegalBasis, ". "))
		zhName, zhBasis := m.Measure, m.LegalBasis
		if pm := pol.Measure(m.Measure); pm != nil {
			if t := pm.Title.For("zh-CN"); t != "" {
				zhName = fmt.Sprintf("「%s」（%s）", t, m.Measure)
			}
			zhBasis = pm.LegalBasis.For("zh-CN")
		}
		fmt.Fprintf(&zh, "%s（%s，%s，依据%s", zhName, m.Sector, m.Effect, strings.TrimRight(zhBasis, "。. "))
		if m.ExemptPrivate {
			en.WriteString(" (spending your own money for private purposes is not restricted: SPC provisions on restricting high consumption, 2015, art. 3 para. 3)")
			zh.WriteString("；以个人财产用于个人目的的消费不受限制，见最高人民法院关于限制被执行人高消费的若干规定第三条第三款")
		}
		en.WriteString(sep)
		zh.WriteString("）")
	}
	zh.WriteString("。")
	fmt.Fprintf(&en, " These measures end with the listing or when you leave the role, by %s at the latest. As a party you may object to the record yourself until then: %s",
		noticeDay(pol, n.Lasts), n.HowToObject)
	fmt.Fprintf(&zh, "上述措施随单位移出名单或您不再担任该职务而结束，最迟于%s结束。作为当事人，您可在此前对该记录提出异议。", noticeDay(pol, n.Lasts))
	if n.ReviewWithin != "" {
		fmt.Fprintf(&en, " The authority must decide within %s.", durationEN(n.ReviewWithin))
		fmt.Fprintf(&zh, "机关应在%s内作出决定。", durationZH(n.ReviewWithin))
	}
	n.Text = credo.NoticeText{EN: en.String(), ZH: zh.String()}
	return n
}
