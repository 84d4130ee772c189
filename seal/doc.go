// Package seal keeps a registry's personal data encrypted at rest and
// erasable (crypto-shredding), while its log stays append-only and
// verifiable.
//
// A sealed store (Store, a decorator over the SQLite or PostgreSQL store)
// never sees a subject identifier or a case reference in clear: subjects
// are pseudonyms (a kind tag and a keyed hash of the identifier under the
// operator's lookup secret), case references keyed hashes. The personal
// fields of records and events (case references, names, evidence URIs,
// free text) are sealed with AES-256-GCM under a data key per subject,
// which the store keeps wrapped under the operator's key-encryption key
// (KEK). What is not personal — rules, authorities, dates, quantities,
// lists, policies — stays in clear, so the chain, the Merkle tree and
// every proof verify without any key.
//
// Erasing a subject destroys its data key (Store.Erase): the log keeps
// the ciphertext, its hashes and its proofs, and no one can read the
// subject's personal data from it again. An erasure ledger beside the
// database makes an older backup unable to bring an erased subject back.
// See docs/threat-model.md for what this protects against and what not.
package seal
