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
		}
		known, err := s.rangeKeys(ctx, ps)
		if err != nil {
			return err
		}
		for _, b := range batch {
			for i := range b.evs {
				ps = pseudonymsOf(&b.evs[i], ps)
			}
		}
		keys, err := s.keysForKnown(ctx, ps, known)
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

// KeyRanger is a store that reads the stored keys of a range of
// pseudonyms at once (sqlite.DB).
type KeyRanger interface {
	// SubjectKeysRange returns the stored keys of the pseudonyms from
	// first to last, both included, in order.
	SubjectKeysRange(ctx context.Context, first, last string) ([]credo.SubjectKey, error)
}

// rangeKeysMin is the fewest keys missing from the cache for which
// rangeKeys reads a range rather than leaving them to keysFor.
var rangeKeysMin = 64

// rangeKeys returns the keys of the subjects of a batch of ScanFacts that
// the cache does not hold, read as one range of the key table: the
// subjects come in key order, so their keys are neighbours there, and one
// range read replaces a lookup of each (at the size of a city, where the
// cache holds a tenth of the keys, the lookups were a third of a scan's
// time). Nil if the store cannot read ranges or few keys are missing.
func (s *Store) rangeKeys(ctx context.Context, subjects []string) (map[string]*dataKey, error) {
	kr, ok := s.in.(KeyRanger)
	if !ok {
		return nil, nil
	}
	want := map[string]bool{}
	first, last := "", ""
	for _, p := range subjects {
		if !IsPseudonym(p) || want[p] || s.isCached(p) {
			continue
		}
		want[p] = true
		if first == "" || p < first {
			first = p
		}
		if p > last {
			last = p
		}
	}
	if len(want) < rangeKeysMin {
		return nil, nil
	}
	rows, err := kr.SubjectKeysRange(ctx, first, last)
	if err != nil {
		return nil, err
	}
	// The range also holds subjects without facts in between: only the
	// batch's are unwrapped.
	out := make(map[string]*dataKey, len(want))
	return out, s.openKeys(rows, want, out)
}
