package portal

// ForgetHistories empties the score-history cache (for benchmarks of a
// first view).
func (p *Portal) ForgetHistories() {
	p.histories.mu.Lock()
	p.histories.m = nil
	p.histories.mu.Unlock()
}
