package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/ingest"
	"credo/registry"
	"credo/sqlite"
)

// dbFlag adds the --db flag every command over a registry takes.
func dbFlag(cmd *cobra.Command, db *string) {
	cmd.Flags().StringVar(db, "db", "credo.db", "registry database file (SQLite)")
}

// openStore opens the registry's store; must says whether it must exist.
func openStore(path string, must bool) (credo.Store, error) {
	if must {
		if _, err := os.Stat(path); err != nil {
			return nil, credo.Errorf(credo.ENOTFOUND, "no registry at %s: create one with `credo init --db %s --policy POLICY.yaml`", path, path)
		}
	}
	return sqlite.Open(path)
}

// openRegistry opens a registry for a one-shot command: without the decision
// table, which only a server needs.
func openRegistry(ctx context.Context, path string) (*registry.Registry, credo.Store, error) {
	st, err := openStore(path, true)
	if err != nil {
		return nil, nil, err
	}
	reg, err := registry.Open(ctx, st, registry.Options{NoTable: true, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return reg, st, nil
}

// parseInstant parses a flag value as RFC 3339 or YYYY-MM-DD (in loc).
func parseInstant(flag, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := ingest.ParseTime(s, loc)
	if err != nil {
		return time.Time{}, credo.FieldErrorf("--"+flag, "%v", err)
	}
	return t, nil
}

// parseAtKnown parses the --at and --known flags of commands that look at
// the registry as at one instant, as known at another.
func parseAtKnown(at, known string, loc *time.Location) (atT, knownT time.Time, err error) {
	if atT, err = parseInstant("at", at, loc); err != nil {
		return
	}
	knownT, err = parseInstant("known", known, loc)
	return
}

func newInitCmd() *cobra.Command {
	var db, pol string
	cmd := &cobra.Command{
		Use:     "init --db DB --policy FILE",
		Short:   "Create a registry and publish its first policy",
		Example: "  credo init --db city.db --policy policies/beijing.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if pol == "" {
				return credo.FieldErrorf("--policy", "is required: the policy file to publish first")
			}
			src, err := os.ReadFile(pol)
			if err != nil {
				return credo.FieldErrorf("--policy", "%v", err)
			}
			st, err := openStore(db, false)
			if err != nil {
				return err
			}
			defer st.Close()
			reg, err := registry.Open(cmd.Context(), st, registry.Options{})
			if err != nil {
				return err
			}
			pv, warns, err := reg.Publish(cmd.Context(), pol, src, time.Time{})
			if err != nil {
				return err
			}
			for _, w := range warns {
				fmt.Fprintln(cmd.ErrOrStderr(), w.String())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registry %s: published policy %q version %s, effective %s\n", db, pv.Name, pv.Hash[:12], pv.Effective.Format(time.RFC3339))
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&pol, "policy", "", "policy file to publish")
	return cmd
}

func newPublishCmd() *cobra.Command {
	var db, eff string
	cmd := &cobra.Command{
		Use:   "publish --db DB FILE [--effective T]",
		Short: "Publish a new policy version (every version is kept)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := os.ReadFile(args[0])
			if err != nil {
				return credo.Errorf(credo.EINVALID, "%v", err)
			}
			reg, st, err := openRegistry(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			effective, err := parseInstant("effective", eff, time.UTC)
			if err != nil {
				return err
			}
			pv, warns, err := reg.Publish(cmd.Context(), args[0], src, effective)
			if err != nil {
				return err
			}
			for _, w := range warns {
				fmt.Fprintln(cmd.ErrOrStderr(), w.String())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "published policy %q version %s, effective %s\n", pv.Name, pv.Hash[:12], pv.Effective.Format(time.RFC3339))
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&eff, "effective", "", "when the version takes effect (RFC 3339 or YYYY-MM-DD UTC; default: the policy's own effective time)")
	return cmd
}

func newVerifyCmd() *cobra.Command {
	var db string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify --db DB",
		Short: "Re-walk the hash-chained event log and report the first event that does not match",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := st.Verify(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(out, res); err != nil {
					return err
				}
			} else if res.OK {
				fmt.Fprintf(out, "ok: %d events, head %d %s\n", res.Count, res.HeadSeq, res.HeadHash)
			} else {
				fmt.Fprintf(out, "FAILED at event %d: %s\n", res.FirstBad, res.Problem)
			}
			if !res.OK {
				return exitError{1}
			}
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func asCredo(err error, e **credo.Error) bool { return errors.As(err, e) }

func asLineErr(err error, e **ingest.LineError) bool { return errors.As(err, e) }
