package main

import (
	"fmt"
	"io"
	"strings"

	"credo/engine"
	chttp "credo/http"
	"credo/policy"
)

// texts renders the policy's texts of a subject's file in one language
// (show --lang): the titles of schemes, lists, measures and rules, tier
// meanings, authority names, legal bases and how to contest, via
// policy.Text.For. A nil *texts prints the file as without --lang.
type texts struct {
	pol  *policy.Policy
	lang string
}

// showHeadZH are the column headings and section names of show in Chinese.
var showHeadZH = map[string]string{
	"SCHEME": "评分", "SCORE": "分值", "TIER": "等级", "NOTE": "说明", "TITLE": "名称",
	"LISTING": "名单", "KIND": "类别", "SINCE": "起", "UNTIL": "至", "RECORDS": "记录",
	"MEASURE": "措施", "LEGAL BASIS": "法律依据", "SECTOR": "领域", "EFFECT": "效果", "LISTS": "名单",
	"RECORD": "记录", "RULE": "规则", "AUTHORITY": "机关", "CASE": "案号", "DECIDED": "决定日期", "STATUS": "状态",
	"LEGAL BASES": "法律依据", "HOW TO CONTEST": "如何提出异议", "NOTICES": "告知书",
}

// head returns a tab-separated heading line in the language.
func (x *texts) head(cols ...string) string {
	if x != nil && x.lang == "zh-CN" {
		for i, c := range cols {
			if t := showHeadZH[c]; t != "" {
				cols[i] = t
			}
		}
	}
	return strings.Join(cols, "\t")
}

func (x *texts) scheme(id, tier string) string {
	s := x.pol.Scheme(id)
	if s == nil {
		return ""
	}
	out := s.Title.For(x.lang)
	for _, t := range s.Tiers {
		if t.Name == tier && !t.Meaning.IsZero() {
			out += " — " + t.Meaning.For(x.lang)
		}
	}
	return out
}

func (x *texts) list(id string) string {
	if l := x.pol.List(id); l != nil {
		return l.Title.For(x.lang)
	}
	return ""
}

func (x *texts) measure(id string) string {
	if m := x.pol.Measure(id); m != nil {
		return m.Title.For(x.lang)
	}
	return ""
}

// legalBasis is the measure's legal basis in the language, or basis (the
// state's, in the policy's first language) when the policy has none.
func (x *texts) legalBasis(id, basis string) string {
	if m := x.pol.Measure(id); m != nil && !m.LegalBasis.IsZero() {
		return m.LegalBasis.For(x.lang)
	}
	return basis
}

func (x *texts) record(rule, authority string) string {
	var parts []string
	if r := x.pol.Rule(rule); r != nil && !r.Title.IsZero() {
		parts = append(parts, r.Title.For(x.lang))
	}
	if a := x.pol.Authority(authority); a != nil && !a.Name.IsZero() {
		parts = append(parts, a.Name.For(x.lang))
	}
	return strings.Join(parts, " · ")
}

// printMeasureBases prints each measure's legal basis.
func (x *texts) printMeasureBases(w io.Writer, ms []engine.MeasureState) {
	if x == nil || len(ms) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", x.head("LEGAL BASES"))
	for _, m := range ms {
		fmt.Fprintf(w, "%s (%s)\n  %s\n", x.measure(m.Measure), m.Measure, x.legalBasis(m.Measure, m.LegalBasis))
	}
}

// printListTexts prints each listing's legal basis and how to contest it.
func (x *texts) printListTexts(w io.Writer, lists []string) {
	if x == nil || len(lists) == 0 {
		return
	}
	label := map[bool][2]string{false: {"legal basis", "contest"}, true: {"法律依据", "如何提出异议"}}[x.lang == "zh-CN"]
	fmt.Fprintf(w, "\n%s\n", x.head("HOW TO CONTEST"))
	for _, id := range lists {
		l := x.pol.List(id)
		if l == nil {
			continue
		}
		fmt.Fprintf(w, "%s (%s)\n", l.Title.For(x.lang), id)
		if !l.LegalBasis.IsZero() {
			fmt.Fprintf(w, "  %s: %s\n", label[0], l.LegalBasis.For(x.lang))
		}
		if !l.Contest.IsZero() {
			fmt.Fprintf(w, "  %s: %s\n", label[1], l.Contest.For(x.lang))
		}
	}
}

// noticeText is a notice's text in the language (both without --lang).
func (x *texts) noticeText(n chttp.IssuedNotice) string {
	switch {
	case x == nil:
		return n.Notice.Text.EN + "\n  " + n.Notice.Text.ZH
	case x.lang == "zh-CN":
		return n.Notice.Text.ZH
	default:
		return n.Notice.Text.EN
	}
}
