package registry_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/policies"
	"credo/policy"
	"credo/registry"
)

// openExample opens a registry with the example Beijing policy published.
func openExample(t *testing.T, c *clock) *registry.Registry {
	t.Helper()
	_, reg := openNoticeStore(t, c, filepath.Join(t.TempDir(), "g.db"))
	if _, _, err := reg.Publish(context.Background(), "beijing.yaml", policies.Beijing, time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	return reg
}

func fileOne(t *testing.T, reg *registry.Registry, rec *credo.Record) *credo.Notice {
	t.Helper()
	ctx := context.Background()
	if rec.EvidenceSHA256 == "" {
		rec.EvidenceSHA256 = evidence
	}
	res, err := reg.FileRecord(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	rec.ID = res.Record.ID
	for _, ev := range noticesOf(t, reg, rec.Subject) {
		if ev.Notice.RecordID == res.Record.ID {
			return ev.Notice
		}
	}
	return nil
}

func giveConsent(t *testing.T, reg *registry.Registry, subject, scheme string, at time.Time) {
	t.Helper()
	if _, err := reg.Store().Append(context.Background(), []*credo.Event{{Type: credo.EventConsentGiven, Subject: subject, Actor: "subject",
		Consent: &credo.Consent{Scheme: scheme, At: at, Given: true}}}); err != nil {
		t.Fatal(err)
	}
}

// TestG01MinorNoticeMatchesEngine: the notice of a record decided while
// the subject was a minor says it lists them nowhere and changes none of
// their points, now or once they are 18; the engine does exactly that,
// including through the score-derived list (dog-licence-revoked) that a
// lost dog licence would bring.
func TestG01MinorNoticeMatchesEngine(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := openExample(t, c)
	ctx := context.Background()
	teen := ric("11010520080901003") // 18 on 2026-09-01
	decided := time.Date(2026, 5, 20, 0, 0, 0, 0, shanghai)
	n := fileOne(t, reg, &credo.Record{Subject: teen, Rule: "DOG_BITE", Authority: "police.beijing.dogs", CaseRef: "(2026)D1", DecidedAt: decided})
	if n == nil {
		t.Fatal("no notice")
	}
	if !n.Minor || len(n.Lists) != 0 || len(n.Points) != 0 {
		t.Errorf("notice minor=%v lists %+v points %+v, want a minor's, with neither", n.Minor, n.Lists, n.Points)
	}
	for _, want := range []string{"puts you on no list and changes none of your points, now or after you turn 18"} {
		if !strings.Contains(n.Text.EN, want) {
			t.Errorf("notice lacks %q: %s", want, n.Text.EN)
		}
	}
	for _, at := range []time.Time{time.Date(2026, 6, 2, 0, 0, 0, 0, shanghai), time.Date(2026, 9, 1, 0, 0, 0, 0, shanghai), time.Date(2027, 6, 1, 0, 0, 0, 0, shanghai)} {
		c.t = at
		st, err := reg.State(ctx, teen, at, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Listings) != 0 || len(st.Measures) != 0 {
			t.Errorf("%s: listings %+v measures %+v", at.Format(time.DateOnly), st.Listings, st.Measures)
		}
		for _, ss := range st.Schemes {
			if len(ss.Contributions) != 0 {
				t.Errorf("%s: %s contributions %+v", at.Format(time.DateOnly), ss.Scheme, ss.Contributions)
			}
		}
	}
}

// TestG03NoticeStatesWhatEngineApplies: a notice gives one deadline and
// one route per step — the deadlines of the procedure the registry tracks
// — and the points the engine counts, rounded by the same function.
func TestG03NoticeStatesWhatEngineApplies(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := openExample(t, c)
	ctx := context.Background()
	pol, _, err := reg.Policy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	decided := time.Date(2026, 5, 20, 0, 0, 0, 0, shanghai)

	t.Run("one deadline per step", func(t *testing.T) {
		durRE := regexp.MustCompile(`(\d+) (working days?|days?|months?|years?)`)
		for _, rec := range []*credo.Record{
			{Subject: org, Rule: "COUNTERFEITING", Authority: "samr.beijing", CaseRef: "(2026)S1", DecidedAt: decided},
			{Subject: org, Rule: "TAX_EVASION_MAJOR", Authority: "tax.beijing", CaseRef: "(2026)T1", DecidedAt: decided},
			{Subject: adult, Rule: "JUDGMENT_OBSTRUCTION", Authority: "court.beijing.chaoyang", CaseRef: "(2026)C1", DecidedAt: decided},
		} {
			n := fileOne(t, reg, rec)
			if n == nil {
				t.Fatalf("%s: no notice", rec.Rule)
			}
			_, proc := engine.DisputeProcedure(pol, pol.Rule(rec.Rule))
			allowed := map[string]bool{}
			for _, d := range []policy.Duration{proc.Review, proc.Correct, proc.AppealFile, proc.AppealDecide, proc.Extension, pol.Procedures.Repair.Decide} {
				if !d.IsZero() {
					allowed[d.String()] = true
				}
			}
			for _, m := range durRE.FindAllStringSubmatch(n.Text.EN, -1) {
				unit := map[byte]string{'w': "wd", 'd': "d", 'm': "mo", 'y': "y"}[m[2][0]]
				if !allowed[m[1]+unit] {
					t.Errorf("%s: the notice states %q, not a deadline of its procedure %+v: %s", rec.Rule, m[0], proc, n.Text.EN)
				}
			}
			if n.AppealWithin != proc.AppealFile.String() {
				t.Errorf("%s: appeal within %q, procedure %q", rec.Rule, n.AppealWithin, proc.AppealFile)
			}
		}
	})

	t.Run("per-unit points", func(t *testing.T) {
		subject := ric("11010519800101005")
		giveConsent(t, reg, subject, "civic", time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai))
		for i, q := range []float64{0.49999999999999994, 2.5, 7} {
			rec := &credo.Record{Subject: subject, Rule: "VOLUNTEER_SERVICE", Authority: "volunteer.beijing", CaseRef: "(2026)V" + string(rune('1'+i)), DecidedAt: decided, Quantity: q}
			n := fileOne(t, reg, rec)
			noticed := 0
			if n != nil {
				for _, p := range n.Points {
					noticed += p.Points
				}
			}
			st, err := reg.State(ctx, subject, c.t, c.t)
			if err != nil {
				t.Fatal(err)
			}
			counted := 0
			for _, ct := range st.Scheme("civic").Contributions {
				if ct.RecordID == rec.ID {
					counted = ct.Points
				}
			}
			if noticed != counted {
				t.Errorf("quantity %v: the notice says %+d, the engine counts %+d", q, noticed, counted)
			}
		}
	})
}
