package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/policies"
	"credo/registry"
)

// TestCensusAcrossPublication: when a version published while the census
// is kept (here retroactive by 70 days, so that the last three monthly
// instants change version) is re-evaluated incrementally in the table,
// the census re-evaluates the subjects the table did, not everyone, and
// equals a census built afresh under the new version; records filed after
// the publication are counted too. A change the census reads beyond the
// table (a list no longer public) builds it anew, equal to a fresh one.
func TestCensusAcrossPublication(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a city")
	}
	c := newS05City(t, t.TempDir(), 1500, true)
	ctx := context.Background()
	logs := &syncBuffer{}
	reg := c.open(t, logs)
	opts := registry.CensusOptions{TTL: time.Nanosecond, Points: 6}
	cc := registry.NewCensusCache(reg, opts)
	compare := func(step string) *registry.Census {
		t.Helper()
		got, err := cc.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := registry.NewCensusCache(reg, opts).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.MarshalIndent(got, "", " ")
		jb, _ := json.MarshalIndent(fresh, "", " ")
		if string(ja) != string(jb) {
			t.Fatalf("%s: the census kept across the publication differs from one built afresh:\n%s", step, firstDiff(string(ja), string(jb)))
		}
		return got
	}
	before := compare("start")
	if registry.CensusReevaluated(cc) != -1 {
		t.Fatal("the first census was not built from the facts")
	}

	src := string(policies.Beijing)
	v2 := s05Mutate(t, src, "    points: {civic: -20}\n", "    points: {civic: -400}\n", `version: "2026.1"`, `version: "2026.2"`)
	c.clock.t = c.clock.t.Add(time.Hour)
	if _, _, err := reg.Publish(ctx, "v2.yaml", []byte(v2), c.clock.t.AddDate(0, 0, -70)); err != nil {
		t.Fatal(err)
	}
	if got := lastReevaluation(t, logs); got.how != "incremental" || got.reevaluated == 0 {
		t.Fatalf("the table was re-evaluated %+v, want incrementally", got)
	}
	// A record filed after the publication, of a subject in the census.
	var tpl *credo.Record
	for _, es := range before.Entries {
		for _, e := range es {
			if e.Rule != "" && tpl == nil {
				tpl = &credo.Record{Subject: e.ID.Canonical, Rule: e.Rule, Authority: e.AuthorityID, CaseRef: "PUB-1", EvidenceSHA256: evidence}
			}
		}
	}
	if tpl == nil {
		t.Fatal("no public entry to file after")
	}
	c.clock.t = c.clock.t.Add(time.Minute)
	tpl.DecidedAt = c.clock.t.Add(-time.Hour)
	if _, err := reg.FileRecords(ctx, []*credo.Record{tpl}); err != nil {
		t.Fatal(err)
	}
	c.clock.t = c.clock.t.Add(time.Minute)
	after := compare("v2")
	re := registry.CensusReevaluated(cc)
	if re < 0 || re >= after.Subjects/2 {
		t.Fatalf("v2: %d of %d subjects re-evaluated: not incremental", re, after.Subjects)
	}
	if fmt.Sprint(after.Tiers) == fmt.Sprint(before.Tiers) {
		t.Fatal("v2 changed no tier: the test shows nothing")
	}
	t.Logf("v2: %d of %d subjects re-evaluated", re, after.Subjects)

	// A list no longer public (the first): the table
	// carries everyone over, the census is built anew.
	v3 := s05Mutate(t, v2, "    public: true\n    publish: [name, identifier, sex, age, obligation, conduct, case_ref, authority]\n", "", `version: "2026.2"`, `version: "2026.3"`)
	c.clock.t = c.clock.t.Add(time.Hour)
	if _, _, err := reg.Publish(ctx, "v3.yaml", []byte(v3), c.clock.t); err != nil {
		t.Fatal(err)
	}
	if got := compare("v3"); len(got.Entries["dishonest-debtors"]) != 0 || len(after.Entries["dishonest-debtors"]) == 0 {
		t.Fatalf("v3: %d entries of dishonest-debtors (%d before): the test shows nothing", len(got.Entries["dishonest-debtors"]), len(after.Entries["dishonest-debtors"]))
	}
	if re := registry.CensusReevaluated(cc); re != -1 {
		t.Fatalf("v3: %d subjects re-evaluated: the census was not built anew", re)
	}
	if !strings.Contains(logs.String(), "census built anew") {
		t.Error("the census did not say why it was built anew")
	}
}

// BenchmarkCensusAcrossPublication times the census after a publication
// the table re-evaluates incrementally (a rule's points changed, effective
// at once) on a generated city of BENCH_PEOPLE people (default 20,000):
// "incremental" is the kept census brought to the new version, "fresh" a
// census built anew under it (what every publication cost before). Each
// iteration publishes another version; both are reported per iteration
// as ms/op metrics.
func BenchmarkCensusAcrossPublication(b *testing.B) {
	people := benchPeople(b)[0]
	c := newS05City(b, b.TempDir(), people, true)
	ctx := context.Background()
	logs := &syncBuffer{}
	reg := c.open(b, logs)
	opts := registry.CensusOptions{TTL: time.Nanosecond, Points: 6}
	cc := registry.NewCensusCache(reg, opts)
	if _, err := cc.Get(ctx); err != nil {
		b.Fatal(err)
	}
	src := string(policies.Beijing)
	var inc, fresh time.Duration
	b.ResetTimer()
	for i := range b.N {
		v := s05Mutate(b, src, "    points: {civic: -20}\n", fmt.Sprintf("    points: {civic: -%d}\n", 400+i), `version: "2026.1"`, fmt.Sprintf(`version: "2026.%d"`, i+2))
		c.clock.t = c.clock.t.Add(time.Hour)
		if _, _, err := reg.Publish(ctx, fmt.Sprintf("v%d.yaml", i+2), []byte(v), c.clock.t); err != nil {
			b.Fatal(err)
		}
		if got := lastReevaluation(b, logs); got.how != "incremental" {
			b.Fatalf("the table was re-evaluated %+v", got)
		}
		start := time.Now()
		got, err := cc.Get(ctx)
		if err != nil {
			b.Fatal(err)
		}
		inc += time.Since(start)
		if registry.CensusReevaluated(cc) < 0 {
			b.Fatal("the census was built anew")
		}
		start = time.Now()
		want, err := registry.NewCensusCache(reg, opts).Get(ctx)
		if err != nil {
			b.Fatal(err)
		}
		fresh += time.Since(start)
		if got.Subjects != want.Subjects {
			b.Fatalf("%d subjects, fresh %d", got.Subjects, want.Subjects)
		}
	}
	b.ReportMetric(float64(inc.Milliseconds())/float64(b.N), "incremental-ms/op")
	b.ReportMetric(float64(fresh.Milliseconds())/float64(b.N), "fresh-ms/op")
}

// TestCensusAcrossPublicationAtStart: a version published while the
// server is down (the table then started from its snapshot and
// re-evaluated incrementally) is placed in the census state saved by the
// previous run, as one published while running is: the census
// re-evaluates the subjects the table did, not everyone, and equals a
// census built afresh under the new version.
func TestCensusAcrossPublicationAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a city")
	}
	dir := t.TempDir()
	c := newS05City(t, dir, 1500, true)
	ctx := context.Background()
	opts := registry.CensusOptions{TTL: time.Nanosecond, Points: 6}
	snap := filepath.Join(dir, "credo.db.table")

	reg := c.openWith(t, nil, registry.Options{Snapshot: snap})
	if _, err := registry.NewCensusCache(reg, opts).Get(ctx); err != nil { // saves its state
		t.Fatal(err)
	}
	if err := reg.SaveSnapshot(ctx); err != nil {
		t.Fatal(err)
	}

	// Down: a version is published (a rule's points, 70 days back).
	v2 := s05Mutate(t, string(policies.Beijing), "    points: {civic: -20}\n", "    points: {civic: -400}\n", `version: "2026.1"`, `version: "2026.2"`)
	c.clock.t = c.clock.t.Add(time.Hour)
	pub := c.openWith(t, nil, registry.Options{NoTable: true})
	if _, _, err := pub.Publish(ctx, "v2.yaml", []byte(v2), c.clock.t.AddDate(0, 0, -70)); err != nil {
		t.Fatal(err)
	}

	// Up again, from the snapshots.
	c.clock.t = c.clock.t.Add(time.Minute)
	logs := &syncBuffer{}
	reg = c.openWith(t, logs, registry.Options{Snapshot: snap})
	if got := lastReevaluation(t, logs); got.how != "incremental" || got.reevaluated == 0 {
		t.Fatalf("the table was re-evaluated %+v, want incrementally", got)
	}
	cc := registry.NewCensusCache(reg, opts)
	got, err := cc.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	re := registry.CensusReevaluated(cc)
	if re < 0 || re >= got.Subjects/2 {
		t.Fatalf("%d of %d subjects re-evaluated: not placed in the saved state (%s)", re, got.Subjects, logs.String())
	}
	fresh, err := registry.NewCensusCache(c.openWith(t, nil, registry.Options{}), opts).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.MarshalIndent(got, "", " ")
	jb, _ := json.MarshalIndent(fresh, "", " ")
	if string(ja) != string(jb) {
		t.Fatalf("the census placed at start differs from one built afresh:\n%s", firstDiff(string(ja), string(jb)))
	}
	t.Logf("%d of %d subjects re-evaluated", re, got.Subjects)
	// The state placed across the publication is saved at once, so that
	// the next start (its table loaded from the snapshot of the new
	// version) advances from it instead of building the census anew.
	if !strings.Contains(logs.String(), `"msg":"census state saved"`) {
		t.Fatalf("the census state placed across the publication was not saved:\n%s", logs.String())
	}
	c.clock.t = c.clock.t.Add(time.Minute)
	again := registry.NewCensusCache(c.openWith(t, nil, registry.Options{Snapshot: snap}), opts)
	if _, err := again.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if re := registry.CensusReevaluated(again); re < 0 {
		t.Fatal("the next start built the census anew instead of advancing the saved state")
	}
}
