package credo

import "context"

// RegistryStore is everything a registry needs of its store, composed
// statically: the one interface registry.Open takes, that both of Credo's
// stores implement (compile-time proofs in packages sqlite and postgres)
// and that every store decorator wraps and implements in turn (the
// replica reader, registry.ReadReplica). It replaces discovering a store's
// capabilities by run-time type assertions.
//
// Two behaviours stay optional because only some stores can have them,
// and are asserted where used: registry.Notifier (the store signals
// appends: PostgreSQL's LISTEN/NOTIFY; others are polled) and a replica's
// PrimaryHead (only a read replica has a primary to lag behind).
type RegistryStore interface {
	// Store is the hash-chained log and its projections.
	Store
	// NoticeStore is the cursor of the sweep for missing notices.
	NoticeStore
	// DueProcessStore is the dispute and repair queues.
	DueProcessStore
	// ProjectionVerifier proves the projections equal a replay of the
	// log (checked when a registry opens).
	ProjectionVerifier
	// EventReader reads the log's events of some types only.
	EventReader
	// Ping reports whether the store answers (the server's /readyz).
	Ping(ctx context.Context) error
}

// EventReader is a store that reads the events of some types only,
// skipping the others in the store (the engine needs few of the log's
// event types: rebuilding and catching up read only those).
type EventReader interface {
	// EventsOfType returns up to limit events with sequence numbers above
	// after whose type is one of types, in order.
	EventsOfType(ctx context.Context, after int64, limit int, types []EventType) ([]Event, error)
}
