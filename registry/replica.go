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
// process queues, notices and Verify go to the primary, which has
// everything acknowledged. The replica lags: the node's own writes show
// in its table once the standby has replayed them (the tailer applies
// them then), and its answers state the log position they reflect.
func ReadReplica(primary, replica credo.Store) credo.Store {
	return &replicaStore{Store: primary, read: replica}
}

type replicaStore struct {
	credo.Store // the primary: writes and everything not overridden
	read        credo.Store
}

// readsReplica reports whether the registry reads the log from a replica
// (so a refresh right after a write may not see the write yet).
func (r *Registry) readsReplica() bool {
	_, ok := r.store.(*replicaStore)
	return ok
}

// readStore is the store the tailer reads the log from.
func (r *Registry) readStore() credo.Store { return r.store }

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
	return s.Store.Head(ctx)
}

// EventsOfType reads from the replica when it can filter by type.
func (s *replicaStore) EventsOfType(ctx context.Context, after int64, limit int, types []credo.EventType) ([]credo.Event, error) {
	if tr, ok := s.read.(typedEventReader); ok {
		return tr.EventsOfType(ctx, after, limit, types)
	}
	return s.read.Events(ctx, after, limit)
}

// Notify wakes the tailer on the primary's notifications (a standby
// relays none); the tailer then polls the replica, which has the events
// once it has replayed them (or at the next interval).
func (s *replicaStore) Notify(ctx context.Context) (<-chan struct{}, error) {
	if n, ok := s.Store.(Notifier); ok {
		return n.Notify(ctx)
	}
	return nil, credo.Errorf(credo.EUNAVAILABLE, "the primary store offers no notifications")
}

// Ping reports whether both stores answer.
func (s *replicaStore) Ping(ctx context.Context) error {
	for _, st := range []credo.Store{s.Store, s.read} {
		if p, ok := st.(interface{ Ping(context.Context) error }); ok {
			if err := p.Ping(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *replicaStore) dueProcess() (credo.DueProcessStore, error) {
	ds, ok := s.Store.(credo.DueProcessStore)
	if !ok {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "the store keeps no due-process queues")
	}
	return ds, nil
}

func (s *replicaStore) Disputes(ctx context.Context, f credo.DisputeFilter) ([]credo.DisputeView, error) {
	ds, err := s.dueProcess()
	if err != nil {
		return nil, err
	}
	return ds.Disputes(ctx, f)
}
func (s *replicaStore) Dispute(ctx context.Context, id int64) (*credo.DisputeView, error) {
	ds, err := s.dueProcess()
	if err != nil {
		return nil, err
	}
	return ds.Dispute(ctx, id)
}
func (s *replicaStore) RepairApplications(ctx context.Context, f credo.RepairFilter) ([]credo.RepairView, error) {
	ds, err := s.dueProcess()
	if err != nil {
		return nil, err
	}
	return ds.RepairApplications(ctx, f)
}
func (s *replicaStore) RepairApplication(ctx context.Context, id int64) (*credo.RepairView, error) {
	ds, err := s.dueProcess()
	if err != nil {
		return nil, err
	}
	return ds.RepairApplication(ctx, id)
}

func (s *replicaStore) notices() (credo.NoticeStore, error) {
	ns, ok := s.Store.(credo.NoticeStore)
	if !ok {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "the store keeps no notice sweep cursor")
	}
	return ns, nil
}

func (s *replicaStore) RecordsWithoutNotice(ctx context.Context, after int64, limit int) ([]*credo.Record, int64, error) {
	ns, err := s.notices()
	if err != nil {
		return nil, 0, err
	}
	return ns.RecordsWithoutNotice(ctx, after, limit)
}
func (s *replicaStore) NoticeSweepCursor(ctx context.Context) (int64, error) {
	ns, err := s.notices()
	if err != nil {
		return 0, err
	}
	return ns.NoticeSweepCursor(ctx)
}
func (s *replicaStore) SetNoticeSweepCursor(ctx context.Context, after int64) error {
	ns, err := s.notices()
	if err != nil {
		return err
	}
	return ns.SetNoticeSweepCursor(ctx, after)
}

var (
	_ credo.DueProcessStore = (*replicaStore)(nil)
	_ credo.NoticeStore     = (*replicaStore)(nil)
	_ typedEventReader      = (*replicaStore)(nil)
)
