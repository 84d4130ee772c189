package registry

import (
	"context"
	"strings"
	"time"

	"credo"
)

// ChangeRecordAs revokes a record or records its fulfilment (or approves
// its repair) with the checks the API applies: a reason (shown to the
// subject, at most 2000 characters), void for revocations only, an
// effective instant not in the future and, but for a revocation, not
// before the decision date; an authority acts only on the records it
// filed (ActorAdmin on any).
//
// A change that changes nothing appends nothing: when the record already
// has the same change from the same instant or earlier (and, for a
// revocation, void ab initio if this one is), that earlier change is
// returned and no event is appended. The API and the CLI both come here.
func (r *Registry) ChangeRecordAs(ctx context.Context, typ credo.EventType, recordID int64, at time.Time, actor, reason string, void bool) (*credo.Event, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, credo.FieldErrorf("reason", "is required: say why (it is shown to the subject)")
	}
	if len(reason) > 2000 {
		return nil, credo.FieldErrorf("reason", "is longer than 2000 characters")
	}
	if void && typ != credo.EventRecordRevoked {
		return nil, credo.FieldErrorf("void", "applies to revocations only")
	}
	if !at.IsZero() && at.After(r.now().Add(maxClockSkew)) {
		return nil, credo.FieldErrorf("at", "%s is in the future", at.Format(time.RFC3339))
	}
	rec, err := r.record(ctx, recordID, "record_id")
	if err != nil {
		return nil, err
	}
	if actor != ActorAdmin && actor != rec.Authority {
		return nil, credo.Errorf(credo.EFORBIDDEN, "record %d was filed by another authority: only that authority or an admin may change it", recordID)
	}
	if !at.IsZero() && at.Before(rec.DecidedAt) && typ != credo.EventRecordRevoked {
		return nil, credo.FieldErrorf("at", "%s is before the record's decision date", at.Format(time.RFC3339))
	}
	r.changeMu.Lock() // the check for an earlier change and the append, as one
	defer r.changeMu.Unlock()
	when := at
	if when.IsZero() {
		when = r.now()
	}
	if prev, err := r.sameChange(ctx, rec, typ, when, void); err != nil || prev != nil {
		return prev, err
	}
	return r.ChangeRecord(ctx, typ, recordID, at, actor, reason, void)
}

// sameChange returns the record's earlier change of type typ that makes a
// new one (at instant at, void or not) change nothing, or nil.
func (r *Registry) sameChange(ctx context.Context, rec *credo.Record, typ credo.EventType, at time.Time, void bool) (*credo.Event, error) {
	f, err := r.Facts(ctx, rec.Subject)
	if err != nil {
		return nil, err
	}
	for i := range f.Events {
		ev := &f.Events[i]
		c := ev.Change
		if ev.Type != typ || c == nil || c.RecordID != rec.ID {
			continue
		}
		if !c.At.After(at) && (c.VoidAbInitio || !void) {
			return ev, nil
		}
	}
	return nil, nil
}
