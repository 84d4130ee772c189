package registry_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
	"credo/registry"
)

// TestH05Eligibility holds issue 16 item 5: the rules for objecting,
// appealing and applying for repair live in the registry, one function
// that the portal offers from and OpenDispute/ApplyRepair refuse with.
// The dates are worked out by hand from testdata/dueprocess.yaml: the
// judgment rule (court.test, appeal to court.appeal, SPC procedure: appeal
// within 10 days; repair after 1 year), the loan rule (bank.test, no
// appellate authority, PBOC procedure: no appeal; no repair).
func TestH05Eligibility(t *testing.T) {
	src, err := os.ReadFile("testdata/dueprocess.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse("dueprocess.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	decided := at(2026, 3, 2, 10, 0)
	judgment := &credo.Record{ID: 7, Rule: "JUDGMENT_DEFAULT", Authority: "court.test", DecidedAt: decided}
	loan := &credo.Record{ID: 8, Rule: "LOAN_DEFAULT", Authority: "bank.test", DecidedAt: decided}
	unknown := &credo.Record{ID: 9, Rule: "NO_SUCH_RULE", Authority: "court.test", DecidedAt: decided}
	state := func(status string) *engine.RecordState {
		return &engine.RecordState{Status: status, Until: at(2027, 3, 2, 10, 0)}
	}
	objection := func(id int64, state, outcome string, decidedAt time.Time) credo.DisputeView {
		return credo.DisputeView{Dispute: credo.Dispute{ID: id, RecordID: 7, OpenedAt: at(2026, 3, 10, 9, 0)},
			State: state, Outcome: outcome, DecidedAt: decidedAt}
	}
	appeal := func(id int64, state, outcome string) credo.DisputeView {
		d := objection(id, state, outcome, at(2026, 3, 28, 9, 0))
		d.Appeal = true
		return d
	}
	upheld := objection(1, credo.StateDecided, credo.OutcomeUpheld, at(2026, 3, 20, 15, 0))
	pending := credo.RepairView{RepairApplication: credo.RepairApplication{ID: 3, RecordID: 7, AppliedAt: at(2027, 3, 3, 9, 0)}, State: credo.StateOpen}

	type want struct {
		object, appeal, repair, later, pendingRepair bool
		why                                          []string // in the refusals, in order: object, appeal, repair
	}
	cases := []struct {
		name     string
		rec      *credo.Record
		rs       *engine.RecordState
		disputes []credo.DisputeView
		repairs  []credo.RepairView
		now      time.Time
		want     want
	}{
		{"fresh record: object; nothing to appeal; repair in a year", judgment, state(engine.StatusActive), nil, nil, at(2026, 3, 5, 9, 0),
			want{object: true, later: true, why: []string{"", "no decided objection", "possible from 2027-03-02"}}},
		{"open objection: no second one, no appeal", judgment, state(engine.StatusDisputed), []credo.DisputeView{objection(1, credo.StateOpen, "", time.Time{})}, nil, at(2026, 3, 12, 9, 0),
			want{later: true, why: []string{"already has an open dispute", "already has an open dispute", "possible from"}}},
		{"upheld, inside the window: appeal", judgment, state(engine.StatusActive), []credo.DisputeView{upheld}, nil, at(2026, 3, 30, 14, 0),
			want{object: true, appeal: true, later: true}},
		{"upheld, the window's last instant: appeal", judgment, state(engine.StatusActive), []credo.DisputeView{upheld}, nil, at(2026, 3, 30, 15, 0),
			want{object: true, appeal: true, later: true}},
		{"upheld, a second after the window", judgment, state(engine.StatusActive), []credo.DisputeView{upheld}, nil, at(2026, 3, 30, 15, 0).Add(time.Second),
			want{object: true, later: true, why: []string{"", "ended on 2026-03-30 15:00"}}},
		{"upheld and already appealed (the portal offered it again)", judgment, state(engine.StatusActive), []credo.DisputeView{upheld, appeal(2, credo.StateDecided, credo.OutcomeUpheld)}, nil, at(2026, 3, 29, 9, 0),
			want{object: true, later: true, why: []string{"", "already appealed (dispute 2)"}}},
		{"objection decided corrected: nothing to appeal", judgment, state(engine.StatusActive), []credo.DisputeView{objection(1, credo.StateDecided, credo.OutcomeCorrected, at(2026, 3, 20, 15, 0))}, nil, at(2026, 3, 21, 9, 0),
			want{object: true, later: true, why: []string{"", "was decided corrected"}}},
		{"revoked: nothing to dispute or repair", judgment, state(engine.StatusRevoked), []credo.DisputeView{upheld}, nil, at(2026, 3, 21, 9, 0),
			want{why: []string{"revoked", "revoked", "possible from"}}},
		{"a year on: repair", judgment, state(engine.StatusActive), nil, nil, at(2027, 3, 2, 10, 0),
			want{object: true, repair: true}},
		{"repair pending: no second", judgment, state(engine.StatusActive), nil, []credo.RepairView{pending}, at(2027, 3, 4, 9, 0),
			want{object: true, pendingRepair: true, why: []string{"", "", "pending repair application (3"}}},
		{"repaired: no repair", judgment, state(engine.StatusRepaired), nil, nil, at(2027, 4, 1, 9, 0),
			want{object: true, why: []string{"", "", "already repaired"}}},
		{"expired: objection stays open, no repair", judgment, state(engine.StatusExpired), nil, nil, at(2027, 4, 1, 9, 0),
			want{object: true, why: []string{"", "", "ended on 2027-03-02"}}},
		{"a rule without repair under a procedure without appeal", loan, state(engine.StatusActive), []credo.DisputeView{{Dispute: credo.Dispute{ID: 4, RecordID: 8}, State: credo.StateDecided, Outcome: credo.OutcomeUpheld, DecidedAt: at(2026, 3, 20, 15, 0)}}, nil, at(2026, 3, 21, 9, 0),
			want{object: true, why: []string{"", "pboc dispute procedure that governs record 8 provides no appeal", "allows no credit repair"}}},
		{"a rule no longer in the policy", unknown, nil, nil, nil, at(2030, 1, 1, 0, 0),
			want{object: true, why: []string{"", "no decided objection", "not in the policy in force"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := registry.RecordEligibility(pol, c.rec, c.rs, c.disputes, c.repairs, c.now)
			got := want{object: e.Object.Allowed, appeal: e.Appeal.Allowed, repair: e.Repair.Allowed, later: e.Repair.Later, pendingRepair: e.RepairPending}
			if got.object != c.want.object || got.appeal != c.want.appeal || got.repair != c.want.repair || got.later != c.want.later || got.pendingRepair != c.want.pendingRepair {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			for i, s := range []registry.Step{e.Object, e.Appeal, e.Repair} {
				if s.Allowed != (s.Refusal == nil) {
					t.Errorf("step %d: allowed %v with refusal %v", i, s.Allowed, s.Refusal)
				}
				if s.Refusal != nil && credo.ErrorCode(s.Refusal) != credo.ECONFLICT {
					t.Errorf("step %d: refusal %v is not a conflict", i, s.Refusal)
				}
				if i < len(c.want.why) && c.want.why[i] != "" && !strings.Contains(s.Reason(), c.want.why[i]) {
					t.Errorf("step %d: refusal %q, want it to say %q", i, s.Reason(), c.want.why[i])
				}
			}
		})
	}
}

// TestH05EligibilityIsTheGate: the registry's own gates refuse exactly
// what Eligibility refuses, with the same message.
func TestH05EligibilityIsTheGate(t *testing.T) {
	e := newDueEnv(t)
	subject := person(5)
	rec, _ := objectAndUphold(t, e, subject)
	if _, err := e.reg.OpenDispute(e.ctx, rec.ID, "the court ignored my bank statement", "", true, false, registry.ActorSubject); err != nil {
		t.Fatal(err)
	}
	el, err := e.reg.Eligibility(e.ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if el.Object.Allowed || el.Appeal.Allowed || el.Repair.Allowed || !el.Repair.Later {
		t.Fatalf("with an appeal open: %+v", el)
	}
	_, err = e.reg.OpenDispute(e.ctx, rec.ID, "and once more", "", true, false, registry.ActorSubject)
	if err == nil || err.Error() != el.Appeal.Refusal.Error() {
		t.Errorf("OpenDispute refused %v, Eligibility says %v", err, el.Appeal.Refusal)
	}
	_, err = e.reg.ApplyRepair(e.ctx, rec.ID, "paid in full", true, registry.ActorSubject)
	if err == nil || err.Error() != el.Repair.Refusal.Error() {
		t.Errorf("ApplyRepair refused %v, Eligibility says %v", err, el.Repair.Refusal)
	}
}
