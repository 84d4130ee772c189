package engine_test

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
)

// fuzzBytes hands out the fuzzer's bytes; past the end it gives zeros.
type fuzzBytes struct {
	b []byte
	i int
}

func (r *fuzzBytes) done() bool { return r.i >= len(r.b) }

func (r *fuzzBytes) next() byte {
	if r.i >= len(r.b) {
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

// fuzzEpoch is the start of the instants the fuzzer chooses from: seven
// years from mid-2025, past the minor's 18th birthday.
var fuzzEpoch = day(2025, 6, 1)

// instant is a day and an hour within the fuzzing span.
func (r *fuzzBytes) instant() time.Time {
	days := (int(r.next())<<8 | int(r.next())) % 2600
	return fuzzEpoch.Add(time.Duration(days)*24*time.Hour + time.Duration(r.next()%24)*time.Hour)
}

// shift moves an instant by up to ±127 days: when Credo learns of
// something relative to when it took effect.
func (r *fuzzBytes) shift(t time.Time) time.Time {
	return t.Add(time.Duration(int8(r.next())) * 24 * time.Hour)
}

func (r *fuzzBytes) pick(n int) int { return int(r.next()) % n }

// fuzzInput is a decoded fuzz case: a subject's facts and the instants.
type fuzzInput struct {
	facts     *engine.Facts
	at, known time.Time
}

var fuzzRoles = append(policy.LinkRoles(), "stranger")

// decodeFuzz turns bytes into an event history under the test policy:
// record filings under any of its rules, revocations (void or not),
// fulfilments, repairs, disputes and their decisions, consents, links, and
// records of a linked organisation. Ids may point nowhere; times may be in
// any order. Every input decodes to something.
func decodeFuzz(tb testing.TB, pol *policy.Policy, data []byte) fuzzInput {
	r := &fuzzBytes{b: data}
	subject := []string{bob, minor, org, carol}[r.pick(4)]
	at := r.instant()
	known := r.instant()
	if r.next()%2 == 0 {
		known = at
	}
	h := &hist{subject: subject}
	oh := &hist{subject: org}
	var recs, disputes []int64
	pickID := func(ids []int64) int64 {
		if len(ids) == 0 || r.next() == 255 {
			return int64(r.next()) // possibly no such record
		}
		return ids[r.pick(len(ids))]
	}
	for n := 0; n < 48 && !r.done(); n++ {
		switch op := r.pick(10); op {
		case 0, 1, 9: // a filing, on the subject or (9) its organisation
			rule := pol.Rules[r.pick(len(pol.Rules))].Code
			decided := r.instant()
			filed := r.shift(decided)
			var opts []recordOpt
			if b := r.next(); b%3 == 0 {
				opts = append(opts, notified(r.shift(decided)))
			}
			switch q := r.next(); q {
			case 255:
				opts = append(opts, quantity(math.Inf(1)))
			case 254:
				opts = append(opts, quantity(math.NaN()))
			default:
				opts = append(opts, quantity(float64(int(q)-20)/2))
			}
			if op == 9 && subject != org {
				file(rule, decided, filed, opts...)(oh)
			} else {
				file(rule, decided, filed, opts...)(h)
				recs = append(recs, h.seq)
			}
		case 2, 3, 4: // revoked, fulfilled or repair approved
			typ := []credo.EventType{credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved}[r.pick(3)]
			at := r.instant()
			change(typ, pickID(recs), at, r.shift(at), r.next()%2 == 0)(h)
		case 5: // an objection or an appeal
			opened := r.instant()
			appeal := r.next()%4 == 0
			rec := pickID(recs)
			h.add(credo.Event{Type: credo.EventDisputeOpened, Recorded: r.shift(opened),
				Dispute: &credo.Dispute{ID: h.seq + 1, RecordID: rec, OpenedAt: opened, Appeal: appeal}})
			disputes = append(disputes, h.seq)
		case 6: // its decision
			at := r.instant()
			outcome := []string{credo.OutcomeUpheld, credo.OutcomeCorrected, credo.OutcomeRevoked, "mislaid"}[r.pick(4)]
			h.add(credo.Event{Type: credo.EventDisputeDecided, Recorded: r.shift(at),
				Decision: &credo.DisputeDecision{DisputeID: pickID(disputes), RecordID: pickID(recs), At: at, Outcome: outcome}})
		case 7: // consent given or withdrawn
			at := r.instant()
			scheme := []string{"civic", "licence", "corp", "nonesuch"}[r.pick(4)]
			given := r.next()%3 != 0
			typ := credo.EventConsentGiven
			if !given {
				typ = credo.EventConsentWithdrawn
			}
			h.add(credo.Event{Type: typ, Recorded: r.shift(at), Consent: &credo.Consent{Scheme: scheme, At: at, Given: given}})
		case 8: // a link to the organisation, or its end
			role := fuzzRoles[r.pick(len(fuzzRoles))]
			from := r.instant()
			var until time.Time
			if r.next()%2 == 0 {
				until = r.instant()
			}
			typ := credo.EventLinkAdded
			if r.next()%4 == 0 {
				typ = credo.EventLinkRemoved
			}
			h.add(credo.Event{Type: typ, Recorded: r.shift(from),
				Link: &credo.Link{Org: org, Person: subject, Role: role, From: from, Until: until}})
		}
	}
	f := &engine.Facts{ID: mustID(tb, subject), Events: h.events}
	if subject != org {
		f.Orgs = []*engine.Facts{{ID: mustID(tb, org), Events: oh.events}}
	}
	return fuzzInput{facts: f, at: at, known: known}
}

// FuzzEvaluate checks that no event history makes the engine panic, that
// its state is a deterministic function of its inputs, that next_change
// lies after `at`, and that the decision table agrees with Decide.
func FuzzEvaluate(f *testing.F) {
	pol := testPolicy(f)
	f.Add([]byte{})
	f.Add([]byte{0, 0, 200, 0, 0, 1, 0, 0, 0, 0, 0, 10, 0, 1})
	f.Add([]byte{3, 1, 100, 3, 1, 50, 1, 8, 0, 3, 0, 20, 5, 0, 9, 1, 0, 80, 1, 2, 0, 5, 0, 200, 0, 0, 0, 5, 0, 30, 1, 0})
	f.Add([]byte{1, 7, 0, 0, 0, 0, 0, 7, 0, 0, 1, 0, 0, 0, 1, 1, 0, 2, 10, 0, 0, 0, 3, 2, 0, 90, 0, 0, 1})
	f.Add([]byte{2, 2, 0, 0, 2, 0, 1, 0, 2, 0, 0, 5, 0, 0, 0, 0, 5, 0, 0, 3, 1, 0, 0, 0, 6, 0, 0, 0, 4, 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := decodeFuzz(t, pol, data)
		s1 := engine.Evaluate(pol, in.facts, in.at, in.known)
		s2 := engine.Evaluate(pol, in.facts, in.at, in.known)
		// DeepEqual, or the same printed form where a NaN quantity
		// (never equal to itself) keeps DeepEqual from holding.
		if !reflect.DeepEqual(s1, s2) && fmt.Sprintf("%+v", s1) != fmt.Sprintf("%+v", s2) {
			t.Fatalf("two evaluations differ:\n%+v\n%+v", s1, s2)
		}
		if !s1.Next.IsZero() && !s1.Next.After(in.at) {
			t.Fatalf("next change %v is not after %v", s1.Next, in.at)
		}
		// Nothing changes by itself before Next: the decision table
		// serves an entry until then.
		until := s1.Next
		if until.IsZero() {
			until = in.at.AddDate(30, 0, 0)
		}
		mid := in.at.Add(until.Sub(in.at) / 2)
		for _, t2 := range []time.Time{mid, until.Add(-time.Nanosecond)} {
			if s3 := engine.Evaluate(pol, in.facts, t2, in.known); stable(s3) != stable(s1) {
				t.Fatalf("state changed between %v and %v, before next change %v:\n%s\n%s", in.at, t2, s1.Next, stable(s1), stable(s3))
			}
		}
		if age := in.facts.ID.AgeAt(in.at, shanghai); age >= 0 && age < 18 && len(s1.Listings) > 0 {
			t.Fatalf("a minor (%d) is listed: %+v", age, s1.Listings)
		}
		for _, ss := range s1.Schemes {
			sc := pol.Scheme(ss.Scheme)
			if ss.Scored && (ss.Score < sc.Bounds[0] || ss.Score > sc.Bounds[1]) {
				t.Fatalf("scheme %s: score %d outside %v", sc.ID, ss.Score, sc.Bounds)
			}
		}
		tbl := engine.NewTable(pol, "fuzz", func(string) (*engine.Facts, error) {
			t.Fatal("the table reloaded an entry that is not stale")
			return nil, nil
		}, in.at)
		subject := in.facts.ID.Canonical
		tbl.Put(subject, engine.EntryOf(s1), true)
		for _, sec := range pol.Sectors {
			d := s1.Decide(sec.ID)
			ref, _ := tbl.Sector(sec.ID)
			v, err := tbl.Check(subject, ref, in.at)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := v.Effect.String(), d.Decision; got != want {
				t.Fatalf("%s: table says %s, Decide %s", sec.ID, got, want)
			}
			var codes []string
			for _, r := range d.Reasons {
				codes = append(codes, r.Code)
			}
			if got, want := ids(tbl, v.Measures), sortedCopy(codes); !slices.Equal(got, want) {
				t.Fatalf("%s: table measures %v, Decide reasons %v", sec.ID, got, want)
			}
			if got, want := ids(tbl, v.Grants), sortedCopy(d.Grants); !slices.Equal(got, want) {
				t.Fatalf("%s: table grants %v, Decide grants %v", sec.ID, got, want)
			}
		}
	})
}

// stable prints a state without its instants: what must not change before
// its next change.
func stable(st *engine.State) string {
	c := *st
	c.At, c.Next = time.Time{}, time.Time{}
	return fmt.Sprintf("%+v", c)
}
