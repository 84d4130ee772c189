package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/registry"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens"}
	var db storeFlag
	var role, authority, subject, name string
	var sectors []string
	create := &cobra.Command{
		Use:   "create --db DB --role admin|authority|checker|subject|auditor [--authority ID] [--sector S...] [--subject ID]",
		Short: "Create a token and print its secret (shown once; only its hash is stored)",
		Example: "  credo token create --db city.db --role checker --sector aviation --name 'Air China'\n" +
			"  credo token create --db city.db --role checker --sector rail-highspeed --sector rail-softsleeper --name 'China Railway 12306'\n" +
			"  credo token create --db city.db --role authority --authority court.beijing.chaoyang",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, st, err := openRegistry(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			t := &credo.Token{Role: role, Name: name, Authority: authority, Sectors: sectors, Subject: subject}
			secret, err := createToken(cmd, reg, st, t)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", secret)
			fmt.Fprintf(cmd.ErrOrStderr(), "token %s (%s) created; the secret above is shown only once\n", t.ID, t.Role)
			return nil
		},
	}
	dbFlag(create, &db)
	create.Flags().StringVar(&role, "role", "", "admin, authority, checker, subject or auditor")
	create.Flags().StringVar(&authority, "authority", "", "the authority an authority token files for")
	create.Flags().StringSliceVar(&sectors, "sector", nil, "a sector a checker token may check (repeatable)")
	create.Flags().StringVar(&subject, "subject", "", "the subject a subject token reads")
	create.Flags().StringVar(&name, "name", "", "who holds the token (shown in subjects' access logs)")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list --db DB",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer st.Close()
			ts, err := st.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), ts)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tROLE\tNAME\tBOUND TO\tCREATED\tREVOKED")
			for _, t := range ts {
				bound := t.Authority + t.Subject
				if len(t.Sectors) > 0 {
					bound = fmt.Sprint(t.Sectors)
				}
				revoked := "-"
				if !t.Revoked.IsZero() {
					revoked = t.Revoked.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, t.Name, bound, t.Created.Format(time.RFC3339), revoked)
			}
			return tw.Flush()
		},
	}
	dbFlag(list, &db)
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	revoke := &cobra.Command{
		Use:   "revoke --db DB ID",
		Short: "Revoke a token (a running server honours it within its token cache time, 10 s)",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.RevokeToken(cmd.Context(), args[0], time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %s revoked\n", args[0])
			return nil
		},
	}
	dbFlag(revoke, &db)
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// createToken issues a token (registry.IssueToken: its binding checked
// against the policy in force) and returns its secret; errors name the
// command's flags.
func createToken(cmd *cobra.Command, reg *registry.Registry, ts credo.TokenStore, t *credo.Token) (string, error) {
	secret, err := reg.IssueToken(cmd.Context(), ts, t)
	var e *credo.Error
	if err == nil || !errors.As(err, &e) || e.Code != credo.EINVALID {
		return secret, err
	}
	flag := map[string]string{"role": "--role", "authority": "--authority", "sectors": "--sector", "subject": "--subject"}[e.Field]
	if e.Field == "" {
		return "", credo.Errorf(credo.EINVALID, "--authority, --sector and --subject go only with the roles authority, checker and subject")
	}
	if flag == "" {
		return "", err
	}
	c := *e
	c.Field = flag
	return "", &c
}
