package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/http/portal"
	"credo/registry"
)

func newPortalCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "portal", Short: "Web portal tools: one-time sign-in codes for citizens"}
	var db storeFlag
	code := &cobra.Command{
		Use:     "code --db DB SUBJECT",
		Short:   "Issue a one-time code a citizen signs in to the portal with (works once, within 24 hours)",
		Example: "  credo portal code --db city.db 11010519491231002X",
		Args:    exactArgs("SUBJECT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, st, err := openRegistry(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			c, id, err := issueCode(cmd.Context(), reg, st, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), c)
			fmt.Fprintf(cmd.ErrOrStderr(), "one-time code for %s (token %s): signs in once at /signin, until %s\n",
				args[0], id, time.Now().Add(portal.OneTimeCodeTTL).UTC().Format(time.RFC3339))
			return nil
		},
	}
	dbFlag(code, &db)
	cmd.AddCommand(code)
	return cmd
}

// issueCode validates the subject and issues a one-time code for it; it
// returns the code and the id of its token.
func issueCode(ctx context.Context, reg *registry.Registry, ts credo.TokenStore, subject string) (string, string, error) {
	id, err := reg.ParseSubject(subject)
	if err != nil {
		return "", "", credo.FieldErrorf("SUBJECT", "%s", credo.ErrorMessage(err))
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	tokID := "tok_" + hex.EncodeToString(b[:])
	c, err := portal.IssueCode(ctx, ts, id.Canonical, tokID, time.Now())
	return c, tokID, err
}

// newPortal builds the web portal served beside the API.
func newPortal(f *serveFlags, db store, reg *registry.Registry, logger *slog.Logger, flush func(context.Context) error) (*portal.Portal, error) {
	opts := portal.Options{Logger: logger, Secure: f.cert != "" || f.secureCookies, FlushChecks: flush}
	if f.portalKeyFile != "" {
		b, err := os.ReadFile(f.portalKeyFile)
		if err != nil {
			return nil, credo.FieldErrorf("--portal-key-file", "%v", err)
		}
		key := strings.TrimSpace(string(b))
		if len(key) < 32 {
			return nil, credo.FieldErrorf("--portal-key-file", "the key must be at least 32 characters")
		}
		opts.Key = []byte(key)
	}
	pt, err := portal.New(reg, db, db, opts)
	if err != nil {
		return nil, err
	}
	return pt, nil
}
