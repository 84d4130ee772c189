package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
)

// version derives a policy version from the test policy: OBSTRUCTION costs
// obstruction civic points, and it takes effect at effective.
func version(t *testing.T, obstruction string, effective string, published time.Time) engine.Version {
	t.Helper()
	testPolicy(t)
	src := string(policySrc)
	for _, r := range [][2]string{
		{"points: {civic: -50, corp: -100}", "points: {civic: " + obstruction + ", corp: -100}"},
		{"effective: 2026-01-01T00:00:00+08:00", "effective: " + effective},
	} {
		if strings.Count(src, r[0]) != 1 {
			t.Fatalf("test policy: %q is not unique", r[0])
		}
		src = strings.Replace(src, r[0], r[1], 1)
	}
	pol, err := policy.Parse(policyFile, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return engine.Version{Hash: policy.Hash([]byte(src)), Effective: pol.Effective, Published: published, Policy: pol}
}

// TestPolicyVersions checks that the policy applied is the one in force at
// `at` as published by `known`.
func TestPolicyVersions(t *testing.T) {
	v1 := version(t, "-50", "2026-01-01T00:00:00+08:00", day(2025, 12, 1))
	v1b := version(t, "-55", "2026-01-01T00:00:00+08:00", day(2025, 12, 20)) // republished before it took effect
	v3 := version(t, "-60", "2026-03-01T00:00:00+08:00", day(2026, 8, 1))    // published late, effective earlier
	v2 := version(t, "-80", "2026-07-01T00:00:00+08:00", day(2026, 6, 1))
	e := engine.New(v2, v3, v1b, v1)
	name := map[string]string{v1.Hash: "v1", v1b.Hash: "v1b", v2.Hash: "v2", v3.Hash: "v3"}

	t.Run("PolicyAt", func(t *testing.T) {
		tests := []struct {
			name      string
			at, known time.Time
			want      string // "" for none
		}{
			{"before any version is effective", day(2025, 12, 15), day(2026, 9, 1), ""},
			{"before any version is published", day(2026, 2, 1), day(2025, 11, 1), ""},
			{"same effective time: the earlier publication as known then", day(2026, 2, 1), day(2025, 12, 10), "v1"},
			{"same effective time: the later publication", day(2026, 2, 1), day(2026, 1, 1), "v1b"},
			{"retroactive version not yet published", day(2026, 4, 1), day(2026, 7, 15), "v1b"},
			{"retroactive version once published", day(2026, 4, 1), day(2026, 9, 1), "v3"},
			{"later version not yet published", day(2026, 8, 1), day(2026, 5, 1), "v1b"},
			{"later version published", day(2026, 8, 1), day(2026, 9, 1), "v2"},
			{"effective at that very instant", day(2026, 7, 1), day(2026, 9, 1), "v2"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				v, ok := e.PolicyAt(tc.at, tc.known)
				if got, want := ok, tc.want != ""; got != want {
					t.Fatalf("ok = %v, want %v", got, want)
				}
				if got, want := name[v.Hash], tc.want; ok && got != want {
					t.Errorf("version = %s, want %s", got, want)
				}
			})
		}
	})

	t.Run("State", func(t *testing.T) {
		// OBSTRUCTION decided 2026-03-01; listed 2026-03-11 to 2028-03-01.
		f := subjectFacts(t, bob, consent("civic", day(2026, 1, 1), true),
			file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 1)))
		tests := []struct {
			name      string
			at, known time.Time
			version   string
			score     int
			next      time.Time
		}{
			// v2 takes effect on 2026-07-01, before the listing ends.
			{"as known before the retroactive version", day(2026, 4, 1), day(2026, 7, 15), "v1b", 945, day(2026, 7, 1)},
			{"as known after the retroactive version", day(2026, 4, 1), day(2026, 9, 1), "v3", 940, day(2026, 7, 1)},
			// v2 not yet published: no version change ahead.
			{"before the later version is published", day(2026, 4, 1), day(2026, 5, 1), "v1b", 945, day(2028, 3, 1)},
			{"under the later version", day(2026, 8, 1), day(2026, 9, 1), "v2", 920, day(2028, 3, 1)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				st, err := e.State(f, tc.at, tc.known)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := name[st.Policy], tc.version; got != want {
					t.Errorf("policy = %s, want %s", got, want)
				}
				if got, want := st.Scheme("civic").Score, tc.score; got != want {
					t.Errorf("civic score = %d, want %d", got, want)
				}
				if got, want := st.Next, tc.next; !got.Equal(want) {
					t.Errorf("next change = %v, want %v", got, want)
				}
				if got, want := st.Decide("aviation").Policy, st.Policy; got != want {
					t.Errorf("decision policy = %s, want %s", got, want)
				}
			})
		}
		t.Run("no policy in force", func(t *testing.T) {
			_, err := e.State(f, day(2025, 12, 15), day(2026, 9, 1))
			var ce *credo.Error
			// An instant before any policy took effect is invalid input,
			// named by its field (400 in the API), not a missing resource.
			if !errors.As(err, &ce) || ce.Code != credo.EINVALID || ce.Field != "at" {
				t.Errorf("err = %v, want EINVALID on at", err)
			}
		})
	})
}
