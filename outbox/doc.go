// Package outbox delivers the events queued in the store's outbox to the
// webhooks the operator configured: signed POSTs (HMAC-SHA256 over a
// timestamp and the body), retried with exponential backoff and jitter,
// dead-lettered after a number of attempts, at least once, each carrying the
// event's sequence number as its idempotency id. It also gives receivers
// Verify, to check a delivery's signature and reject replays.
package outbox
