package registry

import (
	"context"
	"runtime"
	"sync"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/policy"
)

// FactsReaderOf returns the store's facts projection (through a read
// replica, the replica's), if it keeps one.
func FactsReaderOf(store any) (credo.FactsReader, bool) {
	if rs, ok := store.(*replicaStore); ok {
		store = rs.read
	}
	fr, ok := store.(credo.FactsReader)
	return fr, ok
}

// ScanFacts reads the facts projection in as many subject ranges as
// workers, concurrently, and calls fn (from the range's goroutine, w its
// index) with every subject's facts exactly as the decision table sees
// them: a person's facts carry the links that name them and the facts of
// the organisations they are linked to. Persons with links are called
// last, once every range has been read (their organisations' facts are
// kept meanwhile); everyone else as their range is read, so that memory
// holds one subject per range besides the linked organisations. It
// returns the subjects whose identifiers no longer parse.
func ScanFacts(ctx context.Context, fr credo.FactsReader, parser *ident.Parser, workers int, fn func(w int, f *engine.Facts) error) (skipped []string, err error) {
	if parser == nil {
		parser = &ident.Parser{}
	}
	workers = max(workers, 1)
	splits, err := fr.FactSplits(ctx, workers)
	if err != nil {
		return nil, err
	}
	bounds := append(append([]string{""}, splits...), "")
	var (
		mu       sync.Mutex
		orgs     = map[string][]credo.Event{} // linked organisations' events
		deferred []*engine.Facts              // persons with links
	)
	ranges := len(bounds) - 1
	errs := make([]error, ranges)
	var wg sync.WaitGroup
	for i := range ranges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fr.ScanFacts(ctx, bounds[i], bounds[i+1], func(subject string, evs []credo.Event) error {
				id, err := parser.Parse(subject)
				if err != nil {
					mu.Lock()
					skipped = append(skipped, subject)
					mu.Unlock()
					return nil
				}
				var linkedOrg, linkedPerson bool
				for j := range evs {
					if l := evs[j].Link; l != nil {
						linkedOrg = linkedOrg || l.Org == subject
						linkedPerson = linkedPerson || l.Person == subject
					}
				}
				f := &engine.Facts{ID: id, Events: evs}
				if linkedOrg || (linkedPerson && id.Kind == credo.Person) {
					mu.Lock()
					if linkedOrg {
						orgs[id.Canonical] = evs
					}
					if linkedPerson && id.Kind == credo.Person {
						deferred = append(deferred, f)
						mu.Unlock()
						return nil
					}
					mu.Unlock()
				}
				return fn(i%workers, f)
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The persons with links, with their organisations' facts.
	step := (len(deferred) + workers - 1) / workers
	errs = make([]error, workers)
	for w := range workers {
		lo, hi := min(w*step, len(deferred)), min((w+1)*step, len(deferred))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range deferred[lo:hi] {
				for _, ev := range f.Events {
					if ev.Link != nil && ev.Link.Person == f.ID.Canonical {
						if oid, err := parser.Parse(ev.Link.Org); err == nil && !hasOrg(f.Orgs, oid.Canonical) {
							f.Orgs = append(f.Orgs, &engine.Facts{ID: oid, Events: orgs[oid.Canonical]})
						}
					}
				}
				if err := fn(w, f); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return skipped, nil
}

// ReadFacts returns every subject's facts from the facts projection, as
// ScanFacts gives them, and the subjects whose identifiers no longer
// parse: what Log.Facts gives from the log, without reading it.
func ReadFacts(ctx context.Context, fr credo.FactsReader, parser *ident.Parser) ([]*engine.Facts, []string, error) {
	workers := max(runtime.GOMAXPROCS(0), 1)
	parts := make([][]*engine.Facts, workers)
	skipped, err := ScanFacts(ctx, fr, parser, workers, func(w int, f *engine.Facts) error {
		parts[w] = append(parts[w], f)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var out []*engine.Facts
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, skipped, nil
}

// fillTableFromFacts computes the entry of every subject from the facts
// projection, on every core, reading no event body.
func (r *Registry) fillTableFromFacts(ctx context.Context, fr credo.FactsReader, t *engine.Table, pol *policy.Policy, now time.Time) (int, error) {
	start := time.Now()
	workers := max(runtime.GOMAXPROCS(0), 1)
	evals := make([]*engine.Evaluator, workers)
	counts := make([]int, workers)
	for w := range evals {
		evals[w] = engine.NewEvaluator()
	}
	skipped, err := ScanFacts(ctx, fr, r.parser, workers, func(w int, f *engine.Facts) error {
		t.PutFacts(f.ID.Canonical, evals[w].Entry(pol, f, now, now), f)
		counts[w]++
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, s := range skipped {
		r.log.Warn("subject in the log no longer parses", "subject", s)
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	r.log.Debug("decision table evaluated from the facts projection", "subjects", n, "took", time.Since(start).Round(time.Millisecond))
	return n, nil
}
