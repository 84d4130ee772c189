package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"credo/engine"
	"credo/policy"
	"credo/registry"
)

// newRetentionCmd is `credo retention report`: what the policy's retention
// periods will erase, and when.
func newRetentionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retention",
		Short: "Retention of personal data: what will be erased when",
	}
	var db storeFlag
	var at, subject, kind string
	var asJSON bool
	report := &cobra.Command{
		Use:   "report --db DB [--at T] [--subject ID] [--json]",
		Short: "Report when records pass their retention: subjects per month, or one subject's items with their retention end and legal basis",
		Long: `Retention runs from the end of an effect: a record's personal data is
kept for its rule's retention period after it stops counting, and for its
list's retention period after the listing it caused ends, whichever is
later; a logged check for the check log's period after the check.

Without --subject: for each month, how many records pass their retention
and how many subjects could then be forgotten (their last record past it).
With --subject: each record and logged check with its retention end and
legal basis. Nothing is erased here: ` + "`credo retention erase`" + ` erases the
subjects whose last record is past retention (and serve does it daily).`,
		Args: cobra.NoArgs,
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
			loc := pol.Location()
			atT, err := parseInstant("at", at, loc)
			if err != nil {
				return err
			}
			if atT.IsZero() {
				atT = reg.Now()
			}
			out := cmd.OutOrStdout()
			if subject != "" {
				return retentionOfSubject(ctx, out, reg, st, pol, atT, subject, kind, asJSON)
			}
			return retentionByMonth(ctx, out, reg, pol, atT, asJSON)
		},
	}
	dbFlag(report, &db)
	report.Flags().StringVar(&at, "at", "", "the instant to report at (default now)")
	report.Flags().StringVar(&subject, "subject", "", "one subject: each record with its retention end and legal basis")
	report.Flags().StringVar(&kind, "kind", "", "person or org, for an ambiguous --subject")
	report.Flags().BoolVar(&asJSON, "json", false, "write JSON")
	cmd.AddCommand(report, newRetentionEraseCmd())
	return cmd
}

// retentionOfSubject reports one subject's records and logged checks with
// their retention ends and legal bases.
func retentionOfSubject(ctx context.Context, out io.Writer, reg *registry.Registry, st store, pol *policy.Policy, atT time.Time, subject, kind string, asJSON bool) error {
	loc := pol.Location()
	id, err := subjectArg(subject, kind)
	if err != nil {
		return err
	}
	s, err := reg.SubjectRetention(ctx, id, atT)
	if err != nil {
		return flagErrors(err)
	}
	checks, err := st.ChecksOf(ctx, s.Subject, 0)
	if err != nil {
		return err
	}
	type check struct {
		ID      string    `json:"id"`
		At      time.Time `json:"at"`
		Until   time.Time `json:"retain_until"`
		Expired bool      `json:"expired"`
	}
	var cs []check
	for _, c := range checks {
		u := engine.CheckRetainUntil(pol, c.At)
		cs = append(cs, check{c.ID, c.At, u, !atT.Before(u)})
	}
	if asJSON {
		return writeJSON(out, struct {
			engine.SubjectRetention
			Checks      []check `json:"checks"`
			CheckBasis  string  `json:"check_log_legal_basis"`
			Forgettable bool    `json:"forgettable"`
		}{s, cs, pol.CheckLog.LegalBasis, s.Forgettable()})
	}
	day := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(loc).Format("2006-01-02")
	}
	fmt.Fprintf(out, "%s at %s: %d records, %d past retention\n", s.Subject, day(atT), len(s.Items), len(s.Expired))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECORD\tRULE\tEFFECT ENDS\tRETAINED UNTIL\tSET BY\tSTATE\tLEGAL BASIS")
	for _, it := range s.Items {
		state := "retained"
		switch {
		case it.Held != "":
			state = "held: " + it.Held
		case it.Until.IsZero():
			state = "no retention (rule not in the policy)"
		case it.Expired(atT):
			state = "past retention"
		}
		by := it.By
		if by != "" {
			by += " +" + it.Retain
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", it.RecordID, it.Rule, day(it.EffectEnd), day(it.Until), by, state, it.LegalBasis)
	}
	tw.Flush()
	fmt.Fprintf(out, "checks logged: %d (kept %s after each: %s)\n", len(cs), pol.CheckLog.Retain, pol.CheckLog.LegalBasis)
	for _, c := range cs {
		st := "retained"
		if c.Expired {
			st = "past retention"
		}
		fmt.Fprintf(out, "  %s  %s  until %s  %s\n", c.ID, day(c.At), day(c.Until), st)
	}
	switch {
	case s.Forgettable():
		fmt.Fprintln(out, "every record is past retention: the subject may be forgotten (credo retention erase)")
	case s.Open:
		fmt.Fprintln(out, "some records have no retention end yet (held, or no rule in the policy)")
	case !s.LastUntil.IsZero():
		fmt.Fprintf(out, "last record past retention on %s\n", day(s.LastUntil))
	}
	return nil
}

// retentionByMonth reports, per month, the records passing their
// retention and the subjects that could then be forgotten.
func retentionByMonth(ctx context.Context, out io.Writer, reg *registry.Registry, pol *policy.Policy, atT time.Time, asJSON bool) error {
	loc := pol.Location()
	type month struct {
		Month    string `json:"month"`
		Records  int    `json:"records"`  // records passing retention in the month
		Subjects int    `json:"subjects"` // subjects whose last record passes it in the month
	}
	months := map[string]*month{}
	get := func(t time.Time) *month {
		k := t.In(loc).Format("2006-01")
		if !t.After(atT) {
			k = "past"
		}
		if months[k] == nil {
			months[k] = &month{Month: k}
		}
		return months[k]
	}
	var subjects, open, records int
	err := reg.RetentionAll(ctx, atT, func(s engine.SubjectRetention) {
		subjects++
		for _, it := range s.Items {
			if it.Until.IsZero() || it.Held != "" {
				continue
			}
			records++
			get(it.Until).Records++
		}
		if s.Open {
			open++
		} else if len(s.Items) > 0 {
			get(s.LastUntil).Subjects++
		}
	})
	if err != nil {
		return err
	}
	rows := make([]month, 0, len(months))
	for _, m := range months {
		rows = append(rows, *m)
	}
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].Month == "past" || rows[j].Month != "past" && rows[i].Month < rows[j].Month
	})
	if asJSON {
		return writeJSON(out, struct {
			At       time.Time `json:"at"`
			Subjects int       `json:"subjects"`
			Open     int       `json:"open"`
			Months   []month   `json:"months"`
		}{atT, subjects, open, rows})
	}
	fmt.Fprintf(out, "retention at %s: %d subjects, %d records with a retention end, %d subjects held open\n", atT.In(loc).Format("2006-01-02"), subjects, records, open)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MONTH\tRECORDS PAST RETENTION\tSUBJECTS FORGOTTEN")
	for _, m := range rows {
		label := m.Month
		if label == "past" {
			label = "already past"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\n", label, m.Records, m.Subjects)
	}
	tw.Flush()
	fmt.Fprintln(out, "nothing is erased by this report: credo retention erase erases the subjects past retention (crypto-shredding); see docs/retention.md")
	return nil
}
