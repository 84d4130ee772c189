package credo

import (
	"context"
	"time"
)

// Webhook is an endpoint the operator configured to receive events
// (notices to an SMS or mail gateway, to an authority's case system):
// Credo POSTs each event of the subscribed types to URL, signed with
// Secret (HMAC-SHA256), at least once.
type Webhook struct {
	ID      string      `json:"id"`
	URL     string      `json:"url"`
	Secret  string      `json:"-"` // never shown after creation
	Events  []EventType `json:"events"`
	Created time.Time   `json:"created"`
	Removed time.Time   `json:"removed,omitzero"`
}

// Wants reports whether the webhook is subscribed to events of type t.
func (w *Webhook) Wants(t EventType) bool {
	for _, e := range w.Events {
		if e == t {
			return true
		}
	}
	return false
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its (next) attempt
	DeliveryDelivered = "delivered" // the endpoint answered 2xx
	DeliveryDead      = "dead"      // every attempt failed: dead-lettered
	DeliveryCancelled = "cancelled" // the webhook was removed first
)

// Delivery is one event to be delivered to one webhook: a row of the
// outbox, written in the same transaction as the event.
type Delivery struct {
	ID        int64     `json:"id"`
	EventSeq  int64     `json:"event_seq"` // the idempotency id receivers dedupe by
	EventType EventType `json:"event_type"`
	Subject   string    `json:"subject,omitempty"`
	WebhookID string    `json:"webhook_id"`
	URL       string    `json:"url"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	Created   time.Time `json:"created"`
	Delivered time.Time `json:"delivered,omitzero"`

	// Filled by ClaimDeliveries for the worker; not shown.
	Secret string `json:"-"`
	Body   []byte `json:"-"` // the event's JSON encoding, as POSTed
}

// Outbox is the store of webhooks and of the deliveries owed to them.
type Outbox interface {
	// AddWebhook stores a new endpoint (ID and Created are assigned if
	// empty). Deliveries are owed to it for events appended from then on.
	AddWebhook(ctx context.Context, w *Webhook) error
	// Webhooks returns the endpoints, removed ones too, oldest first.
	Webhooks(ctx context.Context) ([]*Webhook, error)
	// RemoveWebhook stops deliveries to an endpoint; its pending
	// deliveries are cancelled.
	RemoveWebhook(ctx context.Context, id string, at time.Time) error

	// ClaimDeliveries returns up to limit pending deliveries due at now,
	// each leased until now+lease: another worker does not claim it before
	// then, and a worker that dies mid-delivery leaves it to be retried.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Delivery, error)
	// DeliverySucceeded marks a pending delivery delivered after attempt
	// number attempt. It reports false if the delivery was not pending
	// (already delivered by another worker, or cancelled).
	DeliverySucceeded(ctx context.Context, id int64, attempt int, at time.Time) (bool, error)
	// DeliveryFailed records failed attempt number attempt: the delivery
	// is retried at next, or dead-lettered if dead.
	DeliveryFailed(ctx context.Context, id int64, attempt int, errMsg string, next time.Time, dead bool) error
	// Deliveries returns deliveries with the status ("" for any), newest
	// first, at most limit.
	Deliveries(ctx context.Context, status string, limit int) ([]*Delivery, error)
	// RetryDelivery puts a dead (or cancelled) delivery back in the queue,
	// due at once, with its attempts counted from zero.
	RetryDelivery(ctx context.Context, id int64, at time.Time) error
	// OutboxCounts returns the number of pending and dead deliveries.
	OutboxCounts(ctx context.Context) (pending, dead int64, err error)
}

// NoticeStore finds records whose notice was never issued (the process
// stopped between filing a record and appending its notice), so that a
// sweeper can issue it.
type NoticeStore interface {
	// RecordsWithoutNotice returns up to limit records with ID > after
	// that have no notice.issued event, in ID order, and the highest record
	// ID it has examined: every record up to it that is not returned has a
	// notice.
	RecordsWithoutNotice(ctx context.Context, after int64, limit int) (recs []*Record, examined int64, err error)
	// NoticeSweepCursor returns the record ID up to which every record
	// has been given its notice or found to need none.
	NoticeSweepCursor(ctx context.Context) (int64, error)
	// SetNoticeSweepCursor advances that cursor (it never moves back).
	SetNoticeSweepCursor(ctx context.Context, after int64) error
}
