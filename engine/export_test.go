package engine

// MemoLen is how many outcomes of the conditions an evaluator remembers.
func MemoLen(e *Evaluator) int { return len(e.memo) }
