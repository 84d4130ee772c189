package engine

// MemoLen is how many outcomes of the conditions an evaluator remembers.
func MemoLen(e *Evaluator) int { return len(e.memo) }

// SetMemoMax bounds the conditions' memory of every evaluator; it returns
// a function that restores the bound.
func SetMemoMax(n int) func() {
	old := memoMax
	memoMax = n
	return func() { memoMax = old }
}
