-- 0093: the facts projection (see storecore's facts.go): for every event
-- the engine reads, what the engine reads of it, one row per subject the
-- event concerns, in subject order. Rebuilds of the decision table,
-- simulations and the census read it instead of the event bodies.
CREATE TABLE facts (
	subject text   NOT NULL,
	seq     bigint NOT NULL,
	body    bytea  NOT NULL,
	PRIMARY KEY (subject, seq)
);

-- A registry that has events when this migration runs has its facts
-- written from its log once, when it is opened (DB.backfillFacts), up to
-- upto; the row is deleted in that transaction.
CREATE TABLE facts_backfill (
	id   integer PRIMARY KEY CHECK (id = 1),
	upto bigint  NOT NULL
);
INSERT INTO facts_backfill (id, upto) SELECT 1, max(seq) FROM events HAVING count(*) > 0;

-- The cheap check's baseline counts predate the facts table.
DELETE FROM projection_audit;
