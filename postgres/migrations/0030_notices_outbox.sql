-- 0030: notices, webhooks and the outbox.

-- The notice of each record: a projection of the notice.issued events,
-- written in the same transaction as the event. At most one per record.
CREATE TABLE IF NOT EXISTS notices (
	record_id bigint PRIMARY KEY REFERENCES records (id),
	seq       bigint NOT NULL UNIQUE REFERENCES events (seq),
	subject   text   NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_subject ON notices (subject, seq);

-- The record id up to which every record has its notice or needs none:
-- where the sweeper of missing notices resumes.
CREATE TABLE IF NOT EXISTS notice_sweep (
	id    int    PRIMARY KEY CHECK (id = 1),
	after bigint NOT NULL
);

-- Endpoints the operator configured. The secret signs deliveries
-- (HMAC-SHA256), so it is kept as is; it is never shown after creation.
CREATE TABLE IF NOT EXISTS webhooks (
	id      text   PRIMARY KEY,
	url     text   NOT NULL,
	secret  text   NOT NULL,
	events  text[] NOT NULL,
	created timestamptz NOT NULL,
	removed timestamptz
);

-- Deliveries owed: one row per event and active webhook subscribed to its
-- type, inserted in the same transaction as the event. status is pending,
-- delivered, dead or cancelled. A claimed delivery's next_at is pushed to
-- the end of its lease, so that a worker that dies mid-delivery leaves it
-- to be retried.
CREATE TABLE IF NOT EXISTS outbox (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_seq  bigint NOT NULL REFERENCES events (seq),
	webhook_id text   NOT NULL REFERENCES webhooks (id),
	status     text   NOT NULL DEFAULT 'pending',
	attempts   int    NOT NULL DEFAULT 0,
	next_at    timestamptz NOT NULL,
	last_error text   NOT NULL DEFAULT '',
	created    timestamptz NOT NULL,
	delivered  timestamptz,
	UNIQUE (event_seq, webhook_id)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_at);
