package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"credo/ident"
	"credo/policy"
)

func loadLegacy(file string) (map[string]bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ident.LoadLegacyUSCC(f)
}

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Lint and publish policy documents"}
	var asJSON bool
	lint := &cobra.Command{
		Use:   "lint FILE...",
		Short: "Check policy files: errors as FILE:LINE (exit 1), warnings printed (exit 0)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := false
			var all []policy.Diagnostic
			for _, file := range args {
				p, err := policy.Load(file)
				var errs policy.Errors
				switch {
				case errors.As(err, &errs):
					failed = true
					all = append(all, errs...)
				case err != nil:
					failed = true
					all = append(all, policy.Diagnostic{File: file, Line: 0, Message: credoMessage(err)})
				default:
					all = append(all, p.Warnings...)
				}
			}
			if asJSON {
				if all == nil {
					all = []policy.Diagnostic{}
				}
				if err := json.NewEncoder(cmd.OutOrStdout()).Encode(all); err != nil {
					return err
				}
			} else {
				nerr, nwarn := 0, 0
				for _, d := range all {
					if d.Warning {
						nwarn++
					} else {
						nerr++
					}
					fmt.Fprintln(cmd.OutOrStdout(), d.String())
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%d error(s), %d warning(s)\n", nerr, nwarn)
			}
			if failed {
				return exitError{1}
			}
			return nil
		},
	}
	lint.Flags().BoolVar(&asJSON, "json", false, "print diagnostics as JSON")
	cmd.AddCommand(lint, newPublishCmd())
	return cmd
}
