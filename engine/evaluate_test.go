package engine_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
)

// want is what a case expects of a state. Every expected number and
// instant is worked out by hand from testdata/policy.yaml.
type want struct {
	scores   map[string]int    // scheme -> score (the subject must be scored)
	tiers    map[string]string // scheme -> tier
	unscored map[string]string // scheme -> why it is not scored
	points   map[int64]int     // record id -> its civic contribution
	lists    []string          // exactly the lists the subject is on, in policy order
	measures []string          // exactly the measures in force, in order; "id via ORG as ROLE" when extended
	status   map[int64]string  // record id -> status
	next     time.Time         // the expected next change; zero: none
	extra    func(t *testing.T, st *engine.State)
}

func checkState(t *testing.T, st *engine.State, w want) {
	t.Helper()
	for scheme, score := range w.scores {
		ss := st.Scheme(scheme)
		if ss == nil || !ss.Scored {
			t.Errorf("scheme %s: not scored (%+v), want score %d", scheme, ss, score)
			continue
		}
		if got := ss.Score; got != score {
			t.Errorf("scheme %s: score = %d, want %d", scheme, got, score)
		}
	}
	for scheme, tier := range w.tiers {
		if ss := st.Scheme(scheme); ss == nil || ss.Tier != tier {
			t.Errorf("scheme %s: tier = %+v, want %s", scheme, ss, tier)
		}
	}
	for scheme, why := range w.unscored {
		ss := st.Scheme(scheme)
		if ss == nil {
			t.Errorf("scheme %s: absent, want unscored (%s)", scheme, why)
			continue
		}
		if ss.Scored || ss.Why != why {
			t.Errorf("scheme %s: scored=%v why=%q, want unscored why=%q", scheme, ss.Scored, ss.Why, why)
		}
		if len(ss.Contributions) != 0 || ss.Tier != "" {
			t.Errorf("scheme %s: unscored but has tier %q and contributions %v", scheme, ss.Tier, ss.Contributions)
		}
	}
	if w.points != nil {
		got := map[int64]int{}
		if ss := st.Scheme("civic"); ss != nil {
			for _, c := range ss.Contributions {
				got[c.RecordID] = c.Points
			}
		}
		if g, w := fmt.Sprint(got), fmt.Sprint(w.points); g != w {
			t.Errorf("civic contributions = %s, want %s", g, w)
		}
	}
	var lists []string
	for _, l := range st.Listings {
		lists = append(lists, l.List)
	}
	if got, want := strings.Join(lists, ","), strings.Join(w.lists, ","); got != want {
		t.Errorf("lists = [%s], want [%s]", got, want)
	}
	var measures []string
	for _, m := range st.Measures {
		s := m.Measure
		if m.Via != "" {
			s += " via " + m.Via + " as " + m.ViaRole
		}
		measures = append(measures, s)
	}
	if got, want := strings.Join(measures, ","), strings.Join(w.measures, ","); got != want {
		t.Errorf("measures = [%s], want [%s]", got, want)
	}
	pol := st.PolicyDoc()
	for _, m := range st.Measures {
		if !st.InForce.Has(pol.Measure(m.Measure).Index()) {
			t.Errorf("measure %s listed but not in InForce", m.Measure)
		}
	}
	n := 0
	for _, m := range pol.Measures {
		if st.InForce.Has(m.Index()) {
			n++
		}
	}
	if got, want := n, len(st.Measures); got != want {
		t.Errorf("InForce has %d measures, state lists %d", got, want)
	}
	for id, status := range w.status {
		rs := st.Record(id)
		if rs == nil {
			t.Errorf("record %d: absent, want %s", id, status)
			continue
		}
		if got := rs.Status; got != status {
			t.Errorf("record %d: status = %s, want %s", id, got, status)
		}
	}
	if got, want := st.Next, w.next; !got.Equal(want) {
		t.Errorf("next change = %v, want %v", got, want)
	}
	if w.extra != nil {
		w.extra(t, st)
	}
}

func checkListing(t *testing.T, st *engine.State, list string, since, until time.Time, untilFulfilled bool, records ...int64) {
	t.Helper()
	li := st.Listing(list)
	if li == nil {
		t.Fatalf("not on %s", list)
	}
	if !li.Since.Equal(since) {
		t.Errorf("%s: since = %v, want %v", list, li.Since, since)
	}
	if !li.Until.Equal(until) {
		t.Errorf("%s: until = %v, want %v", list, li.Until, until)
	}
	if got, want := li.UntilFulfilled, untilFulfilled; got != want {
		t.Errorf("%s: until_fulfilled = %v, want %v", list, got, want)
	}
	if got, want := fmt.Sprint(li.Records), fmt.Sprint(records); got != want {
		t.Errorf("%s: records = %s, want %s", list, got, want)
	}
}

// Statuses, spelled out so that the table reads as the design does.
const (
	active    = engine.StatusActive
	expired   = engine.StatusExpired
	revoked   = engine.StatusRevoked
	fulfilled = engine.StatusFulfilled
	repaired  = engine.StatusRepaired
	disputed  = engine.StatusDisputed
	suspended = engine.StatusSuspended
)

// Measure sets that recur: what a listing on each list brings in force.
var (
	debtorMeasures = []string{"flight-ban", "rail-class-limit", "internet-debt-cap", "bike-ban"}
	fakeMeasures   = []string{"internet-ban", "procurement-ban", "subsidy-ban"}
)

// TestEvaluate covers the engine semantics of docs/design.md §4, one named case
// each. All dates are midnight in Asia/Shanghai unless a clock time is given.
func TestEvaluate(t *testing.T) {
	pol := testPolicy(t)
	noon := func(t time.Time) time.Time { return t.Add(12 * time.Hour) }
	orgFake := func(t *testing.T) *engine.Facts {
		// The company is listed on fake-goods from 2026-03-01 to 2028-03-01.
		return subjectFacts(t, org, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)))
	}

	tests := []struct {
		name  string
		facts func(t *testing.T) *engine.Facts
		at    time.Time
		known time.Time // zero: known = at (an everyday query)
		want  want
	}{
		{
			// LATE_UTILITY: -20 for 6mo from 2026-03-01, so until 2026-09-01.
			name: "lifetime end: counts until it ends",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("LATE_UTILITY", day(2026, 3, 1), day(2026, 3, 2)))
			},
			at: noon(day(2026, 8, 31)),
			want: want{scores: map[string]int{"civic": 980, "licence": 12}, tiers: map[string]string{"civic": "A"},
				status: map[int64]string{2: active}, next: day(2026, 9, 1)},
		},
		{
			name: "lifetime end",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("LATE_UTILITY", day(2026, 3, 1), day(2026, 3, 2)))
			},
			at:   day(2026, 9, 1),
			want: want{scores: map[string]int{"civic": 1000}, points: map[int64]int{}, status: map[int64]string{2: expired}},
		},
		{
			// 1 point per hour, at most 50 in any year: 30 + 30 (capped to
			// 20: 30 already in the window) + 10 (capped to 0: 50 in the
			// window since 2025-12-01). 1000 + 50 = 1050 = AAA, which grants
			// deposit-free bikes. First lifetime end: 2027-02-01.
			name: "cap per window",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("VOLUNTEER_SERVICE", day(2026, 2, 1), day(2026, 2, 1), quantity(30)),
					file("VOLUNTEER_SERVICE", day(2026, 5, 1), day(2026, 5, 1), quantity(30)),
					file("VOLUNTEER_SERVICE", day(2026, 12, 1), day(2026, 12, 1), quantity(10)))
			},
			at: day(2027, 1, 15),
			want: want{scores: map[string]int{"civic": 1050}, tiers: map[string]string{"civic": "AAA"},
				points: map[int64]int{2: 30, 3: 20, 4: 0}, measures: []string{"deposit-free-bikes"},
				status: map[int64]string{2: active, 3: active, 4: active}, next: day(2027, 2, 1),
				extra: func(t *testing.T, st *engine.State) {
					for _, c := range st.Scheme("civic").Contributions {
						if got, want := c.Capped, c.RecordID != 2; got != want {
							t.Errorf("record %d: capped = %v, want %v", c.RecordID, got, want)
						}
					}
				}},
		},
		{
			// An absurd quantity (a filing error) is still worth at most
			// the cap, not whatever an out-of-range float conversion gives;
			// a quantity that is not a number is worth nothing.
			name: "cap per window: a quantity out of range",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("VOLUNTEER_SERVICE", day(2026, 2, 1), day(2026, 2, 1), quantity(1e300)),
					file("VOLUNTEER_SERVICE", day(2026, 3, 1), day(2026, 3, 1), quantity(math.NaN())))
			},
			at: day(2026, 4, 1),
			want: want{scores: map[string]int{"civic": 1050}, points: map[int64]int{2: 50, 3: 0}, measures: []string{"deposit-free-bikes"},
				next: day(2027, 2, 1)},
		},
		{
			// Half an hour rounds away from zero: 2.5 hours is 3 points.
			name: "per unit rounding",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("VOLUNTEER_SERVICE", day(2026, 2, 1), day(2026, 2, 1), quantity(2.5)))
			},
			at:   day(2026, 4, 1),
			want: want{scores: map[string]int{"civic": 1003}, points: map[int64]int{2: 3}, next: day(2027, 2, 1)},
		},
		{
			// 1000 + 150 + 150 = 1300, clamped to the upper bound 1200.
			name: "clamp to upper bound",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("CIVIC_HONOUR", day(2026, 3, 1), day(2026, 3, 1)),
					file("CIVIC_HONOUR", day(2026, 4, 1), day(2026, 4, 1)))
			},
			at: day(2026, 5, 1),
			want: want{scores: map[string]int{"civic": 1200}, tiers: map[string]string{"civic": "AAA"},
				points: map[int64]int{2: 150, 3: 150}, measures: []string{"deposit-free-bikes"}, next: day(2028, 3, 1)},
		},
		{
			// Licence 12 - 3*6 = -6, clamped to 0: tier LOST, derived list
			// licence-lost, driving ban. First lifetime end 2027-03-01.
			name: "clamp to lower bound",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob,
					file("SPEEDING", day(2026, 3, 1), day(2026, 3, 1)),
					file("SPEEDING", day(2026, 4, 1), day(2026, 4, 1)),
					file("SPEEDING", day(2026, 5, 1), day(2026, 5, 1)))
			},
			at: day(2026, 6, 1),
			want: want{scores: map[string]int{"licence": 0}, tiers: map[string]string{"licence": "LOST"},
				unscored: map[string]string{"civic": "no_consent"}, lists: []string{"licence-lost"},
				measures: []string{"driving-ban"}, next: day(2027, 3, 1)},
		},
		{
			// No consent: no civic score, but the listing (2026-03-01 to
			// 2028-03-01) and its sanctions apply.
			name: "consent missing",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)))
			},
			at: day(2026, 6, 1),
			want: want{scores: map[string]int{"licence": 12}, unscored: map[string]string{"civic": "no_consent"},
				lists: []string{"fake-goods"}, measures: fakeMeasures,
				status: map[int64]string{1: active}, next: day(2028, 3, 1)},
		},
		{
			// Consent withdrawn on 2026-06-01 (known by 06-15): the next
			// change at 05-01 is the withdrawal.
			name: "consent given then withdrawn: scored while given",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("LATE_UTILITY", day(2026, 3, 1), day(2026, 3, 1)),
					consent("civic", day(2026, 6, 1), false))
			},
			at: day(2026, 5, 1), known: day(2026, 6, 15),
			want: want{scores: map[string]int{"civic": 980}, next: day(2026, 6, 1)},
		},
		{
			name: "consent given then withdrawn",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("LATE_UTILITY", day(2026, 3, 1), day(2026, 3, 1)),
					consent("civic", day(2026, 6, 1), false))
			},
			at: day(2026, 6, 15),
			want: want{scores: map[string]int{"licence": 12}, unscored: map[string]string{"civic": "no_consent"},
				status: map[int64]string{2: active}, next: day(2026, 9, 1)},
		},
		{
			// A 14-year-old: never listed, not scored in civic (min_age
			// 18) although she consented, still scored in licence. The
			// record is on file and counts its lifetime (to 2029-03-01).
			name: "minor",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, minor, consent("civic", day(2026, 1, 1), true),
					file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)))
			},
			at: day(2026, 6, 1),
			want: want{scores: map[string]int{"licence": 12}, unscored: map[string]string{"civic": "under_min_age"},
				status: map[int64]string{2: active}, next: day(2029, 3, 1)},
		},
		{
			// The same events for an adult: listed, scored 1000 - 30.
			name: "minor: an adult would be listed",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)))
			},
			at: day(2026, 6, 1),
			want: want{scores: map[string]int{"civic": 970, "licence": 12}, lists: []string{"fake-goods"},
				measures: fakeMeasures, status: map[int64]string{2: active}, next: day(2028, 3, 1)},
		},
		{
			// Nothing changes for her until her 18th birthday.
			name: "minor: 18th birthday",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, minor, consent("civic", day(2026, 1, 1), true))
			},
			at:   day(2026, 6, 1),
			want: want{unscored: map[string]string{"civic": "under_min_age"}, next: day(2030, 3, 10)},
		},
		{
			name: "minor: scored from the 18th birthday",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, minor, consent("civic", day(2026, 1, 1), true))
			},
			at:   day(2030, 3, 10),
			want: want{scores: map[string]int{"civic": 1000}, tiers: map[string]string{"civic": "A"}},
		},
		{
			// Decided when she was 17: not listed even once she is 18,
			// although the listing period (to 2031-12-01) is still running.
			name: "minor at decision stays unlisted as an adult",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, minor, file("FAKE_GOODS", day(2029, 12, 1), day(2029, 12, 1)))
			},
			at:   day(2030, 6, 1),
			want: want{unscored: map[string]string{"civic": "no_consent"}, status: map[int64]string{1: active}, next: day(2032, 12, 1)},
		},
		{
			// Filed 2026-03-05, no earlier notice: listed from 03-15.
			name: "notice pending",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 5)))
			},
			at:   day(2026, 3, 10),
			want: want{status: map[int64]string{1: active}, next: day(2026, 3, 15)},
		},
		{
			name: "notice ended",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 5)))
			},
			at: day(2026, 3, 15),
			want: want{lists: []string{"dishonest-debtors"}, measures: debtorMeasures, next: day(2028, 3, 1),
				extra: func(t *testing.T, st *engine.State) {
					checkListing(t, st, "dishonest-debtors", day(2026, 3, 15), day(2028, 3, 1), false, 1)
				}},
		},
		{
			// Served by the court on 2026-03-02: listed from 03-12.
			name: "notice shortened by an earlier notified_at",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 5), notified(day(2026, 3, 2))))
			},
			at: day(2026, 3, 12),
			want: want{lists: []string{"dishonest-debtors"}, measures: debtorMeasures, next: day(2028, 3, 1),
				extra: func(t *testing.T, st *engine.State) {
					checkListing(t, st, "dishonest-debtors", day(2026, 3, 12), day(2028, 3, 1), false, 1)
				}},
		},
		{
			name: "notice shortened by an earlier notified_at: not before",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 5), notified(day(2026, 3, 2))))
			},
			at:   day(2026, 3, 12).Add(-time.Second),
			want: want{next: day(2026, 3, 12)},
		},
		{
			// JUDGMENT_DEFAULT: listed from 03-11 (notice) until fulfilled,
			// at most 2y (2028-03-01); -30 while it counts.
			name: "until_fulfilled: listed until fulfilled",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("JUDGMENT_DEFAULT", day(2026, 3, 1), day(2026, 3, 1)),
					fulfil(2, day(2026, 7, 1)))
			},
			at: day(2026, 6, 30),
			want: want{scores: map[string]int{"civic": 970}, lists: []string{"dishonest-debtors"}, measures: debtorMeasures,
				status: map[int64]string{2: active}, next: day(2028, 3, 1),
				extra: func(t *testing.T, st *engine.State) {
					checkListing(t, st, "dishonest-debtors", day(2026, 3, 11), day(2028, 3, 1), true, 2)
				}},
		},
		{
			name: "until_fulfilled then fulfilled",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("JUDGMENT_DEFAULT", day(2026, 3, 1), day(2026, 3, 1)),
					fulfil(2, day(2026, 7, 1)))
			},
			at:   day(2026, 7, 1),
			want: want{scores: map[string]int{"civic": 1000}, status: map[int64]string{2: fulfilled}},
		},
		{
			// Never fulfilled: off the list at the 2y maximum; the record
			// still counts for points until its 3y lifetime ends.
			name: "until_fulfilled reaching its max",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("JUDGMENT_DEFAULT", day(2026, 3, 1), day(2026, 3, 1)))
			},
			at:   day(2028, 3, 1),
			want: want{scores: map[string]int{"civic": 970}, status: map[int64]string{2: active}, next: day(2029, 3, 1)},
		},
		{
			name: "revoked: effects stand before the revocation",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 1)),
					revoke(2, day(2026, 6, 1)))
			},
			at: day(2026, 5, 31), known: day(2026, 6, 2),
			want: want{scores: map[string]int{"civic": 950}, tiers: map[string]string{"civic": "B"},
				lists: []string{"dishonest-debtors"}, measures: debtorMeasures,
				status: map[int64]string{2: active}, next: day(2026, 6, 1)},
		},
		{
			name: "revoked",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 1)),
					revoke(2, day(2026, 6, 1)))
			},
			at:   day(2026, 6, 1),
			want: want{scores: map[string]int{"civic": 1000}, status: map[int64]string{2: revoked}},
		},
		{
			// Void ab initio: as known after the correction, the record
			// never had effect, even at an instant before it.
			name: "revoked void_ab_initio",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 1)),
					void(2, day(2026, 6, 1)))
			},
			at: day(2026, 5, 31), known: day(2026, 6, 2),
			want: want{scores: map[string]int{"civic": 1000}, status: map[int64]string{2: revoked}},
		},
		{
			name: "revoked void_ab_initio: as known before the correction",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 1)),
					void(2, day(2026, 6, 1)))
			},
			at: day(2026, 5, 31),
			want: want{scores: map[string]int{"civic": 950}, lists: []string{"dishonest-debtors"}, measures: debtorMeasures,
				status: map[int64]string{2: active}, next: day(2028, 3, 1)},
		},
		{
			name: "repaired: effects stand before the repair",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)),
					repair(2, day(2027, 3, 15)))
			},
			at: day(2027, 3, 14), known: day(2027, 3, 16),
			want: want{scores: map[string]int{"civic": 970}, lists: []string{"fake-goods"}, measures: fakeMeasures,
				status: map[int64]string{2: active}, next: day(2027, 3, 15),
				extra: func(t *testing.T, st *engine.State) {
					if got, want := st.Record(2).RepairFrom, day(2027, 3, 1); !got.Equal(want) {
						t.Errorf("repair from = %v, want %v", got, want)
					}
				}},
		},
		{
			name: "repaired",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)),
					repair(2, day(2027, 3, 15)))
			},
			at:   day(2027, 3, 15),
			want: want{scores: map[string]int{"civic": 1000}, status: map[int64]string{2: repaired}},
		},
		{
			// dishonest-debtors stays in force during an objection; the
			// review deadline is 15d after 04-01.
			name: "dispute in_force",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 1)),
					dispute(1, day(2026, 4, 1)))
			},
			at: day(2026, 4, 5),
			want: want{lists: []string{"dishonest-debtors"}, measures: debtorMeasures,
				status: map[int64]string{1: disputed}, next: day(2026, 4, 16),
				extra: func(t *testing.T, st *engine.State) {
					if got, want := st.Record(1).DisputeDeadline, day(2026, 4, 16); !got.Equal(want) {
						t.Errorf("dispute deadline = %v, want %v", got, want)
					}
				}},
		},
		{
			// fake-goods is suspended during an objection.
			name: "dispute suspended",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)),
					dispute(1, day(2026, 4, 1)))
			},
			at:   day(2026, 4, 5),
			want: want{status: map[int64]string{1: disputed}, next: day(2026, 4, 16)},
		},
		{
			name: "dispute suspended: upheld restores the listing",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)),
					dispute(1, day(2026, 4, 1)), decide(2, 1, day(2026, 4, 10), credo.OutcomeUpheld))
			},
			at: day(2026, 4, 12),
			want: want{lists: []string{"fake-goods"}, measures: fakeMeasures,
				status: map[int64]string{1: active}, next: day(2028, 3, 1)},
		},
		{
			// POLLUTION (polluters, strict procedure: review 20d, overdue
			// suspends): in force during the objection until 04-21.
			name: "overdue: in force until the deadline",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("POLLUTION", day(2026, 3, 1), day(2026, 3, 1)),
					dispute(2, day(2026, 4, 1)))
			},
			at: day(2026, 4, 20),
			want: want{scores: map[string]int{"civic": 980}, lists: []string{"polluters"}, measures: []string{"subsidy-ban"},
				status: map[int64]string{2: disputed}, next: day(2026, 4, 21)},
		},
		{
			// Past the deadline without a decision: all effects suspended;
			// the listing period still ends on 2027-03-01.
			name: "overdue",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("POLLUTION", day(2026, 3, 1), day(2026, 3, 1)),
					dispute(2, day(2026, 4, 1)))
			},
			at: day(2026, 4, 25),
			want: want{scores: map[string]int{"civic": 1000}, points: map[int64]int{},
				status: map[int64]string{2: suspended}, next: day(2027, 3, 1),
				extra: func(t *testing.T, st *engine.State) {
					if !st.Record(2).Overdue {
						t.Error("record not overdue")
					}
				}},
		},
		{
			name: "overdue: decided upheld restores the effects",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("POLLUTION", day(2026, 3, 1), day(2026, 3, 1)),
					dispute(2, day(2026, 4, 1)), decide(3, 2, day(2026, 5, 1), credo.OutcomeUpheld))
			},
			at: day(2026, 5, 2),
			want: want{scores: map[string]int{"civic": 980}, lists: []string{"polluters"}, measures: []string{"subsidy-ban"},
				status: map[int64]string{2: active}, next: day(2027, 3, 1)},
		},
		{
			// Replayed with the late decision known, the overdue weeks
			// stay suspended.
			name: "overdue: suspended while overdue, as known later",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("POLLUTION", day(2026, 3, 1), day(2026, 3, 1)),
					dispute(2, day(2026, 4, 1)), decide(3, 2, day(2026, 5, 1), credo.OutcomeUpheld))
			},
			at: day(2026, 4, 25), known: day(2026, 5, 2),
			want: want{scores: map[string]int{"civic": 1000}, status: map[int64]string{2: suspended}, next: day(2026, 5, 1)},
		},
		{
			name: "overdue: decided revoked ends the effects",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("POLLUTION", day(2026, 3, 1), day(2026, 3, 1)),
					dispute(2, day(2026, 4, 1)), decide(3, 2, day(2026, 5, 1), credo.OutcomeRevoked))
			},
			at:   day(2026, 5, 2),
			want: want{scores: map[string]int{"civic": 1000}, status: map[int64]string{2: revoked}},
		},
		{
			// The objection showed the record wrong: as known after the
			// decision it never had effect, not even before it.
			name: "overdue: decided revoked voids the record",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("POLLUTION", day(2026, 3, 1), day(2026, 3, 1)),
					dispute(2, day(2026, 4, 1)), decide(3, 2, day(2026, 5, 1), credo.OutcomeRevoked))
			},
			at: day(2026, 3, 15), known: day(2026, 5, 2),
			want: want{scores: map[string]int{"civic": 1000}, status: map[int64]string{2: revoked}},
		},
		{
			// The default procedure says in_force: an overdue objection
			// leaves the listing in force, flagged overdue.
			name: "overdue under an in_force procedure",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 1)),
					dispute(1, day(2026, 4, 1)))
			},
			at: day(2026, 4, 20),
			want: want{lists: []string{"dishonest-debtors"}, measures: debtorMeasures,
				status: map[int64]string{1: disputed}, next: day(2028, 3, 1),
				extra: func(t *testing.T, st *engine.State) {
					if !st.Record(1).Overdue {
						t.Error("record not overdue")
					}
				}},
		},
		{
			// 1000 - 320 = 680 < 700: tier D, derived list low-credit.
			name: "derived list",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("PYRAMID_SELLING", day(2026, 3, 1), day(2026, 3, 1)))
			},
			at: day(2026, 4, 1),
			want: want{scores: map[string]int{"civic": 680}, tiers: map[string]string{"civic": "D"},
				lists: []string{"low-credit"}, measures: []string{"internet-low-cap"}, next: day(2027, 3, 1),
				extra: func(t *testing.T, st *engine.State) {
					if li := st.Listing("low-credit"); li == nil || !li.Derived || !li.Until.IsZero() || len(li.Records) != 0 {
						t.Errorf("low-credit listing = %+v, want derived without until or records", li)
					}
				}},
		},
		{
			name: "derived list: left with the score",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
					file("PYRAMID_SELLING", day(2026, 3, 1), day(2026, 3, 1)))
			},
			at:   day(2027, 3, 1),
			want: want{scores: map[string]int{"civic": 1000}, tiers: map[string]string{"civic": "A"}},
		},
		{
			name: "derived list: unscored subjects are not derived",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("PYRAMID_SELLING", day(2026, 3, 1), day(2026, 3, 1)))
			},
			at:   day(2026, 4, 1),
			want: want{unscored: map[string]string{"civic": "no_consent"}, next: day(2027, 3, 1)},
		},
		{
			// The company is on fake-goods; procurement-ban extends to its
			// legal representative, subsidy-ban and internet-ban do not.
			name: "extends_to present",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, link(org, credo.RoleLegalRepresentative, day(2026, 1, 1), time.Time{}), withOrg(orgFake(t)))
			},
			at:   day(2026, 6, 1),
			want: want{measures: []string{"procurement-ban via " + org + " as legal_representative"}, next: day(2028, 3, 1)},
		},
		{
			// The company is on polluters only: subsidy-ban has no
			// extends_to, so nothing reaches the representative.
			name: "extends_to absent",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, link(org, credo.RoleLegalRepresentative, day(2026, 1, 1), time.Time{}),
					withOrg(subjectFacts(t, org, file("POLLUTION", day(2026, 3, 1), day(2026, 3, 1)))))
			},
			at:   day(2026, 6, 1),
			want: want{next: day(2027, 3, 1)},
		},
		{
			name: "extends_to: another role is not reached",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, link(org, credo.RoleActualController, day(2026, 1, 1), time.Time{}), withOrg(orgFake(t)))
			},
			at:   day(2026, 6, 1),
			want: want{next: day(2028, 3, 1)},
		},
		{
			// Principle 9 and docs/domain.md ("punishing children and
			// associates"): minors are never listed, and no sanction
			// reaches them through an organisation either — until their
			// 18th birthday.
			name: "extends_to: never to a minor",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, minor, link(org, credo.RoleLegalRepresentative, day(2026, 1, 1), time.Time{}), withOrg(orgFake(t)))
			},
			at:   day(2026, 6, 1),
			want: want{next: day(2030, 3, 10)},
		},
		{
			name: "extends_to: link ended before",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, link(org, credo.RoleLegalRepresentative, day(2026, 1, 1), day(2026, 5, 1)), withOrg(orgFake(t)))
			},
			at: day(2026, 6, 1),
		},
		{
			name: "extends_to: link starts after",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, link(org, credo.RoleLegalRepresentative, day(2026, 7, 1), time.Time{}), withOrg(orgFake(t)))
			},
			at:   day(2026, 6, 1),
			want: want{next: day(2026, 7, 1)},
		},
		{
			name: "extends_to: link removed",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, link(org, credo.RoleLegalRepresentative, day(2026, 1, 1), time.Time{}),
					unlink(org, credo.RoleLegalRepresentative, day(2026, 5, 1)), withOrg(orgFake(t)))
			},
			at: day(2026, 6, 1),
		},
		{
			// Decided 2026-03-01 but filed only on 2026-06-01.
			name: "known before the record was filed",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 6, 1)))
			},
			at: day(2026, 4, 1), known: day(2026, 5, 1),
			want: want{extra: func(t *testing.T, st *engine.State) {
				if len(st.Records) != 0 {
					t.Errorf("records = %v, want none", st.Records)
				}
			}},
		},
		{
			name: "known after the record was filed",
			facts: func(t *testing.T) *engine.Facts {
				return subjectFacts(t, bob, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 6, 1)))
			},
			at: day(2026, 4, 1), known: day(2026, 7, 1),
			want: want{lists: []string{"fake-goods"}, measures: fakeMeasures, status: map[int64]string{1: active}, next: day(2028, 3, 1)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			known := tc.known
			if known.IsZero() {
				known = tc.at
			}
			st := engine.Evaluate(pol, tc.facts(t), tc.at, known)
			checkState(t, st, tc.want)
		})
	}
}

// TestNextChange checks next_change for the kinds of instant at which a
// state changes by itself.
func TestNextChange(t *testing.T) {
	pol := testPolicy(t)
	// A variant in which civic scores from 16: the 18th birthday, from
	// which a person may be listed, is a next change of its own.
	src := strings.Replace(string(policySrc), "    min_age: 18\n", "    min_age: 16\n", 1)
	at16, err := policy.Parse(policyFile, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pol   *policy.Policy // nil: the test policy
		facts *engine.Facts
		at    time.Time
		want  time.Time
	}{
		// LATE_UTILITY, 6mo from 2026-03-01 10:30.
		{"lifetime end", nil, subjectFacts(t, bob, file("LATE_UTILITY", day(2026, 3, 1).Add(10*time.Hour+30*time.Minute), day(2026, 3, 2))),
			day(2026, 4, 1), day(2026, 9, 1).Add(10*time.Hour + 30*time.Minute)},
		// FAKE_GOODS listed 2y from 2026-03-01; lifetime 3y.
		{"listing period end", nil, subjectFacts(t, bob, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1))),
			day(2026, 4, 1), day(2028, 3, 1)},
		// Filed 2026-03-20 15:00: notice 10d ends 2026-03-30 15:00.
		{"notice end", nil, subjectFacts(t, bob, file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 20).Add(15*time.Hour))),
			day(2026, 3, 21), day(2026, 3, 30).Add(15 * time.Hour)},
		// Objection on 2026-04-01 to a fake-goods record: review 15d.
		{"dispute deadline", nil, subjectFacts(t, bob, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)), dispute(1, day(2026, 4, 1))),
			day(2026, 4, 2), day(2026, 4, 16)},
		// Objection to a polluters record: the strict profile's 20d.
		{"dispute deadline of a profile", nil, subjectFacts(t, bob, file("POLLUTION", day(2026, 3, 1), day(2026, 3, 1)), dispute(1, day(2026, 4, 1))),
			day(2026, 4, 2), day(2026, 4, 21)},
		// Born 2012-03-10: 18 on 2030-03-10 at midnight in Shanghai.
		{"18th birthday", nil, subjectFacts(t, minor), day(2026, 6, 1), day(2030, 3, 10)},
		// Decided in the future: the record starts counting then.
		{"decision date", nil, subjectFacts(t, bob, file("LATE_UTILITY", day(2026, 5, 1), day(2026, 4, 1))),
			day(2026, 4, 15), day(2026, 5, 1)},
		// Expired on 2026-09-01; a revocation known in advance takes
		// effect on 2026-10-01, when its status turns revoked.
		{"revocation of an expired record", nil, subjectFacts(t, bob, file("LATE_UTILITY", day(2026, 3, 1), day(2026, 3, 1)),
			change(credo.EventRecordRevoked, 1, day(2026, 10, 1), day(2026, 6, 1), false)),
			day(2026, 9, 15), day(2026, 10, 1)},
		{"nothing pending", nil, subjectFacts(t, alice), day(2026, 6, 1), time.Time{}},
		{"16th birthday under a min_age of 16", at16, subjectFacts(t, minor), day(2026, 6, 1), day(2028, 3, 10)},
		{"18th birthday under a min_age of 16", at16, subjectFacts(t, minor), day(2028, 6, 1), day(2030, 3, 10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pol
			if tc.pol != nil {
				p = tc.pol
			}
			st := engine.Evaluate(p, tc.facts, tc.at, tc.at)
			if got, want := st.Next, tc.want; !got.Equal(want) {
				t.Errorf("next change = %v, want %v", got, want)
			}
		})
	}
}
