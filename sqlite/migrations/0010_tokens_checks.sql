-- API tokens and the check log: operational data outside the hash-chained
-- event log. Only the SHA-256 of a token's secret is stored.
CREATE TABLE tokens (
	id        TEXT PRIMARY KEY,
	hash      TEXT NOT NULL UNIQUE,
	role      TEXT NOT NULL,
	name      TEXT NOT NULL DEFAULT '',
	authority TEXT NOT NULL DEFAULT '',
	sectors   TEXT NOT NULL DEFAULT '[]',
	subject   TEXT NOT NULL DEFAULT '',
	created   TEXT NOT NULL,
	revoked   TEXT
);

-- Every check a service provider ran: visible to its subject, replayable by id.
CREATE TABLE checks (
	id       TEXT PRIMARY KEY,
	checker  TEXT NOT NULL,
	org      TEXT NOT NULL DEFAULT '',
	subject  TEXT NOT NULL,
	sector   TEXT NOT NULL,
	at       TEXT NOT NULL,
	known    TEXT NOT NULL,
	policy   TEXT NOT NULL,
	decision TEXT NOT NULL,
	measures TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX checks_subject ON checks(subject, at);

-- Checks counted by day (UTC), sector and decision, kept with each batch:
-- the statistics never scan the log.
CREATE TABLE check_counts (
	day      TEXT NOT NULL,
	sector   TEXT NOT NULL,
	decision TEXT NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (day, sector, decision)
) WITHOUT ROWID;
