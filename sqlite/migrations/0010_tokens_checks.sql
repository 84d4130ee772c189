-- API tokens: operational data outside the hash-chained event log. Only the SHA-256 of a token's secret is stored.
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

-- The check log lives in its own file (see sqlite/checklog.go): it is high
-- volume, indexed by subject, and must not slow the event log down.
