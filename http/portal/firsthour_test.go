package portal

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestF08AxisLabelsFit: no y-axis tick label of a chart starts left of
// the chart's edge, with a generous width per character (a city of
// 200,000 gives six-digit counts, which a fixed 56-unit margin clipped).
func TestF08AxisLabelsFit(t *testing.T) {
	ss := []series{{Name: "subjects", Values: []float64{1200, 187000, 2000000}}}
	labels := []string{"A", "B", "C"}
	loc := time.UTC
	var p historyPoint
	p.At, p.Score, p.Scored = time.Date(2024, 1, 1, 0, 0, 0, 0, loc), 100000, true
	pts := []historyPoint{p}
	c := &reqCtx{lang: "zh-CN", loc: loc}
	tick := regexp.MustCompile(`<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="end">([^<]*)</text>`)
	for name, svg := range map[string]string{
		"line":  string(lineChart("t", "d", labels, ss)),
		"bar":   string(barChart("t", "d", labels, ss)),
		"score": string(scoreChart(c, "t", pts, pts[0].At.Add(48*time.Hour), loc)),
	} {
		ms := tick.FindAllStringSubmatch(svg, -1)
		if len(ms) == 0 {
			t.Fatalf("%s chart: no y-axis labels found", name)
		}
		for _, m := range ms {
			x, _ := strconv.ParseFloat(m[1], 64)
			if left := x - float64(len(m[2])*tickCharW); left < 0 {
				t.Errorf("%s chart: y-axis label %q starts at x=%.0f, outside the chart", name, m[2], left)
			}
		}
	}
}

// TestF08ChineseNamesDoNotWrapPerCharacter: the public list's names (the
// table's row headers) and identifiers keep to one line.
func TestF08ChineseNamesDoNotWrapPerCharacter(t *testing.T) {
	css, err := os.ReadFile("static/portal.css")
	if err != nil {
		t.Fatal(err)
	}
	rule := regexp.MustCompile(`(?s)#public-results th\[scope=row\][^{]*\{[^}]*white-space:\s*nowrap`)
	if !rule.Match(css) {
		t.Error("portal.css lets the names of the public list wrap (one Chinese character per line in a narrow column)")
	}
	page, err := os.ReadFile("templates/public.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `id="public-results"`) || !strings.Contains(string(page), `<th scope="row">`) {
		t.Error("public.html no longer has the #public-results table with row headers the CSS rule targets")
	}
}
