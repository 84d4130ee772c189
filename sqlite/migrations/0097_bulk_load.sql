-- 0097: the marker of a bulk load (DB.StartBulk). During a bulk load the
-- rows that the records project into subject_events, facts and subjects
-- are kept by the process (in memory and in sorted run files beside the
-- database) and the index records_case is dropped; EndBulk writes them,
-- creates the index again and deletes this row. from_seq is the head of
-- the log when the load started; done is the last subject whose rows are
-- written (EndBulk writes in subject order, over several transactions).
-- A store opened with the row present (a process killed during the load)
-- rebuilds the rows of the records filed after from_seq from the log.
CREATE TABLE IF NOT EXISTS bulk_load (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	from_seq INTEGER NOT NULL,
	done     TEXT
);
