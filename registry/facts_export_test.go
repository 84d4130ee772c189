package registry

import (
	"context"
	"time"

	"credo"
	"credo/engine"
)

// TablesFromFactsAndLog fills two tables under the policy in force at
// now: one from the facts projection, one from the log.
func TablesFromFactsAndLog(ctx context.Context, r *Registry, now time.Time) (facts, log *engine.Table, err error) {
	pol, hash, err := r.Policy(ctx)
	if err != nil {
		return nil, nil, err
	}
	fr, ok := FactsReaderOf(r.store)
	if !ok {
		return nil, nil, credo.Errorf(credo.EINVALID, "the store keeps no facts")
	}
	facts = engine.NewTable(pol, hash, r.loader(ctx), now)
	if _, err := r.fillTableFromFacts(ctx, fr, facts, pol, now); err != nil {
		return nil, nil, err
	}
	head, _, err := r.store.Head(ctx)
	if err != nil {
		return nil, nil, err
	}
	log = engine.NewTable(pol, hash, r.loader(ctx), now)
	if _, err := r.fillTableFromLog(ctx, log, pol, now, head); err != nil {
		return nil, nil, err
	}
	return facts, log, nil
}

// CensusFromLog makes a census cache build from the log.
func CensusFromLog(c *CensusCache) { c.fromLog = true }

// CensusReevaluated returns the subjects the census state re-evaluated
// when it was last advanced (-1 if it was built anew).
func CensusReevaluated(c *CensusCache) int { return c.reevaluated() }
