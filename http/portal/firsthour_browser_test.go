package portal_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestF08BrowserChineseNamesOneLine: on /public in Chinese at phone width,
// a listed person's Chinese name stands on one line, not one character per
// line; and no chart's y-axis label is drawn left of its chart.
func TestF08BrowserChineseNamesOneLine(t *testing.T) {
	e := newEnv(t)
	e.fileRecord(ric(3), "欧阳娜娜", "JUDGMENT_DEFAULT_ABILITY", "court.beijing.chaoyang", "(2026)京0105执003号", time.Now().AddDate(0, 0, -60))
	// Anonymous lookups read the census as it stands: take one that has the
	// record (the server builds them in the background).
	time.Sleep(2 * time.Millisecond) // past the test census's TTL
	if _, err := e.portal.Census().Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := newChrome(t, e.ts.URL, 60*time.Second)
	q := url.Values{"lang": {"zh-CN"}, "list": {"dishonest-debtors"}, "q": {"欧阳娜娜"}}
	b.do("public at phone width", chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2)), chromedp.Navigate(e.ts.URL+"/public?"+q.Encode()))
	lines, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`(() => {
		const th = [...document.querySelectorAll('#public-results tbody th')].find(th => th.textContent.includes('欧阳娜娜'));
		if (!th) return -1;
		const r = document.createRange(); r.selectNodeContents(th);
		return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;
	})()`))
	if err != nil || lines != 1 {
		t.Errorf("the name 欧阳娜娜 stands on %d lines on /public at 375 px (err %v; -1: not found)", lines, err)
	}

	b.do("desktop", chromedp.EmulateViewport(1280, 900))
	b.signIn(e.secret["tok-admin"])
	b.do("dashboard", chromedp.Navigate(e.ts.URL+"/dashboard?lang=zh-CN"))
	clipped, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('svg.chart text.tick')].filter(t => t.getBBox().x < 0).length`))
	if err != nil || clipped != 0 {
		t.Errorf("%d y-axis labels drawn outside their chart (err %v)", clipped, err)
	}
}
