package simulate

import (
	"fmt"
	"time"

	"credo/engine"
	"credo/policy"
)

// HoldSlot takes the one simulation slot, as a running simulation does,
// until release is called.
func HoldSlot() (release func()) {
	simulationSlot <- struct{}{}
	return func() { <-simulationSlot }
}

// Materialised returns opts set to simulate from every subject's facts
// read into memory first (LoadFacts, sorted by identifier), as Run did
// before it streamed the facts projection.
func Materialised(opts Options) Options {
	opts.materialise = true
	return opts
}

// Both evaluates subjects under the policy in force and a draft both ways:
// with engine.Evaluate and State.Decide (fill, how Run did), and with the
// memoised path Run takes (fillStanding).
type Both struct {
	u  *universe
	ev *engine.Evaluator
}

// NewBoth prepares the evaluation of subjects under cur and dr.
func NewBoth(cur, dr *policy.Policy) *Both {
	return &Both{u: newUniverse(cur, dr), ev: engine.NewEvaluator()}
}

// Outcomes returns a subject's outcomes under both policies, rendered, as
// each way gives them; and whether the subject is denied, limited or
// granted something in a sector, or on a list, under either.
func (b *Both) Outcomes(f *engine.Facts, at, known time.Time) (explained, standing string, deny, limit, grant, listed bool) {
	u := b.u
	eb, ea, sb, sa := u.newOutcome(), u.newOutcome(), u.newOutcome(), u.newOutcome()
	u.fill(eb, engine.Evaluate(u.cur, f, at, known))
	u.fill(ea, engine.Evaluate(u.dr, f, at, known))
	u.fillStanding(sb, 0, b.ev.Standing(u.cur, f, at, known))
	u.fillStanding(sa, 1, b.ev.Standing(u.dr, f, at, known))
	for _, o := range []*outcome{eb, ea} {
		for _, c := range o.sect {
			deny, limit, grant = deny || c&decDeny != 0, limit || c&decLimit != 0, grant || c&decGrant != 0
		}
		for _, l := range o.lists {
			listed = listed || l
		}
	}
	return fmt.Sprintf("%+v %+v", *eb, *ea), fmt.Sprintf("%+v %+v", *sb, *sa), deny, limit, grant, listed
}

// fill records a state computed by the engine as Run did before it took
// the memoised path: the tiers and lists through fillStanding (the engine's
// TestS04EntryEqualsEvaluate holds a Standing equal to what the State
// says), the measures in force from the State's, and the decision in every
// sector where a measure is in force from State.Decide, the function live
// checks explain with (a sector without a measure in force is an allow).
func (u *universe) fill(o *outcome, st *engine.State) {
	sd := &engine.Standing{}
	for _, li := range st.Listings {
		sd.Lists = append(sd.Lists, li.List)
	}
	for _, ss := range st.Schemes {
		sd.Schemes = append(sd.Schemes, engine.SchemeStanding{Scheme: ss.Scheme, Scored: ss.Scored, Score: ss.Score, Tier: ss.Tier, Why: ss.Why})
	}
	u.fillStanding(o, 0, sd)
	clear(o.sect)
	clear(o.meas)
	for _, ms := range st.Measures {
		o.meas[u.measIdx[ms.Measure]] = true
		i := u.sectorIdx[ms.Sector]
		if o.sect[i] != 0 {
			continue // decided already
		}
		d := st.Decide(ms.Sector)
		var c uint8
		switch d.Decision {
		case engine.Deny:
			c = decDeny
		case engine.Limit:
			c = decLimit
		}
		if len(d.Grants) > 0 {
			c |= decGrant
		}
		if c == 0 {
			c = 8 // decided: allow, no grant (marks the sector done)
		}
		o.sect[i] = c
	}
	for i := range o.sect {
		if o.sect[i] == 8 {
			o.sect[i] = 0
		}
	}
}
