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
	return r.ChangeRecord(ctx, typ, recordID, at, actor, reason, void)
}
