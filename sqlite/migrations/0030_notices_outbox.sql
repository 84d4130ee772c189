-- 0030: notices, webhooks and the outbox.

-- The notice of each record: a projection of the notice.issued events,
-- written in the same transaction as the event. At most one per record.
CREATE TABLE notices (
	record_id INTEGER PRIMARY KEY REFERENCES records (id),
	seq       INTEGER NOT NULL UNIQUE REFERENCES events (seq),
	subject   TEXT    NOT NULL
);

CREATE INDEX notices_subject ON notices (subject, seq);

-- The record id up to which every record has its notice or needs none:
-- where the sweeper of missing notices resumes.
CREATE TABLE notice_sweep (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	after INTEGER NOT NULL
);

-- Endpoints the operator configured. events is a comma-separated list of
-- event types. The secret signs deliveries (HMAC-SHA256), so it is kept as
-- is; it is never shown after creation.
CREATE TABLE webhooks (
	id      TEXT PRIMARY KEY,
	url     TEXT NOT NULL,
	secret  TEXT NOT NULL,
	events  TEXT NOT NULL,
	created TEXT NOT NULL,
	removed TEXT
);

-- Deliveries owed: one row per event and active webhook subscribed to its
-- type, inserted in the same transaction as the event, so that no event is
-- appended without its deliveries. status is pending, delivered, dead or
-- cancelled. A claimed delivery's next_at is pushed to the end of its
-- lease, so that a worker that dies mid-delivery leaves it to be retried.
CREATE TABLE outbox (
	id         INTEGER PRIMARY KEY,
	event_seq  INTEGER NOT NULL REFERENCES events (seq),
	webhook_id TEXT    NOT NULL REFERENCES webhooks (id),
	status     TEXT    NOT NULL DEFAULT 'pending',
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    TEXT    NOT NULL,
	last_error TEXT    NOT NULL DEFAULT '',
	created    TEXT    NOT NULL,
	delivered  TEXT,
	UNIQUE (event_seq, webhook_id)
);

CREATE INDEX outbox_due ON outbox (status, next_at);
