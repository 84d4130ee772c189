package credo

import "context"

// SubjectKey is a subject's data key as a sealed registry stores it
// (package seal): wrapped under the key-encryption key named by KEKID,
// beside the subject's identifier sealed under the data key itself, so
// that the registry can list its subjects while the key exists and no
// one can once it is destroyed.
type SubjectKey struct {
	Pseudonym string // the keyed hash the store knows the subject by
	KEKID     string // which key-encryption key wraps it
	Wrapped   []byte // the data key, encrypted under the KEK
	SealedID  []byte // the canonical identifier, encrypted under the data key
}

// KeyStore keeps the data keys of a sealed registry, in their own table,
// and what the registry records about its sealing (whether it is sealed,
// check values of the operator's secrets). Both of Credo's stores are one.
type KeyStore interface {
	// EnsureSubjectKeys stores the keys of subjects that have none yet
	// and returns the stored key of every given pseudonym (another
	// writer's, where it stored one first).
	EnsureSubjectKeys(ctx context.Context, keys []SubjectKey) ([]SubjectKey, error)
	// SubjectKeys returns the stored keys of the pseudonyms that have one.
	SubjectKeys(ctx context.Context, pseudonyms []string) ([]SubjectKey, error)
	// AllSubjectKeys calls fn for every stored key, in pseudonym order,
	// starting after the pseudonym after ("" from the first).
	AllSubjectKeys(ctx context.Context, after string, fn func(SubjectKey) error) error
	// RewrapSubjectKeys replaces the wrapping (KEKID and Wrapped) of the
	// given keys in one transaction; keys no longer stored are skipped.
	RewrapSubjectKeys(ctx context.Context, keys []SubjectKey) error
	// DeleteSubjectKey destroys a subject's key so that no page of the
	// store keeps it (SQLite: secure_delete and a WAL checkpoint); it
	// reports whether there was one.
	DeleteSubjectKey(ctx context.Context, pseudonym string) (bool, error)
	// SealInfo returns what the registry records about its sealing
	// (empty: an unsealed registry); SetSealInfo records one value.
	SealInfo(ctx context.Context) (map[string]string, error)
	SetSealInfo(ctx context.Context, name, value string) error
}

// CheckEraser is a check log that can forget the checks run on a subject.
type CheckEraser interface {
	DeleteChecksOf(ctx context.Context, subject string) (int64, error)
}

// SubjectEraser is a store that can erase a subject (crypto-shredding,
// package seal): destroy its data key after logging why.
type SubjectEraser interface {
	Erase(ctx context.Context, subject string, e Erasure) (*Event, error)
}
