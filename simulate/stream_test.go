package simulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"credo/policies"
	"credo/registry"
	"credo/simulate"
)

// logOnly hides a store's facts projection: Run reads the event log.
type logOnly struct{ registry.LogReader }

// TestStreamedReportEqualsMaterialised holds the report of a simulation
// that evaluates each subject as the facts projection hands it over (in
// ranges, one per worker, persons with links last) equal, byte for byte
// in JSON but for the timing, to the report computed from every
// subject's facts read into memory and sorted by identifier, and to the
// one read from the event log: for several worker counts, with a census,
// and with the most-affected list cut in the middle of a tie.
func TestStreamedReportEqualsMaterialised(t *testing.T) {
	const people, orgs = 3000, 300
	ctx := context.Background()
	_, st, city, c := synthCity(t, tempDB(t), people, orgs)
	if _, ok := registry.FactsReaderOf(st); !ok {
		t.Fatal("the store keeps no facts projection: nothing would be streamed")
	}
	c.t = synthT
	reg := openTableless(t, st, c)
	// A harsher draft: a company needs more than the base score to stay
	// "good", so that every company at the base score falls a tier alike, and a
	// debtor's asset report keeps them listed (with its sanctions) for 3
	// years instead of 2, so that some subjects are affected more.
	src := string(policies.Beijing)
	for _, c := range [][2]string{{`{name: "good", min: 960`, `{name: "good", min: 1001`}, {`lists: {dishonest-debtors: 2y}`, `lists: {dishonest-debtors: 3y}`}} {
		if !strings.Contains(src, c[0]) {
			t.Fatalf("the example policy has no %s: change the test's draft", c[0])
		}
		src = strings.ReplaceAll(src, c[0], c[1])
	}
	cur, draft, err := simulate.Versions(reg.Engine(), synthT, synthT, "harsh-draft.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	run := func(st registry.LogReader, opts simulate.Options) (*simulate.Report, []byte) {
		t.Helper()
		r, err := simulate.Run(ctx, st, cur, draft, synthT, opts)
		if err != nil {
			t.Fatal(err)
		}
		r.Timing = simulate.Timing{}
		b, err := json.MarshalIndent(r, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return r, b
	}

	// Every affected subject, ranked: the cut is placed inside a tie, so
	// that which of the tied subjects are kept is decided by the
	// tie-break alone.
	all, _ := run(st, simulate.Materialised(simulate.Options{Top: 1 << 20, Workers: 2}))
	ranked := all.MostAffected
	cut := 0
	for k := len(ranked) / 2; k < len(ranked)-1; k++ {
		if ranked[k-1].Adverse == ranked[k].Adverse && ranked[k].Adverse == ranked[k+1].Adverse {
			cut = k
			break
		}
	}
	if cut == 0 || ranked[0].Adverse == ranked[cut].Adverse {
		t.Fatalf("no tie to cut among %d affected subjects below the most affected: the test would prove nothing", len(ranked))
	}
	t.Logf("%d affected subjects, %d to %d adverse effects; the list is cut at %d, among those with %d", len(ranked), ranked[len(ranked)-1].Adverse, ranked[0].Adverse, cut, ranked[cut].Adverse)

	for _, tc := range []struct {
		workers int
		census  bool
	}{{1, false}, {2, false}, {3, true}, {5, false}} {
		t.Run(fmt.Sprintf("workers=%d,census=%v", tc.workers, tc.census), func(t *testing.T) {
			opts := simulate.Options{Top: cut, Workers: tc.workers}
			if tc.census {
				opts.Census = census(city, people, orgs)
			}
			streamed, got := run(st, opts)
			_, want := run(st, simulate.Materialised(opts))
			if !bytes.Equal(got, want) {
				t.Fatalf("the streamed report differs from the materialised one:\n%s", firstDiff(got, want))
			}
			if _, fromLog := run(logOnly{st}, opts); !bytes.Equal(got, fromLog) {
				t.Fatalf("the streamed report differs from the one read from the log:\n%s", firstDiff(got, fromLog))
			}
			if streamed.Changed == 0 || streamed.Population.WithEvents == 0 {
				t.Fatal("the draft changes nothing: the test would prove nothing")
			}
			if len(streamed.MostAffected) != cut {
				t.Fatalf("%d most affected, want %d", len(streamed.MostAffected), cut)
			}
			for i, af := range streamed.MostAffected {
				if af.Subject != ranked[i].Subject || af.Adverse != ranked[i].Adverse {
					t.Fatalf("most affected #%d is %s (%d), want %s (%d): the first %d of the full ranking", i, af.Subject, af.Adverse, ranked[i].Subject, ranked[i].Adverse, cut)
				}
			}
		})
	}
}

// firstDiff shows where two reports first differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-200)
	return fmt.Sprintf("at byte %d:\n got: %s\nwant: %s", i, a[lo:min(len(a), i+200)], b[lo:min(len(b), i+200)])
}
