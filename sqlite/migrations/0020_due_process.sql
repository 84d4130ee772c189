-- 0020: due process. Credit-repair applications, projected from the
-- repair.applied, repair.approved and repair.refused events in the same
-- transaction; and indexes for the queues of open disputes and
-- applications each authority must decide.

-- Repair applications, keyed by the sequence number of the event that
-- filed them. outcome is NULL while the application is pending, then
-- 'approved' or 'refused'.
CREATE TABLE repair_applications (
	id          INTEGER PRIMARY KEY REFERENCES events (seq),
	record_id   INTEGER NOT NULL REFERENCES records (id),
	subject     TEXT    NOT NULL,
	applied_at  TEXT    NOT NULL,
	decided_at  TEXT,
	outcome     TEXT,
	decided_seq INTEGER
);

CREATE INDEX repair_applications_record ON repair_applications (record_id);
CREATE INDEX repair_applications_subject ON repair_applications (subject);
CREATE INDEX repair_applications_open ON repair_applications (applied_at) WHERE outcome IS NULL;

-- The queues read open disputes; the subject's page reads its own.
CREATE INDEX disputes_open ON disputes (opened_at) WHERE outcome IS NULL;
CREATE INDEX disputes_subject ON disputes (subject);
