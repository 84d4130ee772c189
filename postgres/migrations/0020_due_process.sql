-- 0020: due process. Credit-repair applications, projected from the
-- repair.applied, repair.approved and repair.refused events in the same
-- transaction; and indexes for the queues of open disputes and
-- applications each authority must decide.

-- outcome is NULL while the application is pending, then 'approved' or
-- 'refused'.
CREATE TABLE IF NOT EXISTS repair_applications (
	id          bigint PRIMARY KEY REFERENCES events (seq),
	record_id   bigint NOT NULL REFERENCES records (id),
	subject     text   NOT NULL,
	applied_at  timestamptz NOT NULL,
	decided_at  timestamptz,
	outcome     text,
	decided_seq bigint
);
CREATE INDEX IF NOT EXISTS repair_applications_record ON repair_applications (record_id);
CREATE INDEX IF NOT EXISTS repair_applications_subject ON repair_applications (subject);
CREATE INDEX IF NOT EXISTS repair_applications_open ON repair_applications (applied_at) WHERE outcome IS NULL;

CREATE INDEX IF NOT EXISTS disputes_open ON disputes (opened_at) WHERE outcome IS NULL;
CREATE INDEX IF NOT EXISTS disputes_subject ON disputes (subject);
