package registry

// CensusDrop forgets the census a cache keeps (its state and its last
// census), so that a test can measure what they held.
func CensusDrop(c *CensusCache) {
	c.stMu.Lock()
	c.st = nil
	c.stMu.Unlock()
	c.mu.Lock()
	c.cur = nil
	c.mu.Unlock()
}
