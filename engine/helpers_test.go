package engine_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/policy"
)

// The test policy's time zone. Expected instants are written in it by hand.
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// day is midnight of a date in Asia/Shanghai.
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, shanghai) }

const policyFile = "testdata/policy.yaml"

var (
	policyOnce sync.Once
	policySrc  []byte
	policyDoc  *policy.Policy
	policyErr  error
)

// testPolicy loads testdata/policy.yaml once; it must have neither errors
// nor warnings.
func testPolicy(tb testing.TB) *policy.Policy {
	tb.Helper()
	policyOnce.Do(func() {
		policySrc, policyErr = os.ReadFile(policyFile)
		if policyErr == nil {
			policyDoc, policyErr = policy.Parse(policyFile, policySrc)
		}
		if policyErr == nil {
			// The one expected warning: deposit-free-bikes is a grant
			// conditioned on a tier (principle 7, disclosed by design).
			for _, w := range policyDoc.Warnings {
				if !strings.Contains(w.Message, "measure deposit-free-bikes: grant in sector bike-share reveals a tier") {
					policyErr = fmt.Errorf("test policy has warnings: %v", policyDoc.Warnings)
				}
			}
		}
	})
	if policyErr != nil {
		tb.Fatal(policyErr)
	}
	return policyDoc
}

// mustID parses a subject identifier.
func mustID(tb testing.TB, s string) ident.ID {
	tb.Helper()
	id, err := ident.Parse(s)
	if err != nil {
		tb.Fatalf("ident.Parse(%q): %v", s, err)
	}
	return id
}

// ric completes the first 17 characters of a RIC with its check character.
func ric(first17 string) string {
	c, err := ident.RICCheck(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

// The subjects of the tests.
var (
	alice  = "11010519491231002X"     // woman born 1949-12-31
	bob    = ric("11010519900615013") // man born 1990-06-15
	minor  = ric("11010520120310024") // girl born 2012-03-10: 18 on 2030-03-10
	carol  = ric("11010519850820035") // man born 1985-08-20
	nobody = ric("11010519700101046") // woman born 1970-01-01, no events
	org    = "914403001922038216"     // a company
)

// authorityOf is the authority that files each rule of the test policy.
var authorityOf = map[string]string{
	"JUDGMENT_DEFAULT":  "court.beijing",
	"OBSTRUCTION":       "court.beijing",
	"FAKE_GOODS":        "samr.beijing",
	"POLLUTION":         "env.beijing",
	"PYRAMID_SELLING":   "samr.beijing",
	"LATE_UTILITY":      "power.beijing",
	"VOLUNTEER_SERVICE": "civil.beijing",
	"CIVIC_HONOUR":      "civil.beijing",
	"SPEEDING":          "traffic.beijing",
}

// hist builds one subject's event history. Sequence numbers start at 1 and
// follow the order of the operations, so a record's id is the position of
// the operation that filed it.
type hist struct {
	subject string
	seq     int64
	events  []credo.Event
	orgs    []*engine.Facts
}

type op func(h *hist)

func (h *hist) add(ev credo.Event) {
	h.seq++
	ev.Seq = h.seq
	ev.Subject = h.subject
	h.events = append(h.events, ev)
}

// subjectFacts builds a subject's facts from operations.
func subjectFacts(tb testing.TB, subject string, ops ...op) *engine.Facts {
	tb.Helper()
	h := &hist{subject: subject}
	for _, o := range ops {
		o(h)
	}
	return &engine.Facts{ID: mustID(tb, subject), Events: h.events, Orgs: h.orgs}
}

type recordOpt func(*credo.Record)

func notified(t time.Time) recordOpt { return func(r *credo.Record) { r.NotifiedAt = t } }
func quantity(q float64) recordOpt   { return func(r *credo.Record) { r.Quantity = q } }

// file files a record under a rule, decided at decided and recorded by
// Credo at filed.
func file(rule string, decided, filed time.Time, opts ...recordOpt) op {
	return func(h *hist) {
		r := &credo.Record{
			ID:             h.seq + 1,
			Subject:        h.subject,
			Rule:           rule,
			Authority:      authorityOf[rule],
			CaseRef:        fmt.Sprintf("(2026) case %d", h.seq+1),
			DecidedAt:      decided,
			EvidenceSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			FiledAt:        filed,
		}
		for _, o := range opts {
			o(r)
		}
		h.add(credo.Event{Type: credo.EventRecordFiled, Recorded: filed, Actor: r.Authority, Record: r})
	}
}

func change(typ credo.EventType, rec int64, at, recorded time.Time, void bool) op {
	return func(h *hist) {
		h.add(credo.Event{Type: typ, Recorded: recorded, Change: &credo.RecordChange{RecordID: rec, At: at, VoidAbInitio: void}})
	}
}

// revoke revokes a record from at (recorded at the same instant).
func revoke(rec int64, at time.Time) op { return change(credo.EventRecordRevoked, rec, at, at, false) }

// void revokes a record as a correction: as if it never had effect.
func void(rec int64, at time.Time) op { return change(credo.EventRecordRevoked, rec, at, at, true) }

func fulfil(rec int64, at time.Time) op {
	return change(credo.EventRecordFulfilled, rec, at, at, false)
}

func repair(rec int64, at time.Time) op { return change(credo.EventRepairApproved, rec, at, at, false) }

// dispute opens an objection to a record; its id is its sequence number.
func dispute(rec int64, opened time.Time) op {
	return func(h *hist) {
		h.add(credo.Event{Type: credo.EventDisputeOpened, Recorded: opened, Actor: "subject",
			Dispute: &credo.Dispute{ID: h.seq + 1, RecordID: rec, OpenedAt: opened, Grounds: "not me"}})
	}
}

func decide(disputeID, rec int64, at time.Time, outcome string) op {
	return func(h *hist) {
		h.add(credo.Event{Type: credo.EventDisputeDecided, Recorded: at,
			Decision: &credo.DisputeDecision{DisputeID: disputeID, RecordID: rec, At: at, Outcome: outcome}})
	}
}

func consent(scheme string, at time.Time, given bool) op {
	typ := credo.EventConsentGiven
	if !given {
		typ = credo.EventConsentWithdrawn
	}
	return func(h *hist) {
		h.add(credo.Event{Type: typ, Recorded: at, Actor: "subject", Consent: &credo.Consent{Scheme: scheme, At: at, Given: given}})
	}
}

// link records that the subject holds a role in an organisation over
// [from, until) (until zero: open). Links are registered on 2026-01-01,
// ahead of a later From.
func link(org, role string, from, until time.Time) op {
	return func(h *hist) {
		h.add(credo.Event{Type: credo.EventLinkAdded, Recorded: day(2026, 1, 1), Actor: "admin",
			Link: &credo.Link{Org: org, Person: h.subject, Role: role, From: from, Until: until}})
	}
}

// unlink ends an open link at until.
func unlink(org, role string, until time.Time) op {
	return func(h *hist) {
		h.add(credo.Event{Type: credo.EventLinkRemoved, Recorded: until, Actor: "admin",
			Link: &credo.Link{Org: org, Person: h.subject, Role: role, Until: until}})
	}
}

// withOrg attaches an organisation's facts to a person.
func withOrg(f *engine.Facts) op { return func(h *hist) { h.orgs = append(h.orgs, f) } }
