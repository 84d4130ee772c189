package main

import (
	"context"
	"credo/seal"

	"credo"
)

// bulkLoader is a store that loads a registry without records in bulk
// (the embedded store: sqlite.DB.StartBulk).
type bulkLoader interface {
	StartBulk(ctx context.Context) error
	EndBulk(ctx context.Context) error
}

// startBulk starts a bulk load into st for the command's --bulk flag and
// returns the function that ends it (it must run, on success or not: it
// writes the rows the load kept aside into their tables; a load not ended
// is ended when the registry is next opened).
func startBulk(ctx context.Context, st any) (func() error, error) {
	if s, ok := st.(*seal.Store); ok {
		st = s.Unwrap() // the sealed store seals; the store under it loads
	}
	bl, ok := st.(bulkLoader)
	if !ok {
		return nil, credo.FieldErrorf("--bulk", "only the embedded store (--db) loads in bulk")
	}
	if err := bl.StartBulk(ctx); err != nil {
		return nil, credo.FieldErrorf("--bulk", "%s", credo.ErrorMessage(err))
	}
	return func() error { return bl.EndBulk(context.WithoutCancel(ctx)) }, nil
}
