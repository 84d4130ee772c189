package main

import (
	"bufio"
	"credo/policy"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"credo"
	"credo/simulate"
)

func newSimulateCmd() *cobra.Command {
	var db storeFlag
	var draftFile, at, known, htmlFile, lang string
	var asJSON, htmlSubjects bool
	var opts simulate.Options
	cmd := &cobra.Command{
		Use:   "simulate --db DB --policy DRAFT.yaml [--at T]",
		Short: "Show what a draft policy would change, and for whom, before it is published",
		Long: `Evaluate every subject of the registry under the policy in force and under a
draft at the same instant (--at, default now; by what is known at --known,
default now: everything filed so far), with the engine that answers live
checks, and report the difference: tier transitions per scheme, entries and
exits per list, decisions newly applied or lifted per sector, breakdowns by
district, age band and sex (organisations: district and registration type),
and the disparity ratio of each adverse effect between groups, flagged under
--threshold (the four-fifths rule by default).

The registry knows only subjects with records: rates are among them. The
terminal summary and --json include the most affected subjects (this is an
admin tool); the --html report leaves them out unless --html-subjects.`,
		Example: `  credo simulate --db city.db --policy policies/beijing-draft.yaml
  credo simulate --db city.db --policy draft.yaml --at 2026-07-01 --html impact.html
  credo simulate --db city.db --policy draft.yaml --json --threshold 0.9 --min-group 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if draftFile == "" {
				return credo.FieldErrorf("--policy", "is required: the draft policy file to simulate")
			}
			src, err := os.ReadFile(draftFile)
			if err != nil {
				return credo.FieldErrorf("--policy", "%v", err)
			}
			if opts.Threshold <= 0 || opts.Threshold > 1 {
				return credo.FieldErrorf("--threshold", "must be above 0 and at most 1, got %g", opts.Threshold)
			}
			if opts.Top == 0 {
				opts.Top = -1 // none
			}
			l := policy.MatchLanguage(lang)
			if l == "" {
				return credo.FieldErrorf("--lang", "must be en or zh-CN, got %q", lang)
			}
			lang = l
			reg, st, err := openRegistry(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			now := reg.Now()
			pol, _, err := reg.Policy(cmd.Context())
			if err != nil {
				return err
			}
			atT, knownT, err := parseAtKnown(at, known, pol.Location())
			if err != nil {
				return err
			}
			if atT.IsZero() {
				atT = now
			}
			if knownT.IsZero() {
				knownT = now // as for check and show: everything filed so far
			}
			opts.Known = knownT
			if err := knownTooEarly(cmd.Context(), st, knownT, pol.Location()); err != nil {
				return err
			}
			if err := atTooEarly(cmd.Context(), st, atT, pol.Location()); err != nil {
				return err
			}
			cur, draft, err := simulate.Versions(reg.Engine(), atT, knownT, draftFile, src)
			if err != nil {
				return err
			}
			for _, w := range draft.Policy.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), w.String())
			}
			opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			r, err := simulate.Run(cmd.Context(), st, cur, draft, atT, opts)
			if err != nil {
				return err
			}
			if htmlFile != "" {
				f, err := os.Create(htmlFile)
				if err != nil {
					return credo.FieldErrorf("--html", "%v", err)
				}
				page := r.Redact()
				if htmlSubjects {
					page = r
				}
				w := bufio.NewWriter(f)
				err = simulate.WriteHTML(w, page, lang)
				if err == nil {
					err = w.Flush()
				}
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", htmlFile)
			}
			for _, w := range r.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "credo: warning:", w)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), r)
			}
			return simulate.WriteText(cmd.OutOrStdout(), r)
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&draftFile, "policy", "", "the draft policy file")
	atKnownFlags(cmd, &at, &known)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&htmlFile, "html", "", "also write the HTML report (with charts) to this file")
	cmd.Flags().BoolVar(&htmlSubjects, "html-subjects", false, "include the most affected subjects in the HTML report (never in one for publication)")
	cmd.Flags().StringVar(&lang, "lang", "en", "language of the HTML report: en or zh-CN")
	cmd.Flags().Float64Var(&opts.Threshold, "threshold", 0.8, "flag a disparity ratio below this (0-1; the four-fifths rule)")
	cmd.Flags().IntVar(&opts.MinGroup, "min-group", 30, "groups with fewer members take no part in disparity ratios")
	cmd.Flags().IntVar(&opts.Top, "top", 50, "how many most affected subjects to list (0: none)")
	return cmd
}
