package registry

import (
	"maps"
	"slices"
	"time"

	"credo"
	"credo/engine"
)

// HistoryPoint is a subject's standing in one scheme from an instant on:
// one point per change, for plotting. RecordID names the record whose
// decision, end or change caused it (absent for the first point).
type HistoryPoint struct {
	At       time.Time `json:"at"`
	Scheme   string    `json:"scheme"`
	Scored   bool      `json:"scored"`
	Score    int       `json:"score"`
	Tier     string    `json:"tier,omitempty"`
	RecordID int64     `json:"record_id,omitempty"`
}

// ScoreHistory is a walk over a subject's states (WalkHistory).
type ScoreHistory struct {
	Points []HistoryPoint // one per change of score or tier in each scheme
	Start  time.Time      // the first instant evaluated: from, or the first policy's effect if later
	Next   time.Time      // the first change after to (zero: the state never changes again)
	Capped bool           // the walk stopped at MaxHistorySteps before reaching to
}

// MaxHistorySteps bounds the evaluations behind one history.
const MaxHistorySteps = 20000

// WalkHistory walks a subject's state from one change to the next over
// [from, to], as known at now, and returns one point per change of score
// or tier in each scheme. Nothing is computed before the first policy took
// effect; with no policy in force it is an EUNAVAILABLE error.
func WalkHistory(eng *engine.Engine, f *engine.Facts, from, to, now time.Time) (*ScoreHistory, error) {
	var first time.Time
	for _, v := range eng.Versions() {
		if !v.Published.After(now) && (first.IsZero() || v.Effective.Before(first)) {
			first = v.Effective
		}
	}
	if first.IsZero() {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "no policy is in force")
	}
	t := from
	if t.Before(first) {
		t = first
	}
	h := &ScoreHistory{Start: t}
	// Walk over the events the engine reads only (not the notices).
	f = EngineFacts(f)
	type last struct {
		p       HistoryPoint
		contrib map[int64]int
	}
	prev := map[string]*last{}
	for step := 0; ; step++ {
		if t.After(to) {
			h.Next = t
			break
		}
		if step >= MaxHistorySteps {
			h.Capped = true
			break
		}
		st, err := eng.State(f, t, now)
		if err != nil {
			return nil, err
		}
		for _, sc := range st.Schemes {
			pt := HistoryPoint{At: t, Scheme: sc.Scheme, Scored: sc.Scored, Score: sc.Score, Tier: sc.Tier}
			contrib := make(map[int64]int, len(sc.Contributions))
			for _, c := range sc.Contributions {
				contrib[c.RecordID] += c.Points
			}
			pv := prev[sc.Scheme]
			if pv != nil && pv.p.Scored == pt.Scored && pv.p.Score == pt.Score && pv.p.Tier == pt.Tier {
				pv.contrib = contrib
				continue
			}
			if pv != nil {
				pt.RecordID = changedRecord(pv.contrib, contrib)
			}
			h.Points = append(h.Points, pt)
			prev[sc.Scheme] = &last{p: pt, contrib: contrib}
		}
		if st.Next.IsZero() {
			break // it never changes again
		}
		t = st.Next
	}
	return h, nil
}

// EngineFacts returns the facts without the events the engine ignores.
func EngineFacts(f *engine.Facts) *engine.Facts {
	keep := make([]credo.Event, 0, len(f.Events))
	for _, ev := range f.Events {
		if slices.Contains(engine.EventTypes, ev.Type) {
			keep = append(keep, ev)
		}
	}
	return &engine.Facts{ID: f.ID, Events: keep, Orgs: f.Orgs}
}

// changedRecord returns the (lowest) id of a record whose contribution
// differs between two instants.
func changedRecord(a, b map[int64]int) int64 {
	ids := slices.Sorted(maps.Keys(a))
	for id := range b {
		if _, ok := a[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if a[id] != b[id] {
			return id
		}
	}
	return 0
}
