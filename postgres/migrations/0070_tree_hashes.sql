-- 0070: the Merkle tree over the log (RFC 6962 hashing), stored as the Go
-- checksum database stores it: the hashes golang.org/x/mod/sumdb/tlog's
-- StoredHashes returns for every event (its leaf, the hash of its body,
-- and the nodes it completes), at their stored-hash index: on average two
-- per event. Written in the transaction of the event; signed checkpoints,
-- inclusion and consistency proofs are computed from it. The tree of a
-- log that predates this table is built when the store opens.
CREATE TABLE IF NOT EXISTS tree_hashes (
	idx  bigint PRIMARY KEY,
	hash bytea  NOT NULL
);
