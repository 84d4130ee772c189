-- 0090: a sealed registry's data keys (package seal), one per subject,
-- wrapped under the operator's key-encryption key, with the subject's
-- identifier sealed under the data key; and what the registry records
-- about its sealing. Destroying a key erases its subject
-- (DeleteSubjectKey; VACUUM reclaims the dead tuple's space).
CREATE TABLE subject_keys (
	pseudonym TEXT PRIMARY KEY,
	kek_id    TEXT  NOT NULL,
	wrapped   BYTEA NOT NULL,
	sealed_id BYTEA NOT NULL
);

CREATE TABLE seal_info (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
