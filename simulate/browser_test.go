package simulate_test

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"credo/internal/browsertest"
	"credo/simulate"
)

var update = flag.Bool("update", false, "regenerate docs/simulation-sample.html from a synthetic city of 20,000 people")

// sampleReport simulates policies/beijing-draft.yaml against the example
// policy on a synthetic city, with its census.
func sampleReport(t testing.TB, people, orgs int) *simulate.Report {
	t.Helper()
	_, st, city, c := synthCity(t, tempDB(t), people, orgs)
	c.t = synthT
	draftSrc, err := os.ReadFile("../policies/beijing-draft.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reg := openTableless(t, st, c)
	cur, draft, err := simulate.Versions(reg.Engine(), synthT, synthT, "policies/beijing-draft.yaml", draftSrc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := simulate.Run(context.Background(), st, cur, draft, synthT, simulate.Options{Census: census(city, people, orgs)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReportInBrowser renders the HTML report (auditor view) in Chromium:
// no console errors, every chart drawn with a non-zero size and bars in
// it, the threshold line on the disparity chart; a screenshot is saved.
// With -update it also rewrites docs/simulation-sample.html.
func TestReportInBrowser(t *testing.T) {
	people, orgs := 3000, 300
	if *update {
		people, orgs = 20000, 2000
	}
	r := sampleReport(t, people, orgs)
	if r.Changed == 0 || len(r.Disparities) == 0 {
		t.Fatalf("the sample draft changes nothing or has no disparities: changed %d, disparities %d", r.Changed, len(r.Disparities))
	}
	pages := map[string][]byte{}
	for _, lang := range []string{"en", "zh-CN"} {
		var buf bytes.Buffer
		if err := simulate.WriteHTML(&buf, r.Redact(), lang); err != nil {
			t.Fatal(err)
		}
		pages["/"+lang] = buf.Bytes()
	}
	if *update {
		if err := os.WriteFile("../docs/simulation-sample.html", pages["/en"], 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote docs/simulation-sample.html")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		page, ok := pages[req.URL.Path]
		if !ok {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}))
	defer srv.Close()

	ctx := browsertest.New(t)
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			// Collect the console from before the navigation until the
			// checks are done.
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			messages := chromedp.Console(cctx)
			var console []chromedp.ConsoleMessage
			done := make(chan struct{})
			go func() {
				defer close(done)
				for m, err := range messages {
					if err != nil {
						return
					}
					console = append(console, m)
				}
			}()
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"+lang)); err != nil {
				t.Fatal(err)
			}
			title, err := chromedp.Run(ctx, chromedp.Title())
			if err != nil || !strings.Contains(title, r.Draft.Name) {
				t.Errorf("title %q, %v", title, err)
			}
			type chart struct {
				ID     string  `json:"id"`
				Width  float64 `json:"w"`
				Height float64 `json:"h"`
				Rects  int     `json:"rects"`
				Label  string  `json:"label"`
			}
			charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]chart](`Array.from(document.querySelectorAll("svg.chart")).map(s => {
				const b = s.getBoundingClientRect();
				return {id: s.id, w: b.width, h: b.height, rects: Array.from(s.querySelectorAll("rect")).filter(r => r.getBoundingClientRect().width > 0).length, label: s.getAttribute("aria-label") || ""};
			})`))
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, c := range charts {
				ids[c.ID] = true
				if c.Width <= 0 || c.Height <= 0 || c.Rects == 0 || c.Label == "" {
					t.Errorf("chart %s: %gx%g, %d visible bars, label %q", c.ID, c.Width, c.Height, c.Rects, c.Label)
				}
			}
			for _, want := range []string{"tiers-dog_licence", "tiers-corporate", "groups-person.district", "groups-org.district", "disparities"} {
				if !ids[want] {
					t.Errorf("no chart %s (have %v)", want, ids)
				}
			}
			line, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById("threshold").getBoundingClientRect().height`))
			if err != nil || line <= 0 {
				t.Errorf("threshold line height %g, %v", line, err)
			}
			// Every chart has a data table: at least as many tables as charts.
			tables, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table").length`))
			if err != nil || tables < len(charts) {
				t.Errorf("%d tables for %d charts (%v)", tables, len(charts), err)
			}
			browsertest.Screenshot(t, ctx, "simulation-report-"+lang)
			time.Sleep(200 * time.Millisecond)
			cancel()
			<-done
			for _, m := range console {
				if m.IsException() || m.Type == "error" {
					t.Errorf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
				} else {
					t.Logf("console %s: %s", m.Type, m.Text)
				}
			}
		})
	}
}
