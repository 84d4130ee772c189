package engine_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/policies"
	"credo/policy"
)

// TestG01MinorConductNeverSanctioned holds principle 9 on every path to a
// list or a measure: a record decided while the subject was a minor puts
// them on no list and counts toward no points, then or after their 18th
// birthday (2030-03-10 for the minor of the tests), so no score- or
// tier-derived list follows from it; and no measure reaches a person
// through an organisation for the organisation's records decided before
// the person came of age.
func TestG01MinorConductNeverSanctioned(t *testing.T) {
	pol := testPolicy(t)
	cases := []struct {
		name  string
		facts func(t *testing.T) *engine.Facts
		at    time.Time
		want  want
	}{
		{
			// -320 at 17 would put her in tier D (680) and on low-credit
			// once she is scored from her 18th birthday.
			name: "score-derived list after 18",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, minor, consent("civic", day(2026, 1, 1), true),
					file("PYRAMID_SELLING", day(2029, 12, 1), day(2029, 12, 1)))
			},
			at: day(2030, 6, 1),
			want: want{scores: map[string]int{"civic": 1000, "licence": 12}, tiers: map[string]string{"civic": "A"},
				points: map[int64]int{}, status: map[int64]string{2: active}, next: day(2030, 12, 1),
				extra: func(t *testing.T, st *engine.State) {
					if rs := st.Record(2); rs == nil || !rs.Minor {
						t.Errorf("record 2 not marked as a minor's: %+v", rs)
					}
				}},
		},
		{
			// The licence scheme has no minimum age: two -6 at 17 would
			// lose the licence (tier LOST, licence-lost, driving-ban) on
			// her 18th birthday.
			name: "tier-derived list in a scheme without a minimum age",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, minor, file("SPEEDING", day(2029, 10, 1), day(2029, 10, 1)),
					file("SPEEDING", day(2029, 11, 1), day(2029, 11, 1)))
			},
			at:   day(2030, 4, 1),
			want: want{scores: map[string]int{"licence": 12}, tiers: map[string]string{"licence": "VALID"}, next: day(2030, 10, 1)},
		},
		{
			name: "an adult's same records do list",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("SPEEDING", day(2029, 10, 1), day(2029, 10, 1)),
					file("SPEEDING", day(2029, 11, 1), day(2029, 11, 1)))
			},
			at:   day(2030, 4, 1),
			want: want{scores: map[string]int{"licence": 0}, lists: []string{"licence-lost"}, measures: []string{"driving-ban"}, next: day(2030, 10, 1)},
		},
		{
			// The company's fake-goods listing (2029-12-01 to 2031-12-01)
			// follows from a decision taken while she was 17: it does
			// not reach her as legal representative when she is 18.
			name: "measure extended through a link",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, minor, link(org, credo.RoleLegalRepresentative, day(2029, 6, 1), time.Time{}),
					withOrg(subjectFacts(t, org, file("FAKE_GOODS", day(2029, 12, 1), day(2029, 12, 1)))))
			},
			at:   day(2030, 6, 1),
			want: want{unscored: map[string]string{"civic": "no_consent"}, next: day(2032, 12, 1)}, // the company's record expires
		},
		{
			// A decision of the company's taken after her 18th birthday
			// does reach her.
			name: "measure extended through a link: adult conduct",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, minor, link(org, credo.RoleLegalRepresentative, day(2029, 6, 1), time.Time{}),
					withOrg(subjectFacts(t, org, file("FAKE_GOODS", day(2029, 12, 1), day(2029, 12, 1)),
						file("FAKE_GOODS", day(2030, 4, 1), day(2030, 4, 1)))))
			},
			at:   day(2030, 6, 1),
			want: want{unscored: map[string]string{"civic": "no_consent"}, measures: []string{"procurement-ban via " + org + " as legal_representative"}, next: day(2032, 4, 1)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkState(t, engine.Evaluate(pol, tc.facts(t), tc.at, tc.at), tc.want)
		})
	}
	t.Run("the age of majority", func(t *testing.T) {
		id := mustID(t, minor)
		if !engine.MinorAt(id, day(2030, 3, 9), shanghai) || engine.MinorAt(id, day(2030, 3, 10), shanghai) {
			t.Error("MinorAt does not turn at the 18th birthday")
		}
		if got := engine.AdultFrom(id, shanghai); !got.Equal(day(2030, 3, 10)) {
			t.Errorf("AdultFrom = %v", got)
		}
		if engine.MinorAt(mustID(t, org), day(2030, 1, 1), shanghai) {
			t.Error("an organisation is a minor")
		}
	})
}

// variant parses the test policy with replacements applied.
func variant(t *testing.T, pairs ...string) *policy.Policy {
	t.Helper()
	testPolicy(t)
	src := string(policySrc)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(src, pairs[i]) {
			t.Fatalf("test policy lacks %q", pairs[i])
		}
		src = strings.Replace(src, pairs[i], pairs[i+1], 1)
	}
	p, err := policy.Parse("variant.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestG02DerivedListSuspendedDuringDispute holds during_dispute: suspended
// on lists derived from scores or tiers: while an objection to a record
// behind the score is open, the list is decided without that record.
func TestG02DerivedListSuspendedDuringDispute(t *testing.T) {
	pol := variant(t, "    when: tiers.licence == \"LOST\"\n", "    when: tiers.licence == \"LOST\"\n    during_dispute: suspended\n")
	speeding := func(ops ...op) func(t *testing.T) *engine.Facts {
		return func(t *testing.T) *engine.Facts {
			return subjectFacts(t, bob, append([]op{file("SPEEDING", day(2026, 3, 1), day(2026, 3, 1)),
				file("SPEEDING", day(2026, 4, 1), day(2026, 4, 1))}, ops...)...)
		}
	}
	lost := want{scores: map[string]int{"licence": 0}, lists: []string{"licence-lost"}, measures: []string{"driving-ban"}}
	cases := []struct {
		name  string
		facts func(t *testing.T) *engine.Facts
		at    time.Time
		want  want
	}{
		{"no objection", speeding(), day(2026, 5, 1), lost},
		{
			// Opened 2026-04-20, not yet overdue (review 15 days): the
			// list is suspended; the score itself still counts it.
			name: "objection open", facts: speeding(dispute(2, day(2026, 4, 20))), at: day(2026, 4, 25),
			want: want{scores: map[string]int{"licence": 0}, status: map[int64]string{2: disputed}},
		},
		{
			name: "objection decided upheld", facts: speeding(dispute(2, day(2026, 4, 20)), decide(3, 2, day(2026, 4, 28), credo.OutcomeUpheld)),
			at: day(2026, 5, 1), want: lost,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := engine.Evaluate(pol, tc.facts(t), tc.at, tc.at)
			tc.want.next = st.Next // not what this test is about
			checkState(t, st, tc.want)
		})
	}

	// The example policy's two lists that declare it.
	ex, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	at := day(2026, 6, 10)
	fileAs := func(rule, authority string, decided time.Time) op {
		return func(h *hist) {
			file(rule, decided, decided)(h)
			h.events[len(h.events)-1].Record.Authority = authority
		}
	}
	listed := func(st *engine.State, list string) bool { return st.Listing(list) != nil }
	t.Run("example dog-licence-revoked", func(t *testing.T) {
		bite := []op{fileAs("DOG_BITE", "police.beijing.dogs", day(2026, 5, 1))}
		if st := engine.Evaluate(ex, subjectFacts(t, bob, bite...), at, at); !listed(st, "dog-licence-revoked") {
			t.Fatalf("not listed without an objection: %+v", st.Listings)
		}
		st := engine.Evaluate(ex, subjectFacts(t, bob, append(bite, dispute(1, day(2026, 6, 1)))...), at, at)
		if listed(st, "dog-licence-revoked") || st.Decide("pet-licence").Decision != engine.Allow {
			t.Errorf("listed while the objection is open: %+v %+v", st.Listings, st.Decide("pet-licence"))
		}
	})
	t.Run("example low-credit", func(t *testing.T) {
		ops := []op{consent("civic", day(2026, 4, 1), true)}
		for i := range 5 { // 1000 - 5*100 = 500: tier D
			ops = append(ops, fileAs("UTILITY_EQUIPMENT_DESTRUCTION", "police.beijing", day(2026, 5, 1+i)))
		}
		if st := engine.Evaluate(ex, subjectFacts(t, bob, ops...), at, at); !listed(st, "low-credit") {
			t.Fatalf("not listed without an objection: %+v %+v", st.Listings, st.Schemes)
		}
		st := engine.Evaluate(ex, subjectFacts(t, bob, append(ops, dispute(6, day(2026, 6, 1)))...), at, at)
		if listed(st, "low-credit") || st.Decide("internet").Decision != engine.Allow {
			t.Errorf("listed while the objection is open: %+v %+v", st.Listings, st.Decide("internet"))
		}
	})
}

// TestG03PointsOneRounding holds the per-unit points rounding in one
// function: exact half away from zero, the same for the notice (which
// calls RecordPoints) and the score.
func TestG03PointsOneRounding(t *testing.T) {
	pol := testPolicy(t)
	for _, c := range []struct {
		q    float64
		want int
	}{
		{0.49999999999999994, 0}, // adding 0.5 gives 1
		{2.5, 3}, {-2.5, -3}, {1.4, 1}, {math.NaN(), 0}, {math.Inf(1), 1 << 31},
	} {
		if got := engine.UnitPoints(1, c.q); got != c.want {
			t.Errorf("UnitPoints(1, %v) = %d, want %d", c.q, got, c.want)
		}
		f := subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
			file("VOLUNTEER_SERVICE", day(2026, 3, 1), day(2026, 3, 1), quantity(c.q)))
		st := engine.Evaluate(pol, f, day(2026, 4, 1), day(2026, 4, 1))
		got := 0
		for _, ct := range st.Scheme("civic").Contributions {
			got += ct.Points
		}
		ps := pol.Rule("VOLUNTEER_SERVICE").Points["civic"]
		if want := min(engine.RecordPoints(ps, f.Events[1].Record), ps.Cap); got != want && c.want != 0 {
			t.Errorf("quantity %v: scored %d, RecordPoints %d", c.q, got, want)
		}
	}
	t.Run("notice served", func(t *testing.T) {
		rec := &credo.Record{DecidedAt: day(2026, 3, 1), FiledAt: day(2026, 3, 5), NotifiedAt: day(2026, 3, 2)}
		l := pol.List("dishonest-debtors")
		from, _ := engine.ListingSpan(pol, l, pol.Rule("OBSTRUCTION").Lists[l.ID], rec)
		if want := pol.Calendar.Add(engine.NoticeServed(rec), l.Notice); !from.Equal(want) {
			t.Errorf("listed from %v, notice served + period %v", from, want)
		}
	})
}
