package registry

import (
	"context"

	"credo"
)

// ReadReplica returns a store that writes to primary and reads the log
// (events, subjects' facts, policies, the head) from replica, a
// streaming standby of it: a node opened over it rebuilds and tails its
// decision table from the standby, sparing the primary. Reads of one
// record (to revoke, fulfil or dispute it right after filing), due
// process queues, notices, the projections' checks and Verify go to the
// primary, which has everything acknowledged. The replica lags: the
// node's own writes show in its table once the standby has replayed them
// (the tailer applies them then), and its answers state the log position
// they reflect.
//
// It wraps one interface, credo.RegistryStore, and is one: what it does
// not override goes to the primary.
func ReadReplica(primary, replica credo.RegistryStore) credo.RegistryStore {
	return &replicaStore{RegistryStore: primary, read: replica}
}

type replicaStore struct {
	credo.RegistryStore // the primary: writes and everything not overridden
	read                credo.RegistryStore
}

var _ credo.RegistryStore = (*replicaStore)(nil)

// readsReplica reports whether the registry reads the log from a replica
// (so a refresh right after a write may not see the write yet).
func (r *Registry) readsReplica() bool {
	_, ok := r.store.(*replicaStore)
	return ok
}

// readStore is the store the tailer reads the log from.
func (r *Registry) readStore() credo.RegistryStore { return r.store }

func (s *replicaStore) SubjectEvents(ctx context.Context, subject string) ([]credo.Event, error) {
	return s.read.SubjectEvents(ctx, subject)
}
func (s *replicaStore) LinkedOrgs(ctx context.Context, person string) ([]string, error) {
	return s.read.LinkedOrgs(ctx, person)
}
func (s *replicaStore) LinkedPersons(ctx context.Context, org string) ([]string, error) {
	return s.read.LinkedPersons(ctx, org)
}
func (s *replicaStore) Events(ctx context.Context, after int64, limit int) ([]credo.Event, error) {
	return s.read.Events(ctx, after, limit)
}
func (s *replicaStore) EventsOfType(ctx context.Context, after int64, limit int, types []credo.EventType) ([]credo.Event, error) {
	return s.read.EventsOfType(ctx, after, limit, types)
}
func (s *replicaStore) Subjects(ctx context.Context, fn func(subject string) error) error {
	return s.read.Subjects(ctx, fn)
}
func (s *replicaStore) Policies(ctx context.Context) ([]credo.PolicyVersion, error) {
	return s.read.Policies(ctx)
}
func (s *replicaStore) Head(ctx context.Context) (int64, string, error) { return s.read.Head(ctx) }

// PrimaryHead returns the head of the primary's log: what has been
// acknowledged to writers, which the replica reaches once it has replayed
// it. The difference to Head is the replication lag, in events.
func (s *replicaStore) PrimaryHead(ctx context.Context) (int64, string, error) {
	return s.RegistryStore.Head(ctx)
}

// Notify wakes the tailer on the primary's notifications (a standby
// relays none); the tailer then polls the replica, which has the events
// once it has replayed them (or at the next interval).
func (s *replicaStore) Notify(ctx context.Context) (<-chan struct{}, error) {
	if n, ok := s.RegistryStore.(Notifier); ok {
		return n.Notify(ctx)
	}
	return nil, credo.Errorf(credo.EUNAVAILABLE, "the primary store offers no notifications")
}

// Ping reports whether both stores answer.
func (s *replicaStore) Ping(ctx context.Context) error {
	if err := s.RegistryStore.Ping(ctx); err != nil {
		return err
	}
	return s.read.Ping(ctx)
}
