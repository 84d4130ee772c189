// Package transparency makes Credo's event log a transparency log, as
// Certificate Transparency (RFC 9162) and the Go checksum database run
// theirs: a Merkle tree over the events (kept by the stores, see
// internal/merkle), checkpoints signed with an Ed25519 key in the C2SP
// tlog-checkpoint signed-note format, inclusion and consistency proofs,
// receipts a subject can verify offline, and the check that a log still
// extends a checkpoint signed earlier.
//
// Every hash, proof and signature is computed and checked by the
// maintained implementations, golang.org/x/mod/sumdb/tlog and
// golang.org/x/mod/sumdb/note; this package only arranges them.
package transparency
