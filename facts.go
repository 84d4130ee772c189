package credo

import "context"

// FactsReader is a store that keeps the facts projection: for every event
// the engine reads, what it reads of it (subject, type, instants, rule,
// authority, quantity, record and dispute ids, link parties), written in
// the event's transaction and readable in subject order without decoding
// event bodies. Bulk readers (the rebuild of the decision table, the
// simulation, the census) read it when the store offers it.
//
// The events it gives are the engine's view of the log: a record carries
// its id, subject, rule, authority, decision, notice, filing instants and
// quantity, not its case reference, evidence or the subject's name, and
// instants are in UTC. A link's event is given under both its
// organisation and its person.
type FactsReader interface {
	// FactSplits returns up to n-1 subject keys, in order, that cut the
	// facts into n ranges of about equal size (fewer for a small log):
	// opaque bounds for ScanFacts, to read ranges concurrently.
	FactSplits(ctx context.Context, n int) ([]string, error)

	// ScanFacts calls fn for every subject with facts whose key is at
	// least from and below to ("" for no bound), in key order, with the
	// subject and its events in log order. fn owns the slice. Its error
	// stops the scan and is returned. One scan reads one snapshot.
	ScanFacts(ctx context.Context, from, to string, fn func(subject string, evs []Event) error) error
}
