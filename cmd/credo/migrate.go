package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/postgres"
	"credo/registry"
	"credo/sqlite"
)

func newMigrateCmd() *cobra.Command {
	var db storeFlag
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "migrate (--db DB | --postgres URL)",
		Short: "Convert a registry from the JSON event format to the compact encoding (verifying the old and the new chain)",
		Long: `Convert a registry written before the compact event encoding (JSON event
bodies, hex hashes: schema versions before 0090), which this program refuses
to open, in one transaction: verify the old hash chain (refusing a log that
does not verify), re-encode every event in order into a new chain (the same
events with the same numbers; notices whose texts the notice template renders
again byte for byte keep their facts and the digests of their texts), append
a log.migrated event recording the old head (seq and hash) and the new hash of
that event, verify the new chain, and only then commit. Then verify the
projections and build the Merkle tree.

Signed checkpoints, receipts and witnesses of the old log do not extend to
the new one: the log.migrated event ties the old head to it. Remove the
checkpoint file serve keeps (--checkpoint-file) before serving again.`,
		Example: "  credo migrate --db city.db\n  credo migrate --postgres postgres://credo@db/credo",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dsn, err := db.pgURL()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			start := time.Now()
			hook := registry.NoticesAsFacts()
			var migrated *credo.Event
			var events int64
			if dsn == "" {
				res, err := sqlite.ConvertFormat(ctx, db.db, hook)
				if err != nil {
					return err
				}
				migrated, events = res.Migrated, res.Events
			} else {
				res, err := postgres.ConvertFormat(ctx, dsn, hook)
				if err != nil {
					return err
				}
				migrated, events = res.Migrated, res.Events
			}
			// Open it as any command would: the tree is built, the
			// projections are checked against a replay of the new log.
			st, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := st.Verify(ctx)
			if err != nil {
				return err
			}
			out := struct {
				Events    int64               `json:"events"`
				Migration *credo.LogMigration `json:"migration"`
				Seq       int64               `json:"seq"`
				Hash      string              `json:"hash"`
				Verify    credo.VerifyResult  `json:"verify"`
				Projected *bool               `json:"projections_ok,omitempty"`
			}{events, migrated.Migration, migrated.Seq, migrated.Hash, res, nil}
			pres, err := st.VerifyProjections(context.WithoutCancel(ctx))
			if err != nil {
				return err
			}
			out.Projected = &pres.OK
			res.OK = res.OK && pres.OK
			w := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(w, out); err != nil {
					return err
				}
			} else {
				m := migrated.Migration
				fmt.Fprintf(w, "converted %d events to the compact encoding in %s (%d notices kept as their facts)\n",
					events, time.Since(start).Round(time.Millisecond), m.NoticesAsFacts)
				fmt.Fprintf(w, "old head: event %d %s\n", m.OldHeadSeq, m.OldHeadHash)
				fmt.Fprintf(w, "new head: event %d %s (log.migrated; event %d is now %s)\n", migrated.Seq, migrated.Hash, m.OldHeadSeq, m.NewHeadHash)
				if res.OK {
					fmt.Fprintln(w, "ok: the new log and its projections verify")
				}
			}
			if !res.OK {
				fmt.Fprintf(w, "FAILED: the converted registry does not verify: %s\n", res.Problem)
				return exitError{1}
			}
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
