package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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
					all = append(all, policy.Diagnostic{File: file, Line: 0, Message: fileProblem(err)})
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
					if d.Line == 0 { // the file as a whole: no line to name
						fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", d.File, d.Message)
						continue
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
	cmd.AddCommand(lint, newPublishCmd(), newPolicyDiffCmd())
	return cmd
}

func newPolicyDiffCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Compare two policy files by concept: rules, lists, measures, schemes, sectors, authorities, procedures",
		Long: `Compare two policy files by concept rather than by line: the rules, lists,
measures, schemes (and their tiers), sectors and authorities added, removed
or changed, with the settings that differ (points, periods, conditions,
legal bases, lifetimes...). Exit status 0 when they are the same by
concept, 1 when they differ (as diff(1)), 2 on an error.`,
		Example: "  credo policy diff policies/beijing.yaml policies/beijing-draft.yaml",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ps [2]*policy.Policy
			for i, file := range args {
				p, err := policy.Load(file)
				if err != nil {
					var errs policy.Errors
					if errors.As(err, &errs) {
						for _, d := range errs {
							fmt.Fprintln(cmd.ErrOrStderr(), d.String())
						}
						return exitError{2}
					}
					return err
				}
				ps[i] = p
			}
			d := policy.Compare(ps[0], ps[1])
			if asJSON {
				if err := writeJSON(cmd.OutOrStdout(), d); err != nil {
					return err
				}
			} else if err := d.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if !d.Empty() {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the difference as JSON")
	return cmd
}

// fileProblem says why a policy file could not be read, in words rather
// than Go's (no "open X: no such file or directory").
func fileProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "the file does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "the file may not be read (permission denied)"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return credoMessage(err)
}
