-- 0001: the event log and its projections.
--
-- events is the system of record. Every other table is a projection of it,
-- written in the same transaction as the event it projects, and can be
-- rebuilt by replaying the log. Times in projection columns are UTC text of
-- fixed width ('2006-01-02T15:04:05.000000000Z'), so they sort as text; the
-- exact values, with their offsets, are in the event bodies.

-- The append-only, hash-chained log. body is exactly the canonical encoding
-- of the event (credo.CanonicalEncoding, docs/event-encoding.md: prev_hash
-- inside, the hash not) and hash is the SHA-256 of body, its 32 bytes;
-- prev_hash is the hash of the event before (empty for the first). Before
-- migration 0090 bodies were JSON and hashes hex text (see 0090).
CREATE TABLE events (
	seq       INTEGER PRIMARY KEY,
	type      TEXT    NOT NULL,
	subject   TEXT    NOT NULL DEFAULT '',
	recorded  INTEGER NOT NULL, -- Unix microseconds (from 0090; UTC text before)
	body      BLOB    NOT NULL,
	prev_hash BLOB    NOT NULL,
	hash      BLOB    NOT NULL
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only: update refused');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only: delete refused');
END;

-- The last event, as recorded by the writer in every transaction; Verify
-- compares it with the end of the log to detect a truncated log.
CREATE TABLE head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash BLOB    NOT NULL
);

-- Which events concern which subject: the event's own subject and, for
-- links, the responsible person.
CREATE TABLE subject_events (
	subject TEXT    NOT NULL,
	seq     INTEGER NOT NULL,
	PRIMARY KEY (subject, seq)
) WITHOUT ROWID;

-- Every subject with events. kind is 'person', 'org' or 'unknown'.
CREATE TABLE subjects (
	id        TEXT    PRIMARY KEY,
	kind      TEXT    NOT NULL,
	first_seq INTEGER NOT NULL,
	last_seq  INTEGER NOT NULL
) WITHOUT ROWID;

-- Records, keyed by the sequence number of the event that filed them;
-- (authority, case_ref) is their identity. status is 'active', 'fulfilled',
-- 'repaired' or 'revoked' (revocation wins), as told by later events.
CREATE TABLE records (
	id           INTEGER PRIMARY KEY, -- the seq of its record.filed event
	authority    TEXT    NOT NULL,
	case_ref     TEXT    NOT NULL,
	subject      TEXT    NOT NULL,
	rule         TEXT    NOT NULL,
	decided_at   TEXT    NOT NULL,
	filed_at     TEXT    NOT NULL,
	status       TEXT    NOT NULL DEFAULT 'active',
	revoked_at   TEXT,
	fulfilled_at TEXT,
	repaired_at  TEXT,
	changed_seq  INTEGER,
	UNIQUE (authority, case_ref)
);

-- Disputes, keyed by the sequence number of the event that opened them.
CREATE TABLE disputes (
	id          INTEGER PRIMARY KEY REFERENCES events (seq),
	record_id   INTEGER NOT NULL REFERENCES records (id),
	subject     TEXT    NOT NULL,
	opened_at   TEXT    NOT NULL,
	appeal      INTEGER NOT NULL,
	decided_at  TEXT,
	outcome     TEXT,
	decided_seq INTEGER
);

CREATE INDEX disputes_record ON disputes (record_id);

-- Links between organisations and responsible persons, keyed by the event
-- that added them; until is set by the event that removed them.
CREATE TABLE links (
	seq       INTEGER PRIMARY KEY REFERENCES events (seq),
	org       TEXT    NOT NULL,
	person    TEXT    NOT NULL,
	role      TEXT    NOT NULL,
	"from"    TEXT    NOT NULL,
	until     TEXT,
	until_seq INTEGER
);

CREATE INDEX links_org ON links (org, person);
CREATE INDEX links_person ON links (person, org);

-- Published policy versions, identified by content hash, never overwritten.
CREATE TABLE policies (
	hash      TEXT    PRIMARY KEY,
	name      TEXT    NOT NULL,
	effective TEXT    NOT NULL,
	published TEXT    NOT NULL,
	source    BLOB    NOT NULL,
	seq       INTEGER NOT NULL UNIQUE REFERENCES events (seq)
);

CREATE TRIGGER policies_no_update BEFORE UPDATE ON policies
BEGIN
	SELECT RAISE(ABORT, 'policy versions are never overwritten');
END;

CREATE TRIGGER policies_no_delete BEFORE DELETE ON policies
BEGIN
	SELECT RAISE(ABORT, 'policy versions are never deleted');
END;
