package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/registry"
	"credo/sqlite"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func open(t *testing.T, c *clock) *registry.Registry {
	t.Helper()
	st, err := sqlite.OpenOptions(filepath.Join(t.TempDir(), "r.db"), sqlite.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	reg, err := registry.Open(ctx, st, registry.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "policy.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return reg
}

func ric(first17 string) string {
	c, err := ident.RICCheck(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

const evidence = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

var (
	adult = ric("11010519800101001") // born 1980
	minor = ric("11010520150601002") // born 2015
	org   = "914403001922038216"
)

func judgment(subject, caseRef string, decided time.Time) *credo.Record {
	return &credo.Record{Subject: subject, Rule: "JUDGMENT_DEFAULT", Authority: "court.test", CaseRef: caseRef, DecidedAt: decided, EvidenceSHA256: evidence}
}

func TestFilingRefusals(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)
	for _, tc := range []struct {
		name  string
		edit  func(r *credo.Record)
		code  string
		field string
		msg   string
	}{
		{"authority may not file the rule", func(r *credo.Record) { r.Authority = "utility.water" }, credo.EFORBIDDEN, "authority", "may not file rule JUDGMENT_DEFAULT"},
		{"rule does not apply to the subject kind", func(r *credo.Record) {
			r.Subject, r.Rule, r.Authority, r.Quantity = org, "LATE_UTILITY", "utility.water", 1
		}, credo.EINVALID, "rule", "applies to person, not to a org"},
		{"invalid identifier", func(r *credo.Record) { r.Subject = "110105198001010019" }, credo.EINVALID, "subject", "check character"},
		{"evidence digest missing", func(r *credo.Record) { r.EvidenceSHA256 = "" }, credo.EINVALID, "evidence_sha256", "is required"},
		{"evidence digest malformed", func(r *credo.Record) { r.EvidenceSHA256 = "xyz" }, credo.EINVALID, "evidence_sha256", "64 hexadecimal"},
		{"unknown rule", func(r *credo.Record) { r.Rule = "NOPE" }, credo.EINVALID, "rule", "unknown rule"},
		{"decided in the future", func(r *credo.Record) { r.DecidedAt = c.t.Add(time.Hour) }, credo.EINVALID, "decided_at", "in the future"},
		{"per-unit rule without quantity", func(r *credo.Record) { r.Rule, r.Authority = "LATE_UTILITY", "utility.water" }, credo.EINVALID, "quantity", "positive quantity"},
		{"case reference missing", func(r *credo.Record) { r.CaseRef = " " }, credo.EINVALID, "case_ref", "is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := judgment(adult, "C-"+tc.name, decided)
			tc.edit(r)
			_, err := reg.FileRecord(ctx, r)
			if got := credo.ErrorCode(err); got != tc.code {
				t.Fatalf("code %q, want %q (%v)", got, tc.code, err)
			}
			var e *credo.Error
			if !asErr(err, &e) || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("error %v: want field %q and message containing %q", err, tc.field, tc.msg)
			}
		})
	}
	t.Run("nothing filed by refusals", func(t *testing.T) {
		seq, _, err := reg.Store().Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if seq != 1 { // the policy publication only
			t.Errorf("head seq %d, want 1", seq)
		}
	})
}

func TestCheckFollowsFiling(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	d, err := reg.Check(ctx, adult, "aviation")
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != engine.Allow {
		t.Fatalf("before filing: %s", d.Decision)
	}
	res, err := reg.FileRecord(ctx, judgment(adult, "(2026)J1", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created {
		t.Fatal("not created")
	}
	d, err = reg.Check(ctx, adult, "aviation")
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != engine.Deny || len(d.Reasons) != 1 || d.Reasons[0].Code != "flight-ban" {
		t.Fatalf("after filing: %+v", d)
	}
	if got, want := d.Reasons[0].Records, []int64{res.Record.ID}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("reason records %v, want %v", got, want)
	}
	t.Run("idempotent re-file", func(t *testing.T) {
		again, err := reg.FileRecord(ctx, judgment(adult, "(2026)J1", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)))
		if err != nil {
			t.Fatal(err)
		}
		if again.Created || again.Record.ID != res.Record.ID {
			t.Errorf("re-file: created %v id %d, want the original %d", again.Created, again.Record.ID, res.Record.ID)
		}
	})
	t.Run("conflict", func(t *testing.T) {
		_, err := reg.FileRecord(ctx, judgment(adult, "(2026)J1", time.Date(2026, 5, 2, 0, 0, 0, 0, shanghai)))
		if credo.ErrorCode(err) != credo.ECONFLICT {
			t.Errorf("err %v, want conflict", err)
		}
	})
	t.Run("minor never listed", func(t *testing.T) {
		if _, err := reg.FileRecord(ctx, judgment(minor, "(2026)J2", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
			t.Fatal(err)
		}
		d, err := reg.Check(ctx, minor, "aviation")
		if err != nil {
			t.Fatal(err)
		}
		if d.Decision != engine.Allow {
			t.Errorf("minor: %s", d.Decision)
		}
	})
	t.Run("fulfilment lifts the ban", func(t *testing.T) {
		filed := c.t
		c.t = c.t.Add(time.Hour)
		if _, err := reg.ChangeRecord(ctx, credo.EventRecordFulfilled, res.Record.ID, time.Time{}, "court.test", "paid", false); err != nil {
			t.Fatal(err)
		}
		d, err := reg.Check(ctx, adult, "aviation")
		if err != nil {
			t.Fatal(err)
		}
		if d.Decision != engine.Allow {
			t.Errorf("after fulfilment: %s", d.Decision)
		}
		// The decision as known before the fulfilment is still a deny.
		before := filed.Add(time.Minute)
		d, err = reg.Explain(ctx, adult, "aviation", before, before)
		if err != nil {
			t.Fatal(err)
		}
		if d.Decision != engine.Deny {
			t.Errorf("replayed before fulfilment: %s", d.Decision)
		}
	})
}

func TestExtendsToLinkedPerson(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	if _, err := reg.Append(ctx, &credo.Event{Type: credo.EventLinkAdded, Subject: org, Actor: "admin",
		Link: &credo.Link{Org: org, Person: adult, Role: credo.RoleLegalRepresentative, From: time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.FileRecord(ctx, judgment(org, "(2026)J9", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	// flight-ban extends to the legal representative; rail-ban does not.
	for sector, want := range map[string]string{"aviation": engine.Deny, "rail": engine.Allow} {
		d, err := reg.Check(ctx, adult, sector)
		if err != nil {
			t.Fatal(err)
		}
		if d.Decision != want {
			t.Errorf("%s: %s, want %s", sector, d.Decision, want)
		}
		if want == engine.Deny && (len(d.Reasons) != 1 || d.Reasons[0].Via != org) {
			t.Errorf("%s: reasons %+v, want one via %s", sector, d.Reasons, org)
		}
	}
}

func TestRepairBeforeMinimum(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	res, err := reg.FileRecord(ctx, judgment(adult, "(2026)J3", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = reg.ChangeRecord(ctx, credo.EventRepairApproved, res.Record.ID, time.Time{}, "court.test", "", false)
	if credo.ErrorCode(err) != credo.ECONFLICT || !strings.Contains(err.Error(), "possible from 2027-05-01") {
		t.Fatalf("err %v, want a refusal naming 2027-05-01", err)
	}
	c.t = time.Date(2027, 5, 2, 9, 0, 0, 0, shanghai)
	if _, err := reg.ChangeRecord(ctx, credo.EventRepairApproved, res.Record.ID, time.Time{}, "court.test", "", false); err != nil {
		t.Fatal(err)
	}
	st, err := reg.State(ctx, adult, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Record(res.Record.ID).Status; got != engine.StatusRepaired {
		t.Errorf("status %s, want repaired", got)
	}
}

func TestPublishNewVersion(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	if _, err := reg.FileRecord(ctx, judgment(adult, "(2026)J4", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	// A new version, effective in a week, that no longer bans flights.
	v2 := strings.Replace(string(src), "- {id: flight-ban, sector: aviation, effect: deny", "- {id: flight-ban, sector: aviation, effect: grant", 1)
	v2 = strings.Replace(v2, ", extends_to: [legal_representative]}", "}", 1)
	eff := c.t.Add(7 * 24 * time.Hour)
	if _, _, err := reg.Publish(ctx, "v2.yaml", []byte(v2), eff); err != nil {
		t.Fatal(err)
	}
	d, _ := reg.Check(ctx, adult, "aviation")
	if d.Decision != engine.Deny {
		t.Errorf("before v2 takes effect: %s", d.Decision)
	}
	c.t = eff.Add(time.Minute)
	d, err := reg.Check(ctx, adult, "aviation")
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != engine.Allow {
		t.Errorf("after v2 takes effect: %s", d.Decision)
	}
	pvs, _ := reg.Store().Policies(ctx)
	if len(pvs) != 2 {
		t.Errorf("%d versions kept, want 2", len(pvs))
	}
}

// TestCheckWithoutTable checks that a registry opened without a decision
// table (one-shot tools) gives the same decisions as one with a table.
func TestCheckWithoutTable(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	if _, err := reg.FileRecord(ctx, judgment(adult, "(2026)J5", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	lean, err := registry.Open(ctx, reg.Store(), registry.Options{Now: c.now, NoTable: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{adult, minor, org} {
		for _, sector := range []string{"aviation", "rail", "internet"} {
			want, err := reg.Check(ctx, subject, sector)
			if err != nil {
				t.Fatal(err)
			}
			got, err := lean.Check(ctx, subject, sector)
			if err != nil {
				t.Fatal(err)
			}
			if got.Decision != want.Decision || len(got.Reasons) != len(want.Reasons) {
				t.Errorf("%s %s: without a table %s %v, with one %s %v", subject, sector, got.Decision, got.Reasons, want.Decision, want.Reasons)
			}
		}
	}
	if d, _ := lean.Check(ctx, adult, "aviation"); d.Decision != engine.Deny {
		t.Errorf("the filed judgment does not deny aviation without a table: %s", d.Decision)
	}
}
