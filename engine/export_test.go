package engine

// MemoLen is how many outcomes of the conditions an evaluator remembers.
func MemoLen(e *Evaluator) int {
	if e.memo == nil {
		return 0
	}
	return len(e.memo.m)
}

// SetMemoMax bounds the conditions' memory of every evaluator; it returns
// a function that restores the bound.
func SetMemoMax(n int) func() {
	old := memoMax
	memoMax = n
	return func() { memoMax = old }
}

// StandingOf is what a state says of a subject's standing (the lists it
// is on, in the state's order, its schemes, the measures in force and its
// next change).
func StandingOf(st *State) *Standing {
	out := &Standing{Next: st.Next, InForce: st.InForce}
	for _, li := range st.Listings {
		out.Lists = append(out.Lists, li.List)
	}
	for _, ss := range st.Schemes {
		out.Schemes = append(out.Schemes, SchemeStanding{Scheme: ss.Scheme, Scored: ss.Scored, Score: ss.Score, Tier: ss.Tier, Why: ss.Why})
	}
	return out
}
