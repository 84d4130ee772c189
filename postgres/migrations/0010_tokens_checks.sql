-- 0010: API tokens and the check log: operational data outside the
-- hash-chained event log.

-- Only the SHA-256 of a token's secret is stored.
CREATE TABLE IF NOT EXISTS tokens (
	id        text PRIMARY KEY,
	hash      text NOT NULL UNIQUE,
	role      text NOT NULL,
	name      text NOT NULL DEFAULT '',
	authority text NOT NULL DEFAULT '',
	sectors   text[] NOT NULL DEFAULT '{}',
	subject   text NOT NULL DEFAULT '',
	created   timestamptz NOT NULL,
	revoked   timestamptz
);

-- Every check a service provider ran: who asked about whom, when, under
-- which policy, and the answer. seq is the order of logging.
CREATE TABLE IF NOT EXISTS checks (
	seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id       text NOT NULL UNIQUE,
	checker  text NOT NULL,
	org      text NOT NULL DEFAULT '',
	subject  text NOT NULL,
	sector   text NOT NULL,
	at       timestamptz NOT NULL,
	known    timestamptz NOT NULL,
	policy   text NOT NULL,
	decision text NOT NULL,
	measures text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS checks_subject ON checks (subject, seq);

-- Checks counted by day (UTC), sector and decision, kept with each batch:
-- the statistics never scan the log.
CREATE TABLE IF NOT EXISTS check_counts (
	day      date   NOT NULL,
	sector   text   NOT NULL,
	decision text   NOT NULL,
	n        bigint NOT NULL,
	PRIMARY KEY (day, sector, decision)
);
