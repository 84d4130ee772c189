package seal

import (
	"context"

	"credo"
)

// FactSplits passes the wrapped store's bounds through: they are opaque
// keys (pseudonyms), and a range of pseudonyms is a range of the facts.
func (s *Store) FactSplits(ctx context.Context, n int) ([]string, error) {
	return s.in.FactSplits(ctx, n)
}

// factsBatch is how many subjects' facts ScanFacts holds while it reads
// their keys in one query.
const factsBatch = 2000

// ScanFacts reads the wrapped store's facts projection and names the
// subjects by their identifiers again. The facts hold pseudonyms and no
// personal field (no case reference, evidence or name), so nothing is
// decrypted but the identifiers, one per subject. An erased subject (its
// key gone) is skipped; a link to an erased party loses the party, as the
// log's events read through this store do.
func (s *Store) ScanFacts(ctx context.Context, from, to string, fn func(subject string, evs []credo.Event) error) error {
	type facts struct {
		p   string
		evs []credo.Event
	}
	var batch []facts
	flush := func() error {
		ps := make([]string, 0, 2*len(batch))
		for _, b := range batch {
			ps = append(ps, b.p)
			for i := range b.evs {
				ps = pseudonymsOf(&b.evs[i], ps)
			}
		}
		keys, err := s.keysFor(ctx, ps)
		if err != nil {
			return err
		}
		for _, b := range batch {
			k := keys[b.p]
			if k == nil {
				continue // erased
			}
			for i := range b.evs {
				openFact(&b.evs[i], keys)
			}
			if err := fn(k.id, b.evs); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	if err := s.in.ScanFacts(ctx, from, to, func(p string, evs []credo.Event) error {
		batch = append(batch, facts{p, evs})
		if len(batch) == factsBatch {
			return flush()
		}
		return nil
	}); err != nil {
		return err
	}
	return flush()
}

// openFact names the subjects of one fact by their identifiers.
func openFact(ev *credo.Event, keys map[string]*dataKey) {
	ev.Subject = idIn(keys, ev.Subject)
	if ev.Record != nil {
		ev.Record.Subject = idIn(keys, ev.Record.Subject)
	}
	if ev.Link != nil {
		ev.Link.Org, ev.Link.Person = idIn(keys, ev.Link.Org), idIn(keys, ev.Link.Person)
	}
}
