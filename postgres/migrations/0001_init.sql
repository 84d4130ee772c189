-- 0001: the event log and its projections.
--
-- events is the system of record. Every other table is a projection of it,
-- written in the same transaction as the event it projects, and can be
-- rebuilt by replaying the log. The exact values of times, with their
-- offsets, are in the event bodies; projection columns are timestamptz.
--
-- Every statement is idempotent (IF NOT EXISTS, OR REPLACE), so a migration
-- interrupted halfway can simply be run again.

-- The append-only, hash-chained log. body is exactly the canonical encoding
-- of the event (credo.CanonicalEncoding: hash field empty, prev_hash set),
-- kept as bytes so that no server-side normalisation can touch it, and hash
-- is the hex SHA-256 of body.
CREATE TABLE IF NOT EXISTS events (
	seq       bigint  PRIMARY KEY,
	type      text    NOT NULL,
	subject   text    NOT NULL DEFAULT '',
	recorded  timestamptz NOT NULL,
	body      bytea   NOT NULL,
	prev_hash text    NOT NULL,
	hash      text    NOT NULL
);

CREATE OR REPLACE FUNCTION credo_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% are append-only: % refused', TG_TABLE_NAME, lower(TG_OP)
		USING ERRCODE = 'restrict_violation';
END
$$;

CREATE OR REPLACE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
	FOR EACH ROW EXECUTE FUNCTION credo_refuse_change();
CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
	FOR EACH STATEMENT EXECUTE FUNCTION credo_refuse_change();

-- The head of the log: the one row every appending transaction locks first
-- (SELECT ... FOR UPDATE), so that appends are serialised across every node
-- and commit in sequence order (see the package documentation). Verify
-- compares it with the end of the log to detect a truncated log.
CREATE TABLE IF NOT EXISTS log_head (
	id   int    PRIMARY KEY CHECK (id = 1),
	seq  bigint NOT NULL,
	hash text   NOT NULL
);
INSERT INTO log_head (id, seq, hash) VALUES (1, 0, '') ON CONFLICT (id) DO NOTHING;

-- Which events concern which subject: the event's own subject and, for
-- links, the organisation and the responsible person.
CREATE TABLE IF NOT EXISTS subject_events (
	subject text   NOT NULL,
	seq     bigint NOT NULL,
	PRIMARY KEY (subject, seq)
);

-- Every subject with events. kind is 'person', 'org' or 'unknown'.
CREATE TABLE IF NOT EXISTS subjects (
	id        text   PRIMARY KEY,
	kind      text   NOT NULL,
	first_seq bigint NOT NULL,
	last_seq  bigint NOT NULL
);

-- Records, keyed by the sequence number of the event that filed them;
-- (authority, case_ref) is their identity. status is 'active', 'fulfilled',
-- 'repaired' or 'revoked' (revocation wins), as told by later events.
CREATE TABLE IF NOT EXISTS records (
	id           bigint PRIMARY KEY, -- the seq of its record.filed event
	authority    text   NOT NULL,
	case_ref     text   NOT NULL,
	subject      text   NOT NULL,
	rule         text   NOT NULL,
	decided_at   timestamptz NOT NULL,
	filed_at     timestamptz NOT NULL,
	status       text   NOT NULL DEFAULT 'active',
	revoked_at   timestamptz,
	fulfilled_at timestamptz,
	repaired_at  timestamptz,
	changed_seq  bigint,
	UNIQUE (authority, case_ref)
);

-- Disputes, keyed by the sequence number of the event that opened them.
CREATE TABLE IF NOT EXISTS disputes (
	id          bigint  PRIMARY KEY REFERENCES events (seq),
	record_id   bigint  NOT NULL REFERENCES records (id),
	subject     text    NOT NULL,
	opened_at   timestamptz NOT NULL,
	appeal      boolean NOT NULL,
	decided_at  timestamptz,
	outcome     text,
	decided_seq bigint
);
CREATE INDEX IF NOT EXISTS disputes_record ON disputes (record_id);

-- Links between organisations and responsible persons, keyed by the event
-- that added them; until is set by the event that removed them.
CREATE TABLE IF NOT EXISTS links (
	seq       bigint PRIMARY KEY REFERENCES events (seq),
	org       text   NOT NULL,
	person    text   NOT NULL,
	role      text   NOT NULL,
	"from"    timestamptz NOT NULL,
	until     timestamptz,
	until_seq bigint
);
CREATE INDEX IF NOT EXISTS links_org ON links (org, person);
CREATE INDEX IF NOT EXISTS links_person ON links (person, org);

-- Published policy versions, identified by content hash, never overwritten.
CREATE TABLE IF NOT EXISTS policies (
	hash      text   PRIMARY KEY,
	name      text   NOT NULL,
	effective timestamptz NOT NULL,
	published timestamptz NOT NULL,
	source    bytea  NOT NULL,
	seq       bigint NOT NULL UNIQUE REFERENCES events (seq)
);
CREATE OR REPLACE TRIGGER policies_no_update BEFORE UPDATE OR DELETE ON policies
	FOR EACH ROW EXECUTE FUNCTION credo_refuse_change();
