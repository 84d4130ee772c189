package registry

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/internal/storecore"
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
		orgs     = map[string]packed{} // linked organisations' events
		deferred []deferredPerson      // persons with links
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
					// Held until every range is read: packed, as the
					// projection stores them.
					pk := pack(subject, evs)
					mu.Lock()
					if linkedOrg {
						orgs[id.Canonical] = pk
					}
					if linkedPerson && id.Kind == credo.Person {
						deferred = append(deferred, deferredPerson{id: id, pk: pk})
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
			for i := range deferred[lo:hi] {
				d := &deferred[lo+i]
				f, err := d.facts(parser, orgs)
				d.pk = packed{} // no longer held
				if err == nil {
					err = fn(w, f)
				}
				if err != nil {
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

// packed is a subject's facts as the projection stores them
// (storecore.AppendFact, each after its sequence number and length): a few
// tens of bytes an event, where a decoded event with its payload takes
// several hundred. What ScanFacts holds until every range is read (the
// linked organisations and persons) is held so.
type packed struct {
	subject string
	b       []byte
	evs     []credo.Event // an event that does not pack: kept as it is
}

func pack(subject string, evs []credo.Event) packed {
	var b []byte
	for i := range evs {
		body := storecore.AppendFact(nil, &evs[i])
		if body == nil {
			return packed{subject: subject, evs: evs}
		}
		b = binary.AppendVarint(b, evs[i].Seq)
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
	}
	return packed{subject: subject, b: slices.Clip(b)}
}

// events decodes the packed facts (storecore.DecodeFact, as the store's
// scan did).
func (p packed) events() ([]credo.Event, error) {
	if p.evs != nil || p.b == nil {
		return p.evs, nil
	}
	var evs []credo.Event
	for b := p.b; len(b) > 0; {
		seq, n := binary.Varint(b)
		if n <= 0 {
			return nil, fmt.Errorf("facts of %s: bad packing", p.subject)
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return nil, fmt.Errorf("facts of %s: bad packing", p.subject)
		}
		ev, err := storecore.DecodeFact(p.subject, seq, b[n:n+int(l)])
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
		b = b[n+int(l):]
	}
	return evs, nil
}

// deferredPerson is a person with links, held until every range is read.
type deferredPerson struct {
	id ident.ID
	pk packed
}

// facts returns the person's facts with those of the organisations their
// links name.
func (d *deferredPerson) facts(parser *ident.Parser, orgs map[string]packed) (*engine.Facts, error) {
	evs, err := d.pk.events()
	if err != nil {
		return nil, err
	}
	f := &engine.Facts{ID: d.id, Events: evs}
	for _, ev := range evs {
		if ev.Link == nil || ev.Link.Person != f.ID.Canonical {
			continue
		}
		if oid, err := parser.Parse(ev.Link.Org); err == nil && !hasOrg(f.Orgs, oid.Canonical) {
			oevs, err := orgs[oid.Canonical].events()
			if err != nil {
				return nil, err
			}
			f.Orgs = append(f.Orgs, &engine.Facts{ID: oid, Events: oevs})
		}
	}
	return f, nil
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
