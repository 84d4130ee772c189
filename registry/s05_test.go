package registry_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/policies"
	"credo/policy"
	"credo/registry"
	"credo/sqlite"
	"credo/synth"
)

// s05City is a store holding a generated city under the example policy:
// people persons, a tenth as many organisations, their links, five years
// of records and a third of the adults' consents to the personal score.
// With closeAtEnd the store is closed when the test ends.
type s05City struct {
	st      *sqlite.DB
	clock   *clock
	records int
}

func newS05City(tb testing.TB, dir string, people int, closeAtEnd bool) *s05City {
	tb.Helper()
	ctx := context.Background()
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		tb.Fatal(err)
	}
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, pol.Location())
	c := &clock{end.Add(12 * time.Hour)}
	st, err := sqlite.OpenOptions(filepath.Join(dir, fmt.Sprintf("s05-%d.db", people)), sqlite.Options{Now: c.now})
	if err != nil {
		tb.Fatal(err)
	}
	if closeAtEnd {
		tb.Cleanup(func() { st.Close() })
	}
	reg, err := registry.Open(ctx, st, registry.Options{NoTable: true, Now: c.now})
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "beijing.yaml", policies.Beijing, end.AddDate(-5, 0, -1)); err != nil {
		tb.Fatal(err)
	}
	city, err := synth.New(synth.Config{People: people, Orgs: people / 10, Years: 5, Seed: 5, End: end, Policy: pol})
	if err != nil {
		tb.Fatal(err)
	}
	var evs []*credo.Event
	city.Links(func(l credo.Link) error {
		evs = append(evs, &credo.Event{Type: credo.EventLinkAdded, Subject: l.Org, Actor: "samr.beijing", Link: &l})
		return nil
	})
	city.Consents(0.3, func(subject string, cn credo.Consent) error {
		evs = append(evs, &credo.Event{Type: credo.EventConsentGiven, Subject: subject, Actor: credo.RoleSubject, Consent: &cn})
		return nil
	})
	for i := 0; i < len(evs); i += 5000 {
		if _, err := reg.Append(ctx, evs[i:min(i+5000, len(evs))]...); err != nil {
			tb.Fatal(err)
		}
	}
	s := &s05City{st: st, clock: c}
	var batch []*credo.Record
	flush := func() error {
		_, err := reg.FileRecords(ctx, batch)
		batch = batch[:0]
		return err
	}
	if err := city.Records(func(r *credo.Record) error {
		rc := *r
		batch = append(batch, &rc)
		s.records++
		if len(batch) == 5000 {
			return flush()
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// open opens a registry with its decision table over the city, logging
// to logs.
func (c *s05City) open(tb testing.TB, logs *syncBuffer) *registry.Registry {
	return c.openWith(tb, logs, registry.Options{})
}

// openWith is open with options (the clock and the logger are the city's).
func (c *s05City) openWith(tb testing.TB, logs *syncBuffer, opts registry.Options) *registry.Registry {
	tb.Helper()
	h := slog.Handler(slog.DiscardHandler)
	if logs != nil {
		h = slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})
	}
	opts.Now, opts.Logger = c.clock.now, slog.New(h)
	reg, err := registry.Open(context.Background(), c.st, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

// s05Mutate returns the example policy with each old text replaced by its
// new one (once; it must be there).
func s05Mutate(tb testing.TB, src string, pairs ...string) string {
	tb.Helper()
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(src, pairs[i]) {
			tb.Fatalf("the example policy has no %q", pairs[i])
		}
		src = strings.Replace(src, pairs[i], pairs[i+1], 1)
	}
	return src
}

// s05MoveMeasure moves a measure's block to the end of the measures, and
// drops another: every measure index after the first moves.
func s05MoveMeasure(tb testing.TB, src, move, next, drop, afterDrop string) string {
	tb.Helper()
	cut := func(s, from, to string) (string, string) {
		a, b := strings.Index(s, "  - id: "+from+"\n"), strings.Index(s, "  - id: "+to+"\n")
		if a < 0 || b < a {
			tb.Fatalf("no measure %s before %s", from, to)
		}
		return s[:a] + s[b:], s[a:b]
	}
	src, block := cut(src, move, next)
	src, _ = cut(src, drop, afterDrop)
	end := "\n# ---------------------------------------------------------------------------\n# Procedures"
	if !strings.Contains(src, end) {
		tb.Fatal("no procedures section")
	}
	return strings.Replace(src, end, "\n"+strings.TrimRight(block, "\n")+"\n"+end, 1)
}

// s05Log is what the last re-evaluation logged: "incremental" with the
// number of subjects re-evaluated and carried over, or "full" with the
// reason.
type s05Log struct {
	how                  string
	reevaluated, carried int
	reason               string
	took                 time.Duration // of the incremental re-evaluation
}

func lastReevaluation(tb testing.TB, logs *syncBuffer) s05Log {
	tb.Helper()
	var out s05Log
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Msg         string        `json:"msg"`
			Reevaluated int           `json:"reevaluated"`
			Carried     int           `json:"carried_over"`
			Reason      string        `json:"reason"`
			Took        time.Duration `json:"took"` // nanoseconds, as slog's JSON writes it
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		switch l.Msg {
		case "decision table re-evaluated incrementally":
			out = s05Log{how: "incremental", reevaluated: l.Reevaluated, carried: l.Carried}
			out.took = l.Took
		case "re-evaluating every subject":
			out = s05Log{how: "full", reason: l.Reason}
		}
	}
	return out
}

// s05SameTables compares, subject by subject, the tables of two registries
// under the same version: every subject with events, entry and ownership.
func s05SameTables(t *testing.T, st credo.Store, inc, full *registry.Registry) int {
	t.Helper()
	ctx := context.Background()
	ti, err := inc.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := full.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ti.PolicyHash() != tf.PolicyHash() {
		t.Fatalf("tables under %s and %s", ti.PolicyHash()[:12], tf.PolicyHash()[:12])
	}
	n, bad := 0, 0
	if err := st.Subjects(ctx, func(s string) error {
		n++
		ei, oi := ti.Lookup(s)
		ef, of := tf.Lookup(s)
		if ei != ef || oi != of {
			if bad++; bad <= 5 {
				t.Errorf("%s: incremental %+v (own %v), full %+v (own %v)", s, ei, oi, ef, of)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if bad > 0 {
		t.Fatalf("%d of %d subjects differ", bad, n)
	}
	if ti.Len() != tf.Len() {
		t.Fatalf("incremental table holds %d entries, full %d", ti.Len(), tf.Len())
	}
	return n
}

// TestS05IncrementalEqualsFull (issue 19 item 5): on a generated city, a
// version that changes one rule's points, then one that changes a list's
// notice period, reorders the measures and drops one, are each
// re-evaluated incrementally (only the subjects the change can reach,
// fewer than the table holds) and give, subject by subject, the table a
// full rebuild gives.
func TestS05IncrementalEqualsFull(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a city")
	}
	c := newS05City(t, t.TempDir(), 3000, true)
	ctx := context.Background()
	logs := &syncBuffer{}
	reg := c.open(t, logs)

	src := string(policies.Beijing)
	v2 := s05Mutate(t, src, "    points: {civic: -20}\n", "    points: {civic: -400}\n", `version: "2026.1"`, `version: "2026.2"`)
	v3 := s05MoveMeasure(t, s05Mutate(t, v2, "    notice: 10d\n", "    notice: 400d\n", `version: "2026.2"`, `version: "2026.3"`),
		"flight-ban", "high-speed-rail-ban", "bandwidth-cap", "pet-licence-low-credit")
	for i, v := range []string{v2, v3} {
		c.clock.t = c.clock.t.Add(time.Hour)
		if _, _, err := reg.Publish(ctx, fmt.Sprintf("v%d.yaml", i+2), []byte(v), c.clock.t); err != nil {
			t.Fatal(err)
		}
		got := lastReevaluation(t, logs)
		if got.how != "incremental" || got.reevaluated == 0 || got.carried == 0 {
			t.Fatalf("v%d: re-evaluated %+v, want incrementally, some subjects but not all", i+2, got)
		}
		full := c.open(t, nil) // opening rebuilds in full
		n := s05SameTables(t, c.st, reg, full)
		t.Logf("v%d: %d of %d subjects re-evaluated, %d carried over", i+2, got.reevaluated, n, got.carried)
	}
}

// TestS05GlobalChangeRebuildsInFull: a change that can reach every
// subject (a public holiday moves every working-day deadline) is not
// re-evaluated incrementally; the table is still the full rebuild's.
func TestS05GlobalChangeRebuildsInFull(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a city")
	}
	c := newS05City(t, t.TempDir(), 500, true)
	ctx := context.Background()
	logs := &syncBuffer{}
	reg := c.open(t, logs)
	v2 := s05Mutate(t, string(policies.Beijing), "holidays:\n", "holidays:\n  - 2026-01-05\n")
	c.clock.t = c.clock.t.Add(time.Hour)
	if _, _, err := reg.Publish(ctx, "v2.yaml", []byte(v2), c.clock.t); err != nil {
		t.Fatal(err)
	}
	if got := lastReevaluation(t, logs); got.how != "full" || !strings.Contains(got.reason, "calendar") {
		t.Fatalf("re-evaluated %+v, want a full rebuild because the calendar changed", got)
	}
	s05SameTables(t, c.st, reg, c.open(t, nil))
}

// TestS05ReevaluationScope places each kind of change from the example
// policy: the rules whose subjects it can reach, nobody, or a full
// rebuild with its reason.
func TestS05ReevaluationScope(t *testing.T) {
	src := string(policies.Beijing)
	old, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	judgments := []string{"JUDGMENT_DEFAULT_ABILITY", "JUDGMENT_OBSTRUCTION", "JUDGMENT_EVASION", "JUDGMENT_ASSET_REPORT",
		"JUDGMENT_CONSUMPTION_BREACH", "JUDGMENT_SETTLEMENT_REFUSED"}
	for _, tc := range []struct {
		name  string
		pairs []string
		rules []string // nil with full "": nobody
		full  string   // a word of the reason for a full rebuild
	}{
		{"version and name", []string{`version: "2026.1"`, `version: "2026.9"`, "name: Beijing", "name: Peking"}, nil, ""},
		{"rule points", []string{"    points: {civic: -20}\n", "    points: {civic: -25}\n"}, []string{"CONTRACT_DEFAULT"}, ""},
		{"rule title", []string{"  - code: CONTRACT_DEFAULT\n    title:\n      en: ", "  - code: CONTRACT_DEFAULT\n    title:\n      en: Broken "}, nil, ""},
		{"list notice", []string{"    notice: 10d\n", "    notice: 12d\n"}, judgments, ""},
		{"list title", []string{"      en: List of dishonest judgment debtors", "      en: Dishonest judgment debtors"}, nil, ""},
		{"measure title", []string{"      en: No flights\n", "      en: No flying\n"}, nil, ""},
		{"measure reach", []string{"    extends_to: [legal_representative, principal, directly_responsible, actual_controller]\n", "    extends_to: [legal_representative]\n"}, nil, "flight-ban"},
		{"measure condition", []string{`    when: '"dishonest-debtors" in lists'`, `    when: '"serious-illegal-dishonest" in lists'`}, nil, "flight-ban"},
		{"tiers keeping the base's", []string{`{name: "B", min: 850,`, `{name: "B", min: 800,`}, nil, ""},
		{"tiers moving the base's", []string{`{name: "A", min: 960,`, `{name: "A", min: 1010,`}, nil, "base score"},
		{"scheme base", []string{"    base: 1000\n", "    base: 990\n"}, nil, "scheme civic"},
		{"derived list", []string{`    when: tiers.civic == "D"`, `    when: tiers.civic == "C"`}, nil, "derived list low-credit"},
		{"calendar", []string{"holidays:\n", "holidays:\n  - 2026-01-05\n"}, nil, "calendar"},
		{"procedures", []string{"    review: 15d\n", "    review: 20d\n"}, nil, "procedures"},
		{"time zone", []string{"timezone: Asia/Shanghai", "timezone: Asia/Chongqing"}, nil, "timezone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Parse("v2.yaml", []byte(s05Mutate(t, src, tc.pairs...)))
			if err != nil {
				t.Fatal(err)
			}
			rules, full := registry.ReevaluationScope(old, p)
			if tc.name == "tiers keeping the base's" {
				tc.rules = rulesScoringCivic(old)
			}
			switch {
			case tc.full != "":
				if !strings.Contains(full, tc.full) {
					t.Fatalf("full rebuild %q, rules %v; want a full rebuild because of %s", full, rules, tc.full)
				}
			case full != "":
				t.Fatalf("full rebuild: %s; want rules %v", full, tc.rules)
			case strings.Join(rules, ",") != strings.Join(tc.rules, ","):
				t.Fatalf("rules %v, want %v", rules, tc.rules)
			}
		})
	}
}

func rulesScoringCivic(p *policy.Policy) []string {
	var out []string
	for _, r := range p.Rules {
		if _, ok := r.Points["civic"]; ok {
			out = append(out, r.Code)
		}
	}
	return out
}

// TestS05OtherPathsReevaluateIncrementally: the other ways a new version
// comes into force re-evaluate incrementally too, and give the full
// rebuild's table: a version published effective later keeps the table
// until it takes effect, then re-evaluates it; a version another node
// publishes is re-evaluated by the tailer.
func TestS05OtherPathsReevaluateIncrementally(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a city")
	}
	c := newS05City(t, t.TempDir(), 800, true)
	ctx := context.Background()
	logs := &syncBuffer{}
	reg := c.open(t, logs)
	src := string(policies.Beijing)

	// Effective in an hour: the table stands, then changes when it does.
	v2 := s05Mutate(t, src, "    points: {civic: -20}\n", "    points: {civic: -400}\n", `version: "2026.1"`, `version: "2026.2"`)
	if _, _, err := reg.Publish(ctx, "v2.yaml", []byte(v2), c.clock.t.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "decision table kept") {
		t.Fatalf("a version effective later rebuilt the table: %s", logs.String())
	}
	c.clock.t = c.clock.t.Add(2 * time.Hour)
	if _, err := reg.Table(ctx); err != nil { // the view notices the new version
		t.Fatal(err)
	}
	if got := lastReevaluation(t, logs); got.how != "incremental" || got.carried == 0 {
		t.Fatalf("taking effect: re-evaluated %+v, want incrementally", got)
	}
	s05SameTables(t, c.st, reg, c.open(t, nil))

	// Published by another node: this one's tailer re-evaluates.
	other := c.open(t, nil)
	v3 := s05Mutate(t, v2, "    notice: 10d\n", "    notice: 400d\n", `version: "2026.2"`, `version: "2026.3"`)
	c.clock.t = c.clock.t.Add(time.Hour)
	if _, _, err := other.Publish(ctx, "v3.yaml", []byte(v3), c.clock.t); err != nil {
		t.Fatal(err)
	}
	logs.mu.Lock()
	logs.b.Reset()
	logs.mu.Unlock()
	if err := reg.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if got := lastReevaluation(t, logs); got.how != "incremental" || got.carried == 0 {
		t.Fatalf("tailing: re-evaluated %+v, want incrementally", got)
	}
	s05SameTables(t, c.st, reg, c.open(t, nil))
}

// TestS05OlderSnapshot: a registry that starts with a snapshot written
// under an earlier version (a version published while it was down, as
// `credo policy publish` does) loads the snapshot under that version,
// re-evaluates it incrementally to the version in force, gives the full
// rebuild's table and writes a snapshot the next start loads as it is.
func TestS05OlderSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a city")
	}
	dir := t.TempDir()
	c := newS05City(t, dir, 800, true)
	ctx := context.Background()
	snap := registry.Options{Snapshot: filepath.Join(dir, "city.table")}
	c.openWith(t, nil, snap) // builds the table and writes the snapshot

	oneShot, err := registry.Open(ctx, c.st, registry.Options{NoTable: true, Now: c.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	v2 := s05Mutate(t, string(policies.Beijing), "    points: {civic: -20}\n", "    points: {civic: -400}\n", `version: "2026.1"`, `version: "2026.2"`)
	c.clock.t = c.clock.t.Add(time.Hour)
	if _, _, err := oneShot.Publish(ctx, "v2.yaml", []byte(v2), c.clock.t); err != nil {
		t.Fatal(err)
	}

	logs := &syncBuffer{}
	reg := c.openWith(t, logs, snap)
	for _, want := range []string{"decision table loaded from snapshot", "decision table re-evaluated incrementally", "decision table snapshot written"} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("the start does not say %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs.String(), "decision table built") || strings.Contains(logs.String(), "snapshot not used") {
		t.Fatalf("the start rebuilt in full:\n%s", logs)
	}
	s05SameTables(t, c.st, reg, c.open(t, nil))

	logs = &syncBuffer{}
	again := c.openWith(t, logs, snap)
	if !strings.Contains(logs.String(), "decision table loaded from snapshot") || strings.Contains(logs.String(), "re-evaluated") {
		t.Fatalf("the next start does not load the new snapshot as it is:\n%s", logs)
	}
	s05SameTables(t, c.st, again, c.open(t, nil))

	// Options.Rebuild (credo serve --rebuild) ignores the snapshot, and
	// writes a new one.
	logs = &syncBuffer{}
	full := c.openWith(t, logs, registry.Options{Snapshot: snap.Snapshot, Rebuild: true})
	if strings.Contains(logs.String(), "loaded from snapshot") || !strings.Contains(logs.String(), "decision table built") ||
		!strings.Contains(logs.String(), "decision table snapshot written") {
		t.Fatalf("Rebuild did not rebuild from the log and write the snapshot:\n%s", logs)
	}
	s05SameTables(t, c.st, full, c.open(t, nil))
}
