package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/seal"
)

// credo erase, credo retention erase and credo keys rotate: the operator's
// tools of a sealed registry (package seal, docs/threat-model.md).

func newEraseCmd() *cobra.Command {
	var db storeFlag
	var reason, basis, kind string
	cmd := &cobra.Command{
		Use:   "erase --db DB SUBJECT --reason TEXT --basis TEXT",
		Short: "Erase a subject on request (a court order, a successful rectification): destroy their data key",
		Long: `Erase a subject from a sealed registry: a subject.erased event records the
reason and the legal basis (nothing personal), the erasure ledger (DB.erasures)
records it, then the subject's data key is destroyed and the checks run on
them deleted. The log keeps the subject's events as ciphertext no one can
read: credo verify and every proof still pass, and the registry answers as
for an unknown subject. Stop a running server first, or erase through its
API (POST /v1/subjects/{subject}/erase): a server keeps the keys it has
unwrapped in memory until it restarts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return credo.FieldErrorf("--reason", "is required: why the subject is erased")
			}
			if basis == "" {
				return credo.FieldErrorf("--basis", "is required: the legal basis of the erasure (e.g. PIPL art. 47)")
			}
			subject, err := subjectArg(args[0], kind)
			if err != nil {
				return err
			}
			reg, st, err := openRegistry(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			ev, err := reg.Erase(cmd.Context(), subject, credo.Erasure{Reason: reason, LegalBasis: basis})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "erased %s: event %d (subject.erased, %s); their data key is destroyed\n", args[0], ev.Seq, ev.Subject)
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&reason, "reason", "", "why the subject is erased (no personal data: it is logged)")
	cmd.Flags().StringVar(&basis, "basis", "", "the legal basis of the erasure")
	cmd.Flags().StringVar(&kind, "kind", "", "person or org, for an ambiguous SUBJECT")
	return cmd
}

func newRetentionEraseCmd() *cobra.Command {
	var db storeFlag
	var at string
	var dry bool
	cmd := &cobra.Command{
		Use:   "erase --db DB [--dry-run] [--at T]",
		Short: "Erase every subject whose last record is past its retention (serve does it daily)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			reg, st, err := openRegistry(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			pol, _, err := reg.Policy(ctx)
			if err != nil {
				return err
			}
			atT, err := parseInstant("at", at, pol.Location())
			if err != nil {
				return err
			}
			if atT.IsZero() {
				atT = reg.Now()
			}
			es, err := reg.EraseExpired(ctx, atT, dry)
			out := cmd.OutOrStdout()
			verb := "erased"
			if dry {
				verb = "would erase"
			}
			for _, e := range es {
				fmt.Fprintf(out, "%s %s: %d record(s), retention ended %s (%s)\n", verb, e.Subject, e.Records, e.RetentionEnd.In(pol.Location()).Format(time.DateOnly), e.LegalBasis)
			}
			fmt.Fprintf(out, "%s %d subject(s) past retention at %s\n", verb, len(es), atT.In(pol.Location()).Format(time.RFC3339))
			return err
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().BoolVar(&dry, "dry-run", false, "list the subjects only")
	cmd.Flags().StringVar(&at, "at", "", "the instant retention is judged at (default now)")
	return cmd
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "The keys of a sealed registry"}
	var db storeFlag
	var next string
	rotate := &cobra.Command{
		Use:   "rotate --db DB --keys OLD --new-keys NEW",
		Short: "Re-wrap every subject's data key under a new key-encryption key, without rewriting the log",
		Long: `Re-wrap every subject's data key under the key-encryption key of NEW
(a keys file with the same lookup secret: pseudonyms are in the log and do
not change). Keys are re-wrapped in batches, each one transaction; an
interrupted rotation is finished by running it again. Afterwards the
registry opens with NEW only; the decision table's snapshot, encrypted under
a key derived from the old key-encryption key, is rebuilt at the next start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if next == "" {
				return credo.FieldErrorf("--new-keys", "is required: the keys file with the new key-encryption key")
			}
			nk, err := seal.Load(next)
			if err != nil {
				return credo.FieldErrorf("--new-keys", "%s", credo.ErrorMessage(err))
			}
			old, err := db.loadKeys()
			if err != nil {
				return err
			}
			if old == nil {
				return credo.Errorf(credo.EINVALID, "registry %s: give its current keys (--keys FILE)", db)
			}
			raw, err := openRawStore(db, true)
			if err != nil {
				return err
			}
			// Keys an interrupted rotation re-wrapped already unwrap
			// under the new key.
			st, err := seal.Open(cmd.Context(), raw, old, seal.Options{Ledger: db.ledgerPath(), Previous: []seal.KeyWrapper{nk.Wrapper()}})
			if err != nil {
				raw.Close()
				return err
			}
			defer st.Close()
			n, err := st.Rotate(cmd.Context(), nk)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "re-wrapped %d data key(s) under key-encryption key %s; open the registry with %s from now on\n", n, nk.KEKID(), next)
			return nil
		},
	}
	dbFlag(rotate, &db)
	rotate.Flags().StringVar(&next, "new-keys", "", "the keys file with the new key-encryption key (and the same lookup secret)")
	cmd.AddCommand(rotate)
	return cmd
}
