package simulate

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// reportIn returns a copy of the report with the titles in lang.
func reportIn(r *Report, lang string) *Report {
	c := *r
	pick := func(title string, titles map[string]string) string {
		if t := titles[lang]; t != "" {
			return t
		}
		return title
	}
	c.Schemes = slices.Clone(r.Schemes)
	for i := range c.Schemes {
		c.Schemes[i].Title = pick(c.Schemes[i].Title, c.Schemes[i].Titles)
	}
	c.Lists = slices.Clone(r.Lists)
	for i := range c.Lists {
		c.Lists[i].Title = pick(c.Lists[i].Title, c.Lists[i].Titles)
	}
	c.Sectors = slices.Clone(r.Sectors)
	for i := range c.Sectors {
		c.Sectors[i].Title = pick(c.Sectors[i].Title, c.Sectors[i].Titles)
	}
	c.Measures = slices.Clone(r.Measures)
	for i := range c.Measures {
		c.Measures[i].Title = pick(c.Measures[i].Title, c.Measures[i].Titles)
	}
	return &c
}

// WriteHTML writes the report as a self-contained HTML page (inline CSS,
// server-rendered SVG charts, a data table under every chart) that an
// auditor can attach to a consultation. lang is "en" or "zh-CN" ("zh" is
// read as "zh-CN"); the policy's titles are shown in it where the policy
// translates them. The
// most-affected subjects appear only if the report has them: pass
// r.Redact() for anyone but an admin.
func WriteHTML(w io.Writer, r *Report, lang string) error {
	if lang == "zh" {
		lang = "zh-CN"
	}
	tr, ok := translations[lang]
	if !ok {
		lang, tr = "en", translations["en"]
	}
	v := &htmlView{R: reportIn(r, lang), Lang: lang, T: tr}
	for _, d := range r.Disparities {
		if d.Flagged {
			v.Flagged++
			if d.Significant {
				v.Significant++
			}
		}
	}
	for _, s := range v.R.Schemes {
		v.Schemes = append(v.Schemes, schemeView{SchemeShift: s, Chart: template.HTML(tierChart(s, tr)), Rows: tierRows(s)})
	}
	for _, s := range v.R.Sectors {
		if s.DeniedBefore+s.DeniedAfter+s.LimitedBefore+s.LimitedAfter+s.GrantedBefore+s.GrantedAfter > 0 {
			v.Sectors = append(v.Sectors, s)
		}
	}
	for _, e := range r.Effects {
		if e.Count > 0 {
			v.Effects = append(v.Effects, effectView{ID: e.ID, Label: effectLabel(e.ID, tr), Count: e.Count})
		}
	}
	for _, b := range r.Breakdowns {
		bv := breakdownView{Dimension: b.Dimension, Label: tr["dim."+b.Dimension], Effects: v.Effects}
		for _, g := range b.Groups {
			gv := groupView{Group: g}
			for _, e := range v.Effects {
				rate := 0.0
				if g.Size > 0 {
					rate = float64(g.Affected[e.ID]) / float64(g.Size)
				}
				gv.Cells = append(gv.Cells, cellView{N: g.Affected[e.ID], Rate: rate, Shade: shade(rate, maxRate(b, e.ID))})
			}
			bv.Groups = append(bv.Groups, gv)
		}
		if strings.HasSuffix(b.Dimension, ".district") {
			bv.Chart = template.HTML(groupChart(b, tr))
		}
		v.Breakdowns = append(v.Breakdowns, bv)
	}
	v.DisparityChart = template.HTML(disparityChart(r, tr))
	for _, d := range r.Disparities {
		v.Disparities = append(v.Disparities, disparityView{Disparity: d, Label: effectLabel(d.Effect, tr), Dim: tr["dim."+d.Dimension]})
	}
	sort.SliceStable(v.Disparities, func(i, j int) bool { return v.Disparities[i].Ratio < v.Disparities[j].Ratio })
	return pageTemplate.Execute(w, v)
}

type htmlView struct {
	R              *Report
	Lang           string
	T              map[string]string
	Flagged        int
	Significant    int
	Schemes        []schemeView
	Sectors        []SectorShift
	Effects        []effectView
	Breakdowns     []breakdownView
	DisparityChart template.HTML
	Disparities    []disparityView
}

type schemeView struct {
	SchemeShift
	Chart template.HTML
	Rows  []tierRow
}

type tierRow struct {
	Tier          string
	Before, After int
}

type effectView struct {
	ID, Label string
	Count     int
}

type breakdownView struct {
	Dimension, Label string
	Chart            template.HTML
	Effects          []effectView
	Groups           []groupView
}

type groupView struct {
	Group
	Cells []cellView
}

type cellView struct {
	N     int
	Rate  float64
	Shade string
}

type disparityView struct {
	Disparity
	Label, Dim string
}

func tierRows(s SchemeShift) []tierRow {
	var rows []tierRow
	for _, t := range s.Tiers {
		if s.Before[t]+s.After[t] > 0 {
			rows = append(rows, tierRow{Tier: t, Before: s.Before[t], After: s.After[t]})
		}
	}
	return rows
}

func maxRate(b Breakdown, effect string) float64 {
	m := 0.0
	for _, g := range b.Groups {
		if g.Size > 0 {
			m = max(m, float64(g.Affected[effect])/float64(g.Size))
		}
	}
	return m
}

// shade is a cell background: white for no effect, deepening red up to the
// dimension's highest rate. The deepest red (#e86464) keeps the body text
// (#1a202c) at 5:1, above WCAG AA's 4.5:1.
func shade(rate, maxRate float64) string {
	if rate == 0 || maxRate == 0 {
		return "#ffffff"
	}
	f := rate / maxRate
	c := func(from, to int) int { return from + int(float64(to-from)*f) }
	return fmt.Sprintf("#%02x%02x%02x", c(0xfd, 0xe8), c(0xed, 0x64), c(0xec, 0x64))
}

func effectLabel(id string, tr map[string]string) string {
	kind, arg, _ := strings.Cut(id, ":")
	if arg == "" {
		return tr["effect."+kind]
	}
	return tr["effect."+kind] + " " + arg
}

// SVG charts. Every chart is an <svg role="img"> with an aria-label and a
// <title>; a data table with the same numbers follows it on the page.

const (
	chartWidth = 760
	labelWidth = 230
	valueWidth = 150
)

func esc(s string) string { return html.EscapeString(s) }

func svgOpen(b *strings.Builder, id, label string, height int) {
	fmt.Fprintf(b, `<svg id="%s" class="chart" role="img" aria-label="%s" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		esc(id), esc(label), chartWidth, height, chartWidth, height, esc(label))
}

// tierChart draws, for each tier, the subjects before (grey) and after
// (blue) the draft.
func tierChart(s SchemeShift, tr map[string]string) string {
	rows := tierRows(s)
	if len(rows) == 0 {
		return ""
	}
	peak := 1
	for _, r := range rows {
		peak = max(peak, r.Before, r.After)
	}
	const rowH = 34
	h := len(rows)*rowH + 34
	var b strings.Builder
	svgOpen(&b, "tiers-"+s.Scheme, fmt.Sprintf(tr["chart.tiers"], s.Scheme), h)
	span := float64(chartWidth - labelWidth - valueWidth)
	for i, r := range rows {
		y := 8 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="lbl" text-anchor="end">%s</text>`, labelWidth-8, y+19, esc(r.Tier))
		wb := max(1, int(span*float64(r.Before)/float64(peak)))
		wa := max(1, int(span*float64(r.After)/float64(peak)))
		fmt.Fprintf(&b, `<rect class="bar-before" x="%d" y="%d" width="%d" height="12"><title>%s %s: %d</title></rect>`, labelWidth, y+2, wb, esc(r.Tier), esc(tr["before"]), r.Before)
		fmt.Fprintf(&b, `<rect class="bar-after" x="%d" y="%d" width="%d" height="12"><title>%s %s: %d</title></rect>`, labelWidth, y+16, wa, esc(r.Tier), esc(tr["after"]), r.After)
		delta := r.After - r.Before
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="val">%d → %d (%+d)</text>`, labelWidth+int(span)+8, y+19, r.Before, r.After, delta)
	}
	ly := h - 12
	fmt.Fprintf(&b, `<rect class="bar-before" x="%d" y="%d" width="12" height="10"/><text x="%d" y="%d" class="lbl">%s</text>`, labelWidth, ly-9, labelWidth+16, ly, esc(tr["before"]))
	fmt.Fprintf(&b, `<rect class="bar-after" x="%d" y="%d" width="12" height="10"/><text x="%d" y="%d" class="lbl">%s</text>`, labelWidth+110, ly-9, labelWidth+126, ly, esc(tr["after"]))
	b.WriteString(`</svg>`)
	return b.String()
}

// groupChart draws the rate of "any adverse effect" in each group of a
// district breakdown.
func groupChart(bd Breakdown, tr map[string]string) string {
	if len(bd.Groups) == 0 {
		return ""
	}
	peak := 0.0
	for _, g := range bd.Groups {
		if g.Size > 0 {
			peak = max(peak, float64(g.Affected["any"])/float64(g.Size))
		}
	}
	const rowH = 22
	h := len(bd.Groups)*rowH + 16
	var b strings.Builder
	svgOpen(&b, "groups-"+bd.Dimension, fmt.Sprintf(tr["chart.groups"], tr["dim."+bd.Dimension]), h)
	span := float64(chartWidth - labelWidth - valueWidth)
	for i, g := range bd.Groups {
		y := 8 + i*rowH
		rate := 0.0
		if g.Size > 0 {
			rate = float64(g.Affected["any"]) / float64(g.Size)
		}
		wd := 1
		if peak > 0 {
			wd = max(1, int(span*rate/peak))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="lbl" text-anchor="end">%s</text>`, labelWidth-8, y+13, esc(g.Name))
		fmt.Fprintf(&b, `<rect class="bar-rate" x="%d" y="%d" width="%d" height="14"><title>%s: %d / %d</title></rect>`, labelWidth, y+2, wd, esc(g.Name), g.Affected["any"], g.Size)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="val">%s (%d / %d)</text>`, labelWidth+int(span)+8, y+13, pct(rate), g.Affected["any"], g.Size)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// disparityChart draws every disparity ratio on a 0-1 scale with the
// threshold as a dashed line; flagged ratios in red.
func disparityChart(r *Report, tr map[string]string) string {
	ds := append([]Disparity(nil), r.Disparities...)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Ratio < ds[j].Ratio })
	const rowH = 22
	h := len(ds)*rowH + 44
	var b strings.Builder
	svgOpen(&b, "disparities", fmt.Sprintf(tr["chart.disparity"], r.Threshold), h)
	span := float64(chartWidth - labelWidth - valueWidth)
	// Axis.
	axisY := h - 24
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, labelWidth, axisY, labelWidth+int(span), axisY)
	for _, tick := range []float64{0, 0.25, 0.5, 0.75, 1} {
		x := labelWidth + int(span*tick)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="lbl" text-anchor="middle">%.2f</text>`, x, axisY+16, tick)
	}
	for i, d := range ds {
		y := 8 + i*rowH
		cls := "bar-ok"
		switch {
		case d.Flagged && d.Significant:
			cls = "bar-flag"
		case d.Flagged:
			cls = "bar-weak"
		}
		label := tr["dimshort."+d.Dimension] + " · " + effectLabel(d.Effect, tr)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="lbl" text-anchor="end">%s</text>`, labelWidth-8, y+13, esc(clipLabel(label, 34)))
		fmt.Fprintf(&b, `<rect class="%s" x="%d" y="%d" width="%d" height="14"><title>%s: %.2f</title></rect>`, cls, labelWidth, y+2, max(2, int(span*d.Ratio)), esc(label), d.Ratio)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="val">%.2f</text>`, labelWidth+int(span)+8, y+13, d.Ratio)
	}
	tx := labelWidth + int(span*r.Threshold)
	fmt.Fprintf(&b, `<line id="threshold" x1="%d" y1="2" x2="%d" y2="%d" class="threshold"><title>%s</title></line>`, tx, tx, axisY, esc(fmt.Sprintf(tr["threshold.line"], r.Threshold)))
	b.WriteString(`</svg>`)
	return b.String()
}

func clipLabel(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func pct(x float64) string {
	switch {
	case x == 0:
		return "0%"
	case x < 0.001:
		return fmt.Sprintf("%.3f%%", 100*x)
	case x < 0.1:
		return fmt.Sprintf("%.2f%%", 100*x)
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

var pageTemplate = template.Must(template.New("report").Option("missingkey=error").Funcs(template.FuncMap{
	"pct":   pct,
	"ratio": func(x float64) string { return fmt.Sprintf("%.2f", x) },
	"pval": func(p float64) string {
		if p < 0.001 {
			return "< 0.001"
		}
		return fmt.Sprintf("%.3f", p)
	},
	"time":  func(t time.Time) string { return t.Format(time.RFC3339) },
	"short": short,
	"desc":  describe,
	"num":   func(n int) string { return fmt.Sprint(n) },
	"sub":   func(a, b int) int { return a - b },
	"eff":   effectLabel,
}).Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{.T.title}}: {{.R.Draft.Name}} {{.R.Draft.Version}}</title>
<style>
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;color:#1a202c;margin:0;background:#f7fafc}
main{max-width:980px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin-top:2em;border-bottom:2px solid #e2e8f0;padding-bottom:.2em}h3{font-size:1.05em;margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9em}th,td{border:1px solid #e2e8f0;padding:3px 8px;text-align:right}th{background:#edf2f7}td:first-child,th:first-child{text-align:left}
td.t,th.t{text-align:left}caption{text-align:left;font-weight:600;padding:4px 0;color:#4a5568}
.summary{display:flex;flex-wrap:wrap;gap:12px;margin:1em 0}.summary div{background:#edf2f7;border-radius:6px;padding:8px 14px}.summary b{display:block;font-size:1.4em}
.flag{color:#c53030;font-weight:600}.ok{color:#2f855a}.note{color:#4a5568;font-size:.9em}
svg.chart{display:block;max-width:100%;height:auto;margin:.6em 0}
.scroll{overflow-x:auto}.scroll:focus-visible{outline:3px solid #2b6cb0;outline-offset:2px}
.lbl{font-size:12px;fill:#2d3748}.val{font-size:12px;fill:#4a5568}
.bar-before{fill:#a0aec0}.bar-after{fill:#2b6cb0}.bar-rate{fill:#dd6b20}.bar-ok{fill:#38a169}.bar-flag{fill:#c53030}.bar-weak{fill:#ed8936}
.axis{stroke:#718096;stroke-width:1}.threshold{stroke:#1a202c;stroke-width:2;stroke-dasharray:5 4}
code{font-size:.9em}
@media print{body{background:#fff}main{padding:0}}
</style>
</head>
<body>
<main>
<h1>{{.T.title}}</h1>
<p>{{.T.intro}}</p>
<div class="scroll" tabindex="0" role="region" aria-label="{{.T.policies}}"><table>
<caption>{{.T.policies}}</caption>
<tr><th></th><th>{{.T.name}}</th><th>{{.T.version}}</th><th>{{.T.hash}}</th></tr>
<tr><td>{{.T.current}}</td><td>{{.R.Current.Name}}</td><td>{{.R.Current.Version}}</td><td><code>{{short .R.Current.Hash}}</code></td></tr>
<tr><td>{{.T.draft}}</td><td>{{.R.Draft.Name}}</td><td>{{.R.Draft.Version}}</td><td><code>{{short .R.Draft.Hash}}</code></td></tr>
</table></div>
<p>{{.T.at}}: <time datetime="{{time .R.At}}">{{time .R.At}}</time>. {{.T.population}}: {{.R.Population.Note}}</p>
<div class="summary" role="list">
<div role="listitem"><b id="n-subjects">{{.R.Population.Subjects}}</b>{{.T.subjects}}</div>
<div role="listitem"><b id="n-changed">{{.R.Changed}}</b>{{.T.changed}}</div>
<div role="listitem"><b id="n-flagged" class="{{if .Flagged}}flag{{else}}ok{{end}}">{{.Flagged}} / {{len .R.Disparities}}</b>{{.T.flagged}}</div>
<div role="listitem"><b id="n-significant" class="{{if .Significant}}flag{{else}}ok{{end}}">{{.Significant}}</b>{{.T.significantn}}</div>
</div>

<h2 id="tiers">{{.T.h_tiers}}</h2>
{{range .Schemes}}
<h3>{{.Scheme}}{{if .Title}} — {{.Title}}{{end}}</h3>
<p>{{$.T.stayed}}: {{.Stayed}}, {{$.T.down}}: <span class="{{if .Down}}flag{{end}}">{{.Down}}</span>, {{$.T.up}}: {{.Up}}</p>
{{.Chart}}
<div class="scroll" tabindex="0" role="region" aria-label="{{$.T.tiertable}} {{.Scheme}}"><table>
<caption>{{$.T.tiertable}} {{.Scheme}}</caption>
<tr><th>{{$.T.tier}}</th><th>{{$.T.before}}</th><th>{{$.T.after}}</th><th>Δ</th></tr>
{{range .Rows}}<tr><td>{{.Tier}}</td><td>{{.Before}}</td><td>{{.After}}</td><td>{{sub .After .Before}}</td></tr>
{{end}}</table></div>
{{if .Transitions}}<div class="scroll" tabindex="0" role="region" aria-label="{{$.T.transitions}}"><table>
<caption>{{$.T.transitions}}</caption>
<tr><th>{{$.T.from}}</th><th>{{$.T.to}}</th><th>{{$.T.subjects}}</th></tr>
{{range .Transitions}}<tr><td>{{.From}}</td><td>{{.To}}</td><td>{{.Count}}</td></tr>
{{end}}</table></div>{{end}}
{{end}}

<h2 id="lists">{{.T.h_lists}}</h2>
<div class="scroll" tabindex="0" role="region" aria-label="{{.T.h_lists}}"><table>
<caption>{{.T.h_lists}}</caption>
<tr><th>{{.T.list}}</th><th>{{.T.kind}}</th><th>{{.T.before}}</th><th>{{.T.after}}</th><th>{{.T.entries}}</th><th>{{.T.exits}}</th></tr>
{{range .R.Lists}}<tr><td>{{.List}}{{if .Status}} ({{.Status}}){{end}}</td><td>{{.Kind}}</td><td>{{.Before}}</td><td>{{.After}}</td><td>{{.Entries}}</td><td>{{.Exits}}</td></tr>
{{end}}</table></div>

<h2 id="sectors">{{.T.h_sectors}}</h2>
<p class="note">{{.T.sectorsnote}}</p>
<div class="scroll" tabindex="0" role="region" aria-label="{{.T.h_sectors}}"><table>
<caption>{{.T.h_sectors}}</caption>
<tr><th>{{.T.sector}}</th><th>{{.T.deniedbefore}}</th><th>{{.T.deniedafter}}</th><th>{{.T.newlydenied}}</th><th>{{.T.lifted}}</th><th>{{.T.newlylimited}}</th><th>{{.T.limitslifted}}</th><th>{{.T.grantslost}}</th><th>{{.T.newlygranted}}</th></tr>
{{range .Sectors}}<tr><td>{{.Sector}}{{if .Title}}<br><small>{{.Title}}</small>{{end}}</td><td>{{.DeniedBefore}}</td><td>{{.DeniedAfter}}</td><td class="{{if .NewlyDenied}}flag{{end}}">{{.NewlyDenied}}</td><td>{{.DenialsLifted}}</td><td class="{{if .NewlyLimited}}flag{{end}}">{{.NewlyLimited}}</td><td>{{.LimitsLifted}}</td><td>{{.GrantsLost}}</td><td>{{.NewlyGranted}}</td></tr>
{{else}}<tr><td colspan="9">{{.T.none}}</td></tr>
{{end}}</table></div>

<h2 id="measures">{{.T.h_measures}}</h2>
<div class="scroll" tabindex="0" role="region" aria-label="{{.T.h_measures}}"><table>
<caption>{{.T.h_measures}}</caption>
<tr><th>{{.T.measure}}</th><th>{{.T.sector}}</th><th>{{.T.effectkind}}</th><th>{{.T.before}}</th><th>{{.T.after}}</th><th>{{.T.applied}}</th><th>{{.T.liftedm}}</th></tr>
{{range .R.Measures}}<tr><td>{{.Measure}}{{if .Status}} ({{.Status}}){{end}}{{if .Title}}<br><small>{{.Title}}</small>{{end}}</td><td class="t">{{.Sector}}</td><td class="t">{{.Effect}}</td><td>{{.Before}}</td><td>{{.After}}</td><td class="{{if .Applied}}flag{{end}}">{{.Applied}}</td><td>{{.Lifted}}</td></tr>
{{end}}</table></div>

<h2 id="effects">{{.T.h_effects}}</h2>
<div class="scroll" tabindex="0" role="region" aria-label="{{.T.h_effects}}"><table>
<caption>{{.T.h_effects}}</caption>
<tr><th>{{.T.effect}}</th><th>{{.T.subjects}}</th></tr>
{{range .Effects}}<tr><td class="t">{{.Label}}</td><td>{{.Count}}</td></tr>
{{else}}<tr><td colspan="2">{{.T.none}}</td></tr>
{{end}}</table></div>

<h2 id="groups">{{.T.h_groups}}</h2>
<p class="note">{{.T.groupsnote}}</p>
{{range .Breakdowns}}
<h3>{{.Label}}</h3>
{{.Chart}}
<div class="scroll" tabindex="0" role="region" aria-label="{{.Label}}: {{$.T.heatcaption}}"><table class="heat">
<caption>{{.Label}}: {{$.T.heatcaption}}</caption>
<tr><th>{{$.T.group}}</th><th>{{$.T.members}}</th>{{range .Effects}}<th>{{.Label}}</th>{{end}}</tr>
{{range .Groups}}<tr><td>{{.Name}}{{if .Excluded}} <small>({{.Excluded}})</small>{{end}}</td><td>{{.Size}}</td>{{range .Cells}}<td style="background:{{.Shade}}">{{.N}}{{if .N}} <small>({{pct .Rate}})</small>{{end}}</td>{{end}}</tr>
{{end}}</table></div>
{{end}}

<h2 id="disparities">{{.T.h_disparities}}</h2>
<p>{{.T.disparitynote}} <b>{{ratio .R.Threshold}}</b>; {{.T.mingroup}}: <b>{{.R.MinGroup}}</b>.</p>
{{if .Disparities}}{{.DisparityChart}}{{end}}
<div class="scroll" tabindex="0" role="region" aria-label="{{.T.h_disparities}}"><table>
<caption>{{.T.h_disparities}}</caption>
<tr><th>{{.T.dimension}}</th><th class="t">{{.T.effect}}</th><th>{{.T.groups}}</th><th>{{.T.affectedn}}</th><th>{{.T.lowest}}</th><th>{{.T.highest}}</th><th>{{.T.ratio}}</th><th>{{.T.pvalue}}</th></tr>
{{range .Disparities}}<tr><td>{{.Dim}}</td><td class="t">{{.Label}}</td><td>{{.Groups}}</td><td>{{.Affected}}</td><td>{{.MinGroup}} {{pct .MinRate}}</td><td>{{.MaxGroup}} {{pct .MaxRate}}</td><td class="{{if .Flagged}}flag{{else}}ok{{end}}">{{ratio .Ratio}}{{if .Flagged}} ⚑ {{$.T.flaggedone}}{{end}}</td><td class="{{if .Significant}}flag{{end}}">{{pval .PValue}}{{if .Significant}} {{$.T.significant}}{{end}}</td></tr>
{{else}}<tr><td colspan="8">{{.T.nodisparity}}</td></tr>
{{end}}</table></div>

{{if .R.MostAffected}}
<h2 id="affected">{{.T.h_affected}}</h2>
<p class="note">{{.T.affectednote}}</p>
<div class="scroll" tabindex="0" role="region" aria-label="{{.T.h_affected}}"><table>
<caption>{{.T.h_affected}}</caption>
<tr><th>{{.T.subject}}</th><th>{{.T.adverse}}</th><th>{{.T.changes}}</th></tr>
{{range .R.MostAffected}}<tr><td><code>{{.Subject}}</code></td><td>{{.Adverse}}</td><td style="text-align:left">{{desc .}}</td></tr>
{{end}}</table></div>
{{end}}

<h2 id="method">{{.T.h_method}}</h2>
<p class="note">{{.R.Definition}}</p>
<p class="note">{{.T.method}}</p>
</main>
</body>
</html>
`))

var translations = map[string]map[string]string{
	"en": {
		"title":                    "Policy impact simulation",
		"intro":                    "What the draft policy would change, and for whom, if it were in force at the instant below: every subject evaluated under the policy in force and under the draft, by the registry's own engine.",
		"policies":                 "Policies compared",
		"name":                     "name",
		"version":                  "version",
		"hash":                     "content hash",
		"current":                  "in force",
		"draft":                    "draft",
		"at":                       "Instant",
		"population":               "Population",
		"subjects":                 "subjects",
		"changed":                  "subjects whose tier, listings or decisions change",
		"flagged":                  "disparities flagged",
		"h_tiers":                  "Tier shifts",
		"stayed":                   "stayed",
		"down":                     "down",
		"up":                       "up",
		"tier":                     "tier",
		"tiertable":                "Subjects per tier,",
		"transitions":              "Tier transitions",
		"from":                     "from",
		"to":                       "to",
		"before":                   "before",
		"after":                    "after",
		"h_lists":                  "List entries and exits",
		"list":                     "list",
		"kind":                     "kind",
		"entries":                  "entries",
		"exits":                    "exits",
		"h_sectors":                "Decisions per sector",
		"sectorsnote":              "How many subjects a service in each sector would refuse (deny), restrict (limit) or reward (grant), before and after. Sectors where nobody is affected either way are left out.",
		"sector":                   "sector",
		"deniedbefore":             "denied before",
		"deniedafter":              "denied after",
		"newlydenied":              "newly denied",
		"lifted":                   "denials lifted",
		"newlylimited":             "newly limited",
		"limitslifted":             "limits lifted",
		"grantslost":               "rewards lost",
		"newlygranted":             "newly rewarded",
		"none":                     "none",
		"h_effects":                "Adverse effects",
		"effect":                   "effect",
		"h_groups":                 "Breakdowns",
		"groupsnote":               "Groups derived from the identifiers: region code (Beijing districts by name, other provinces by name), age at the instant and sex from the identity card number; an organisation's registration type from characters 1-2 of its Unified Social Credit Code. Cells: subjects affected (rate), shaded by rate.",
		"heatcaption":              "subjects affected per group (rate)",
		"group":                    "group",
		"members":                  "members",
		"h_disparities":            "Disparities",
		"disparitynote":            "For each adverse effect and dimension: the lowest rate divided by the highest rate across groups. With few subjects affected a ratio is mostly chance: read it with the count and the p-value beside it (Fisher exact test of the highest-rate group against the lowest, Bonferroni-adjusted). Flagged below the threshold",
		"mingroup":                 "groups smaller than this take no part",
		"dimension":                "dimension",
		"groups":                   "groups",
		"lowest":                   "lowest rate",
		"h_measures":               "Measures",
		"measure":                  "measure",
		"effectkind":               "effect",
		"applied":                  "newly applied",
		"liftedm":                  "lifted",
		"affectedn":                "subjects affected",
		"pvalue":                   "p (Fisher, adjusted)",
		"significant":              "significant",
		"significantn":             "flagged and statistically significant (p < 0.05)",
		"highest":                  "highest rate",
		"ratio":                    "ratio",
		"flaggedone":               "flagged",
		"nodisparity":              "No adverse effect reaches any group with enough members.",
		"h_affected":               "Most affected subjects (administrators only)",
		"affectednote":             "Identifiers of the subjects with the most adverse effects. Not for publication.",
		"subject":                  "subject",
		"adverse":                  "adverse effects",
		"changes":                  "changes",
		"h_method":                 "Method",
		"method":                   "Both versions are evaluated with the same engine function that answers live checks; publishing the draft at this instant would give exactly these answers. Scores and tiers are shown only in aggregate.",
		"chart.tiers":              "Subjects per tier of scheme %s, before and after the draft",
		"chart.groups":             "Share of subjects with an adverse effect: %s",
		"chart.disparity":          "Disparity ratios of adverse effects between groups; dashed line: threshold %.2f; red: flagged and significant, orange: flagged, not significant",
		"threshold.line":           "threshold %.2f",
		"effect.any":               "any adverse effect",
		"effect.deny":              "newly denied:",
		"effect.limit":             "newly limited:",
		"effect.grant-lost":        "reward lost:",
		"effect.list":              "newly listed:",
		"effect.delisted":          "off the redlist:",
		"effect.tier-down":         "tier down:",
		"dim.person.district":      "Persons by district or province",
		"dim.person.age":           "Persons by age band",
		"dim.person.sex":           "Persons by sex",
		"dim.org.district":         "Organisations by district or province",
		"dim.org.type":             "Organisations by registration type",
		"dimshort.person.district": "district",
		"dimshort.person.age":      "age",
		"dimshort.person.sex":      "sex",
		"dimshort.org.district":    "org district",
		"dimshort.org.type":        "org type",
	},
	"zh-CN": {
		"title":                    "政策影响模拟",
		"intro":                    "假如草案在下述时刻生效，它会改变什么、影响谁：每个主体都由登记系统自身的引擎分别按现行政策和草案评估。",
		"policies":                 "比较的政策",
		"name":                     "名称",
		"version":                  "版本",
		"hash":                     "内容哈希",
		"current":                  "现行",
		"draft":                    "草案",
		"at":                       "时刻",
		"population":               "覆盖范围",
		"subjects":                 "个主体",
		"changed":                  "个主体的等级、名单或决定发生变化",
		"flagged":                  "项差异被标记",
		"h_tiers":                  "等级变动",
		"stayed":                   "不变",
		"down":                     "下降",
		"up":                       "上升",
		"tier":                     "等级",
		"tiertable":                "各等级主体数：",
		"transitions":              "等级迁移",
		"from":                     "从",
		"to":                       "到",
		"before":                   "之前",
		"after":                    "之后",
		"h_lists":                  "名单的列入与移出",
		"list":                     "名单",
		"kind":                     "类型",
		"entries":                  "列入",
		"exits":                    "移出",
		"h_sectors":                "各领域的决定",
		"sectorsnote":              "各领域的服务在草案前后会拒绝（deny）、限制（limit）或奖励（grant）多少主体。前后均无人受影响的领域未列出。",
		"sector":                   "领域",
		"deniedbefore":             "之前拒绝",
		"deniedafter":              "之后拒绝",
		"newlydenied":              "新增拒绝",
		"lifted":                   "解除拒绝",
		"newlylimited":             "新增限制",
		"limitslifted":             "解除限制",
		"grantslost":               "失去奖励",
		"newlygranted":             "新增奖励",
		"none":                     "无",
		"h_effects":                "不利影响",
		"effect":                   "影响",
		"h_groups":                 "分组统计",
		"groupsnote":               "分组均由证件号码推得：行政区划代码（北京按区名，其他按省名）、时刻年龄及性别取自居民身份证号码；组织的登记类型取自统一社会信用代码第1-2位。单元格：受影响主体数（比例），颜色按比例加深。",
		"heatcaption":              "各组受影响主体数（比例）",
		"group":                    "组",
		"members":                  "人数",
		"h_disparities":            "差异",
		"disparitynote":            "对每种不利影响和每个维度：各组中最低比例除以最高比例。受影响主体很少时，比值多为偶然，请结合旁边的人数和p值（最高组对最低组的Fisher精确检验，Bonferroni校正）解读。低于阈值即标记，阈值",
		"mingroup":                 "成员少于此数的组不参与计算",
		"dimension":                "维度",
		"groups":                   "组数",
		"lowest":                   "最低比例",
		"h_measures":               "措施",
		"measure":                  "措施",
		"effectkind":               "效果",
		"applied":                  "新增适用",
		"liftedm":                  "解除",
		"affectedn":                "受影响主体",
		"pvalue":                   "p值（Fisher，校正后）",
		"significant":              "显著",
		"significantn":             "项被标记且统计显著（p < 0.05）",
		"highest":                  "最高比例",
		"ratio":                    "比值",
		"flaggedone":               "已标记",
		"nodisparity":              "没有任何不利影响涉及成员足够的组。",
		"h_affected":               "受影响最大的主体（仅限管理员）",
		"affectednote":             "不利影响最多的主体的证件号码。不得公开。",
		"subject":                  "主体",
		"adverse":                  "不利影响",
		"changes":                  "变化",
		"h_method":                 "方法",
		"method":                   "两个版本均由回答实时查询的同一引擎函数评估；若在此时刻发布草案，结果与此完全一致。分数与等级只以汇总形式显示。",
		"chart.tiers":              "评分体系 %s 各等级主体数（草案前后）",
		"chart.groups":             "受不利影响主体的比例：%s",
		"chart.disparity":          "各组之间不利影响的差异比值；虚线为阈值 %.2f；红色：被标记且显著，橙色：被标记但不显著",
		"threshold.line":           "阈值 %.2f",
		"effect.any":               "任何不利影响",
		"effect.deny":              "新增拒绝：",
		"effect.limit":             "新增限制：",
		"effect.grant-lost":        "失去奖励：",
		"effect.list":              "新列入：",
		"effect.delisted":          "移出红名单：",
		"effect.tier-down":         "等级下降：",
		"dim.person.district":      "个人：按区或省",
		"dim.person.age":           "个人：按年龄段",
		"dim.person.sex":           "个人：按性别",
		"dim.org.district":         "组织：按区或省",
		"dim.org.type":             "组织：按登记类型",
		"dimshort.person.district": "区",
		"dimshort.person.age":      "年龄",
		"dimshort.person.sex":      "性别",
		"dimshort.org.district":    "组织所在区",
		"dimshort.org.type":        "组织类型",
	},
}
