package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// AxeVersion is the version of the vendored axe-core (axe/axe.min.js, from
// the npm package axe-core; see axe/README.md).
const AxeVersion = "4.14.1"

//go:embed axe/axe.min.js
var axeSource string

// WCAG22AA are the axe-core rule tags of WCAG 2.2 level AA: the level A
// and AA success criteria of WCAG 2.0, 2.1 and 2.2.
var WCAG22AA = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// AxeResult is what axe-core found on a page.
type AxeResult struct {
	Version string `json:"version"` // of the axe-core that ran
	URL     string `json:"url"`
	// Violations are the rules that failed; Incomplete, the rules axe
	// could not decide and a person should review (a colour over a
	// background image, say).
	Violations []AxeRule `json:"violations"`
	Incomplete []AxeRule `json:"incomplete"`
}

// AxeRule is one axe-core rule and the elements it flagged.
type AxeRule struct {
	ID      string    `json:"id"`     // e.g. "color-contrast"
	Impact  string    `json:"impact"` // minor, moderate, serious, critical
	Help    string    `json:"help"`
	HelpURL string    `json:"helpUrl"`
	Tags    []string  `json:"tags"`
	Nodes   []AxeNode `json:"nodes"`
}

// AxeNode is one element a rule flagged.
type AxeNode struct {
	// Target is the element's CSS selector (one per frame or shadow root
	// on the way to it; a selector into a shadow root is itself a list).
	Target  []json.RawMessage `json:"target"`
	HTML    string            `json:"html"`
	Summary string            `json:"failureSummary"`
}

// Selector returns the node's target as one string: the selectors on the
// way to the element, joined by " >> ".
func (n AxeNode) Selector() string {
	parts := make([]string, 0, len(n.Target))
	for _, raw := range n.Target {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			parts = append(parts, s)
			continue
		}
		var ss []string
		if json.Unmarshal(raw, &ss) == nil {
			parts = append(parts, strings.Join(ss, " >> "))
			continue
		}
		parts = append(parts, string(raw))
	}
	return strings.Join(parts, " >> ")
}

// String describes a rule and each element it flagged, one per line:
// the rule id, its impact, the help text and link, then the selector, the
// element and why it failed.
func (r AxeRule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s <%s>", r.ID, r.Impact, r.Help, r.HelpURL)
	for _, n := range r.Nodes {
		fmt.Fprintf(&b, "\n\t%s\n\t\t%s", n.Selector(), n.HTML)
		if s := strings.TrimSpace(n.Summary); s != "" {
			fmt.Fprintf(&b, "\n\t\t%s", strings.ReplaceAll(s, "\n", "\n\t\t"))
		}
	}
	return b.String()
}

// Axe runs axe-core on the page in the tab of ctx and returns what it
// found. Only the rules carrying one of the tags run (WCAG22AA for WCAG 2.2
// AA); with no tags, every rule runs. The vendored script is injected over
// the DevTools protocol, so it runs whatever the page's
// Content-Security-Policy says about scripts, and the page needs no change.
func Axe(ctx context.Context, tags ...string) (*AxeResult, error) {
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object" && axe.version === `+jsString(AxeVersion)))
	if err != nil {
		return nil, fmt.Errorf("axe: %w", err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			return nil, fmt.Errorf("axe: injecting axe-core: %w", err)
		}
	}
	opts := map[string]any{"resultTypes": []string{"violations", "incomplete"}}
	if len(tags) > 0 {
		opts["runOnly"] = map[string]any{"type": "tag", "values": tags}
	}
	optJSON, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	// Keep only what AxeRule holds: the passes and each node's checks
	// would be most of the answer.
	script := `axe.run(document, ` + string(optJSON) + `).then(r => {
	const rules = list => list.map(v => ({id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl, tags: v.tags,
		nodes: v.nodes.map(n => ({target: n.target, html: n.html, failureSummary: n.failureSummary || ""}))}));
	return {version: r.testEngine.version, url: r.url, violations: rules(r.violations), incomplete: rules(r.incomplete)};
})`
	res, err := chromedp.Run(ctx, chromedp.Evaluate[*AxeResult](script, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("axe: running: %w", err)
	}
	if res.Version != AxeVersion {
		return nil, fmt.Errorf("axe: ran axe-core %s, want %s", res.Version, AxeVersion)
	}
	return res, nil
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
