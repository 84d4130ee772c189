package portal_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"credo"
	"credo/policies"
	"credo/policy"
	"credo/synth"
)

// TestF07Screenshots renders every portal page of the demo policy over a
// small seeded city, as the role that sees it, in Chinese (and English) at
// desktop (1280 px) and phone (375 px) width, in Chromium, and asserts
// that no text of the policy shows in English on a Chinese page (the
// visible text of the page, as a reader sees it; the simulation form's
// draft, which the administrator typed, is not the portal's text).
//
// With CREDO_SCREENSHOTS=DIR (relative to the repository's root, e.g.
// docs/screenshots) it also writes each page (Chinese at both widths,
// English at desktop width) as DIR/LANG-WIDTH-PAGE.png and DIR/README.md,
// their index: that is how docs/screenshots was made.
// Without it, the test runs the same pages and checks and writes nothing.
func TestF07Screenshots(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 50 pages in Chromium")
	}
	out := os.Getenv("CREDO_SCREENSHOTS")
	if out != "" && !filepath.IsAbs(out) {
		out = filepath.Join(repoRoot(t), out)
	}
	e := newEnv(t)
	seedSmallCity(t, e)
	e.checkAPI(alice, "aviation")
	ctx := context.Background()
	d, err := e.reg.OpenDispute(ctx, e.bobJudgment, "我已于3月3日履行判决，收据编号1234", "", false, false, "subject")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	// The policy's texts whose English differs from their Chinese: none of
	// them may be visible on a Chinese page.
	var english []policy.NamedText
	for _, x := range pol.Texts() {
		if x.Text.For("en") != x.Text.For("zh-CN") {
			english = append(english, x)
		}
	}
	draft := simDraft(t)
	b := newChrome(t, e.ts.URL, 15*time.Minute)
	nav := func(path string) func() {
		return func() { b.do("open "+path, chromedp.Navigate(b.base+path)) }
	}
	simulate := func() {
		b.do("simulation form", chromedp.Navigate(b.base+"/dashboard/simulate"), chromedp.SetValue(chromedp.ID("policy"), draft),
			chromedp.SendKeys(chromedp.ID("min_group"), "1"))
		b.submit("sim-submit")
	}
	type shot struct {
		file, title string
		open        func()
	}
	roles := []struct {
		token string // "" for a visitor
		who   string
		shots []shot
	}{
		{"", "a visitor", []shot{
			{"home", "Home", nav("/")},
			{"signin", "Sign in", nav("/signin")},
			{"public", "Public lists: the list of dishonest judgment debtors", nav("/public?list=dishonest-debtors&q=")},
			{"public-search", "Public lists: a search", nav("/public?list=serious-illegal-dishonest&q=" + companyName[:8])},
		}},
		{"tok-alice", "a citizen", []shot{
			{"me", "The citizen's file", nav("/me")},
			{"object", "Objecting to a record", nav(fmt.Sprintf("/me/object?record=%d", e.aliceJudgment))},
			{"repair", "Applying for credit repair", nav(fmt.Sprintf("/me/repair?record=%d", e.aliceUtility))},
		}},
		{"tok-haidian", "a court's clerk", []shot{
			{"clerk", "The clerk's queue", nav("/clerk")},
			{"clerk-file", "Filing a record", nav("/clerk/file")},
			{"clerk-decide", "Deciding an objection", nav(fmt.Sprintf("/clerk/disputes/%d", d.ID))},
		}},
		{"tok-admin", "the operator", []shot{
			{"dashboard", "The dashboard", nav("/dashboard")},
			{"simulate", "Policy simulation: the form", nav("/dashboard/simulate")},
			{"simulate-report", "Policy simulation: the report", simulate},
		}},
	}
	widths := []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 375, 812}}
	var index []shotEntry
	var total int64
	for _, lang := range []string{"zh-CN", "en"} {
		for _, role := range roles {
			b.do("language", chromedp.Navigate(b.base+"/?lang="+lang))
			if role.token != "" {
				b.signIn(e.secret[role.token])
			}
			for _, w := range widths {
				b.do(w.name, chromedp.EmulateViewport(w.w, w.h))
				for _, s := range role.shots {
					name := fmt.Sprintf("%s %s %s", lang, w.name, s.file)
					s.open()
					text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](visibleText))
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if lang == "zh-CN" {
						for _, x := range english {
							if en := x.Text.For("en"); strings.Contains(text, en) {
								t.Errorf("%s shows %s in English: %q", name, x.What, en)
							}
						}
					}
					// No two labels of a chart overlap (a legend of long
					// Chinese names laid out for Latin letters did).
					overlaps, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](overlappingLabels))
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					for _, o := range overlaps {
						t.Errorf("%s: chart labels overlap: %s", name, o)
					}
					if out == "" || lang == "en" && w.name == "phone" { // English at desktop width only: under 5 MB in all
						continue
					}
					buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
					if err != nil {
						t.Fatalf("%s: screenshot: %v", name, err)
					}
					buf = recompress(t, buf)
					file := fmt.Sprintf("%s-%s-%s.png", lang, w.name, s.file)
					if err := os.MkdirAll(out, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(out, file), buf, 0o644); err != nil {
						t.Fatal(err)
					}
					total += int64(len(buf))
					index = append(index, shotEntry{lang, w.name, file, s.title, role.who})
				}
			}
			if role.token != "" {
				b.do("home", chromedp.Navigate(b.base+"/"))
				b.submit("signout")
			}
		}
	}
	if out == "" {
		return
	}
	writeScreenshotIndex(t, out, index, total)
}

// visibleText is the text a reader sees on the page: the body's rendered
// text (hidden elements left out) without form fields' values, and the
// titles and labels a screen reader reads.
const visibleText = `(() => {
	const attrs = [...document.querySelectorAll('[title],[aria-label],[alt]')].map(e => [e.title, e.getAttribute('aria-label'), e.alt].filter(Boolean).join(' '));
	return document.title + '\n' + document.body.innerText.replace(/\s+/g, ' ') + '\n' + attrs.join('\n') +
		'\n' + [...document.querySelectorAll('svg text, svg title')].map(e => e.textContent).join('\n') +
		'\n' + [...document.querySelectorAll('option')].map(e => e.textContent).join('\n');
})()`

// overlappingLabels lists the pairs of text labels of a chart whose boxes
// overlap.
const overlappingLabels = `(() => {
	const out = [];
	for (const svg of document.querySelectorAll('svg.chart')) {
		const ts = [...svg.querySelectorAll('text')].map(e => [e.textContent, e.getBoundingClientRect()]).filter(([, r]) => r.width > 0);
		for (let i = 0; i < ts.length; i++) for (let j = i + 1; j < ts.length; j++) {
			const [a, r] = ts[i], [b, q] = ts[j];
			if (r.left < q.right - 1 && q.left < r.right - 1 && r.top < q.bottom - 1 && q.top < r.bottom - 1) out.push(JSON.stringify(a) + " and " + JSON.stringify(b));
		}
	}
	return out;
})()`

// recompress re-encodes a screenshot as a paletted PNG with the best
// compression: a page is drawn in few colours, so its 256 most frequent
// ones stand for the rest (the anti-aliased edges of text, mapped to the
// nearest), which makes the file a third of the browser's.
func recompress(t *testing.T, buf []byte) []byte {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("decoding a screenshot: %v", err)
	}
	b := img.Bounds()
	count := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			count[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	colors := make([]color.RGBA, 0, len(count))
	for c := range count {
		colors = append(colors, c)
	}
	sort.Slice(colors, func(i, j int) bool {
		if count[colors[i]] != count[colors[j]] {
			return count[colors[i]] > count[colors[j]]
		}
		a, c := colors[i], colors[j]
		return uint32(a.R)<<16|uint32(a.G)<<8|uint32(a.B) < uint32(c.R)<<16|uint32(c.G)<<8|uint32(c.B)
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range colors[:min(256, len(colors))] {
		pal = append(pal, c)
	}
	index := map[color.RGBA]uint8{}
	for i, c := range pal {
		index[c.(color.RGBA)] = uint8(i)
	}
	out := image.NewPaletted(b, pal)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			i, ok := index[c]
			if !ok {
				i = uint8(pal.Index(c))
				index[c] = i
			}
			out.SetColorIndex(x, y, i)
		}
	}
	var w bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&w, out); err != nil {
		t.Fatal(err)
	}
	return w.Bytes()
}

// shotEntry is one screenshot written.
type shotEntry struct{ lang, width, file, title, who string }

// writeScreenshotIndex writes DIR/README.md, a table of the screenshots.
func writeScreenshotIndex(t *testing.T, dir string, index []shotEntry, total int64) {
	t.Helper()
	titles := map[string]string{}
	who := map[string]string{}
	var pages []string
	files := map[[3]string]string{} // page, lang, width -> file
	for _, x := range index {
		page := strings.TrimSuffix(strings.TrimPrefix(x.file, x.lang+"-"+x.width+"-"), ".png")
		if _, ok := titles[page]; !ok {
			pages = append(pages, page)
		}
		titles[page], who[page] = x.title, x.who
		files[[3]string{page, x.lang, x.width}] = x.file
	}
	var b strings.Builder
	b.WriteString(`# Screenshots of the portal

Every page of the portal, as the role that sees it, in Chinese (zh-CN) at
desktop (1280 px) and phone (375 px) width and in English at desktop width
(the test checks English at phone width too), rendered by
Chromium from the example policy (policies/beijing.yaml) over a small
seeded city (` + fmt.Sprint(smallCity.People) + ` residents and ` + fmt.Sprint(smallCity.Orgs) + ` organisations) and a few records
of the test's own residents.

They are made by a test, which also checks that no text of the policy shows
in English on a Chinese page:

    CREDO_SCREENSHOTS=docs/screenshots go test ./http/portal -run TestF07Screenshots

`)
	fmt.Fprintf(&b, "%d files, %.1f MB.\n\n", len(index), float64(total)/1e6)
	b.WriteString("| Page | Seen by | zh-CN desktop | zh-CN phone | en desktop |\n|---|---|---|---|---|\n")
	for _, p := range pages {
		fmt.Fprintf(&b, "| %s | %s |", titles[p], who[p])
		for _, lw := range [][2]string{{"zh-CN", "desktop"}, {"zh-CN", "phone"}, {"en", "desktop"}} {
			if f := files[[3]string{p, lw[0], lw[1]}]; f != "" {
				fmt.Fprintf(&b, " [%s](%s) |", lw[1], f)
			} else {
				b.WriteString(" |")
			}
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d screenshots, %.1f MB, in %s", len(index), float64(total)/1e6, dir)
}

// smallCity is the seeded city behind the screenshots: big enough for the
// public lists and the dashboard's charts to have something to show.
var smallCity = synth.Config{People: 3000, Orgs: 300, Years: 2, Seed: 1}

// seedSmallCity files a small synthetic city's records (decided in the two
// years before now, under the policy the env published three years ago)
// and its residents' consents to the personal scores.
func seedSmallCity(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallCity
	cfg.End, cfg.Policy = time.Now().Truncate(24*time.Hour), pol
	city, err := synth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var batch []*credo.Record
	if err := city.Records(func(r *credo.Record) error {
		c := *r
		batch = append(batch, &c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.FileRecords(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var consents []*credo.Event
	if err := city.Consents(0.3, func(subject string, c credo.Consent) error {
		consents = append(consents, &credo.Event{Type: credo.EventConsentGiven, Subject: subject, Actor: credo.RoleSubject, Consent: &c})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Append(ctx, consents...); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d records and %d consents", len(batch), len(consents))
}

// repoRoot is the folder of the module's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test's folder")
		}
	}
}
