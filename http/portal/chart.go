package portal

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
)

// Charts are SVG rendered on the server: no script, readable by screen
// readers (role="img", a <title> and an aria-label), with the data also
// given as a table under each chart by the templates.

// palette: colours with at least 4.5:1 contrast on white.
var palette = []string{"#0b57d0", "#b3261e", "#146c2e", "#8a4b00", "#6a3d9a", "#00695c", "#ad1457", "#37474f"}

// series is one named line or set of bars.
type series struct {
	Name   string
	Values []float64
}

const (
	chartW   = 720
	chartH   = 280
	padLeft  = 56 // at least: axisPad widens it for long tick labels
	padRight = 16
	padTop   = 16
	padBot   = 48
)

var chartSeq atomic.Int64

// svgOpen writes the chart's opening tag, title and description.
func svgOpen(b *strings.Builder, title, desc string, h int) {
	id := "chart" + strconv.FormatInt(chartSeq.Add(1), 10)
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" aria-describedby="%s-desc" xmlns="http://www.w3.org/2000/svg">`,
		chartW, h, html.EscapeString(title), id)
	fmt.Fprintf(b, `<title>%s</title><desc id="%s-desc">%s</desc>`, html.EscapeString(title), id, html.EscapeString(desc))
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// niceStep returns a step of 1, 2 or 5 times a power of ten (at least 1)
// that covers span in at most four steps.
func niceStep(span float64) float64 {
	raw := span / 4
	if raw <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// axisRange rounds [lo, hi] out to whole steps; it returns the new bounds
// and the step.
func axisRange(lo, hi float64) (float64, float64, float64) {
	if hi <= lo {
		hi = lo + 1
	}
	st := niceStep(hi - lo)
	lo = math.Floor(lo/st) * st
	hi = math.Ceil(hi/st) * st
	if hi == lo {
		hi = lo + st
	}
	return lo, hi, st
}

// tickCharW is the width, in viewBox units, the charts allow a character
// of a 14 px tick label: generous, so that wider fonts (a CJK system font's
// digits) do not clip.
const tickCharW = 9

// axisPad is the left padding the y axis needs for its widest tick label
// (at least padLeft): "200000" must not be clipped at the chart's edge.
func axisPad(lo, hi, step float64) int {
	w := 0
	for v := lo; v <= hi+step/2; v += step {
		w = max(w, len(fmtNum(v)))
	}
	return max(padLeft, w*tickCharW+14)
}

// yAxis draws horizontal grid lines and labels from lo to hi every step,
// right-aligned left of padLeft.
func yAxis(b *strings.Builder, lo, hi, step float64, h, padLeft int) {
	plotH := float64(h - padTop - padBot)
	for v := lo; v <= hi+step/2; v += step {
		y := float64(padTop) + plotH*(1-(v-lo)/(hi-lo))
		fmt.Fprintf(b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, padLeft, y, chartW-padRight, y)
		fmt.Fprintf(b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`, padLeft-6, y+4, fmtNum(v))
	}
}

// legendRows lays out the series names in rows under the plot and
// returns, per series, its row and x position, and the number of rows.
func legendRows(ss []series) (pos [][2]int, rows int) {
	x, row := padLeft, 0
	for _, s := range ss {
		w := 30 + textW(s.Name)
		if x+w > chartW-padRight && x > padLeft {
			x, row = padLeft, row+1
		}
		pos = append(pos, [2]int{row, x})
		x += w
	}
	return pos, row + 1
}

// textW is the width of a 14 px tick label: about 8 px a Latin letter or
// digit, a full 15 px a CJK character (so Chinese names do not overlap).
func textW(s string) int {
	w := 0
	for _, r := range s {
		if r >= 0x2E80 && !unicode.IsSpace(r) {
			w += 15
		} else {
			w += 8
		}
	}
	return w
}

// legend draws the series names under the plot, which ends at plotBottom.
func legend(b *strings.Builder, ss []series, plotBottom int) {
	pos, _ := legendRows(ss)
	for i, s := range ss {
		col := palette[i%len(palette)]
		y := plotBottom + 26 + 18*pos[i][0]
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`, pos[i][1], y, col)
		fmt.Fprintf(b, `<text class="tick" x="%d" y="%d">%s</text>`, pos[i][1]+16, y+10, html.EscapeString(s.Name))
	}
}

// maxOf is the largest value of any series.
func maxOf(ss []series) float64 {
	hi := 0.0
	for _, s := range ss {
		for _, v := range s.Values {
			hi = math.Max(hi, v)
		}
	}
	return hi
}

// lineChart draws one line per series over categorical x labels.
func lineChart(title, desc string, labels []string, ss []series) template.HTML {
	var b strings.Builder
	_, rows := legendRows(ss)
	h := chartH + 18*(rows-1)
	svgOpen(&b, title, desc, h)
	_, hi, st := axisRange(0, math.Max(maxOf(ss), 4))
	plotBottom := chartH - padBot
	padLeft := axisPad(0, hi, st)
	yAxis(&b, 0, hi, st, chartH, padLeft)
	plotW := float64(chartW - padLeft - padRight)
	plotH := float64(plotBottom - padTop)
	n := len(labels)
	xOf := func(i int) float64 {
		if n <= 1 {
			return float64(padLeft) + plotW/2
		}
		return float64(padLeft) + plotW*float64(i)/float64(n-1)
	}
	step := max(1, (n+6)/7)
	for i, l := range labels {
		if i%step == 0 && (i == n-1 || n-1-i >= step/2+1) || i == n-1 {
			anchor := "middle"
			switch {
			case n > 1 && i == 0:
				anchor = "start"
			case n > 1 && i == n-1:
				anchor = "end"
			}
			fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="%s">%s</text>`, xOf(i), plotBottom+16, anchor, html.EscapeString(l))
		}
	}
	for si, s := range ss {
		col := palette[si%len(palette)]
		var pts []string
		for i, v := range s.Values {
			y := float64(padTop) + plotH*(1-v/hi)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(i), y))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %s</title></circle>`, xOf(i), y, col,
				html.EscapeString(s.Name), html.EscapeString(labels[i]), fmtNum(v))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, col, strings.Join(pts, " "))
	}
	legend(&b, ss, plotBottom)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// barChart draws grouped bars: one group per label, one bar per series.
func barChart(title, desc string, labels []string, ss []series) template.HTML {
	var b strings.Builder
	rows := 0
	if len(ss) > 1 {
		_, rows = legendRows(ss)
	}
	h := chartH + 18*max(0, rows-1)
	svgOpen(&b, title, desc, h)
	_, hi, st := axisRange(0, math.Max(maxOf(ss), 4))
	padLeft := axisPad(0, hi, st)
	yAxis(&b, 0, hi, st, chartH, padLeft)
	plotW := float64(chartW - padLeft - padRight)
	plotH := float64(chartH - padTop - padBot)
	n := max(1, len(labels))
	groupW := plotW / float64(n)
	barW := groupW * 0.8 / float64(max(1, len(ss)))
	for i, l := range labels {
		gx := float64(padLeft) + groupW*float64(i) + groupW*0.1
		for si, s := range ss {
			v := s.Values[i]
			bh := plotH * v / hi
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				gx+barW*float64(si), float64(padTop)+plotH-bh, math.Max(1, barW-2), bh, palette[si%len(palette)],
				html.EscapeString(s.Name), html.EscapeString(l), fmtNum(v))
		}
		every := 1
		if n > 16 {
			every = (n + 6) / 7
		}
		label := l
		if fit := int(groupW * float64(every) / 8); len([]rune(label)) > fit {
			label = string([]rune(label)[:max(1, fit-1)]) + "…"
		}
		if i%every == 0 {
			x, anchor := gx+groupW*0.4, "middle"
			if x-float64(textW(label))/2 < float64(padLeft) { // would run into the y axis's labels
				x, anchor = float64(padLeft), "start"
			}
			fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="%s">%s</text>`, x, chartH-padBot+16, anchor, html.EscapeString(label))
		}
	}
	if len(ss) > 1 {
		legend(&b, ss, chartH-padBot)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// scoreChart draws a scheme's score over time as steps, each step marked
// and labelled with the record that caused it.
func scoreChart(c *reqCtx, title string, pts []historyPoint, now time.Time, loc *time.Location) template.HTML {
	var b strings.Builder
	h := 300
	svgOpen(&b, title+" — "+tr(c.lang, "chart.score"), tr(c.lang, "chart.score.desc"), h)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if p.Scored {
			lo, hi = math.Min(lo, float64(p.Score)), math.Max(hi, float64(p.Score))
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 10
	}
	pad := math.Max(4, (hi-lo)*0.15)
	lo, hi, st := axisRange(math.Max(0, lo-pad), hi+pad)
	padLeft := axisPad(lo, hi, st)
	yAxis(&b, lo, hi, st, h, padLeft)
	t0, t1 := pts[0].At, now
	if !t1.After(t0) {
		t1 = t0.Add(24 * time.Hour)
	}
	plotW := float64(chartW - padLeft - padRight)
	plotH := float64(h - padTop - padBot)
	xOf := func(t time.Time) float64 {
		return float64(padLeft) + plotW*float64(t.Sub(t0))/float64(t1.Sub(t0))
	}
	yOf := func(v int) float64 { return float64(padTop) + plotH*(1-(float64(v)-lo)/(hi-lo)) }
	// Year ticks.
	for y := t0.In(loc).Year() + 1; y <= t1.In(loc).Year(); y++ {
		x := xOf(time.Date(y, 1, 1, 0, 0, 0, 0, loc))
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, x, padTop, x, h-padBot)
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%d</text>`, x, h-padBot+16, y)
	}
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d">%s</text>`, padLeft, h-padBot+32, t0.In(loc).Format("2006-01-02"))
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">%s</text>`, chartW-padRight, h-padBot+32, t1.In(loc).Format("2006-01-02"))
	// The line runs only while the subject is scored.
	var d strings.Builder
	drawing := false
	for _, p := range pts {
		x, y := xOf(p.At), yOf(p.Score)
		switch {
		case !p.Scored && drawing:
			fmt.Fprintf(&d, " H%.1f", x)
			drawing = false
		case !p.Scored:
		case !drawing:
			fmt.Fprintf(&d, " M%.1f,%.1f", x, y)
			drawing = true
		default:
			fmt.Fprintf(&d, " H%.1f V%.1f", x, y)
		}
	}
	if drawing {
		fmt.Fprintf(&d, " H%.1f", xOf(t1))
	}
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2.5"/>`, d.String(), palette[0])
	labelled := 0
	for i, p := range pts {
		if p.RecordID == 0 || !p.Scored {
			continue
		}
		x, y := xOf(p.At), yOf(p.Score)
		col := palette[2]
		if i > 0 && p.Score < pts[i-1].Score {
			col = palette[1]
		}
		cause := fmt.Sprintf("#%d %s", p.RecordID, p.Cause)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4.5" fill="%s"><title>%s: %d (%s)</title></circle>`, x, y, col,
			p.At.In(loc).Format("2006-01-02"), p.Score, html.EscapeString(cause))
		// Label the steps while there is room; the table below lists all.
		if len(pts) <= 12 {
			anchor := "start"
			if x > chartW-160 {
				anchor = "end"
			}
			dy := -8.0
			if labelled%2 == 1 {
				dy = 16
			}
			label := fmt.Sprintf("#%d", p.RecordID)
			if len(pts) <= 6 && p.Cause != "" {
				c := []rune(p.Cause)
				if len(c) > 28 {
					c = append(c[:27], '…')
				}
				label += " " + string(c)
			}
			fmt.Fprintf(&b, `<text class="step" x="%.1f" y="%.1f" text-anchor="%s">%s</text>`, x+4, y+dy, anchor, html.EscapeString(label))
			labelled++
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// hbarChart draws horizontal grouped bars, one row per label, for labels
// too long to write under a column (authority names).
func hbarChart(title, desc string, labels []string, ss []series) template.HTML {
	var b strings.Builder
	const labelW, rowH, top = 300, 26, 8
	_, rows := legendRows(ss)
	plotBottom := top + rowH*max(1, len(labels))
	h := plotBottom + 30 + 18*rows
	svgOpen(&b, title, desc, h)
	_, hi, st := axisRange(0, math.Max(maxOf(ss), 4))
	plotW := float64(chartW - labelW - padRight)
	for v := 0.0; v <= hi+st/2; v += st {
		x := float64(labelW) + plotW*v/hi
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, x, top, x, plotBottom)
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, plotBottom+16, fmtNum(v))
	}
	barH := float64(rowH-6) / float64(max(1, len(ss)))
	for i, l := range labels {
		y := float64(top + rowH*i + 3)
		label := l
		if r := []rune(label); len(r) > 38 {
			label = string(r[:37]) + "…"
		}
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`, labelW-8, y+float64(rowH)/2+1, html.EscapeString(label))
		for si, s := range ss {
			v := s.Values[i]
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				labelW, y+barH*float64(si), plotW*v/hi, math.Max(1, barH-1), palette[si%len(palette)],
				html.EscapeString(s.Name), html.EscapeString(l), fmtNum(v))
		}
	}
	legend(&b, ss, plotBottom)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
