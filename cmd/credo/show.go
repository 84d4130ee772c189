package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/engine"
	"credo/policy"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newShowCmd() *cobra.Command {
	var db storeFlag
	var at, known, kind, lang string
	var asJSON bool
	var remote remoteFlags
	cmd := &cobra.Command{
		Use:   "show --db DB SUBJECT [--at T] [--known T] [--kind person|org] [--lang en|zh-CN]",
		Short: "Show a subject's whole file: schemes, listings, measures and records",
		Args:  exactArgs("SUBJECT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject, err := subjectArg(args[0], kind)
			if err != nil {
				return err
			}
			args = []string{subject}
			if lang != "" {
				if lang = policy.MatchLanguage(lang); lang == "" {
					return credo.FieldErrorf("--lang", "must be en or zh-CN")
				}
			}
			ctx := cmd.Context()
			svc, err := openServices(ctx, &remote, db)
			if err != nil {
				return err
			}
			defer svc.close()
			// Dates in the policy's time zone, named (a server's JSON
			// carries UTC offsets only).
			pol, err := svc.policies.Policy(ctx)
			if err != nil {
				return err
			}
			loc, tx := pol.Location(), showTexts(pol, lang)
			atT, knownT, err := parseAtKnown(at, known, loc)
			if err != nil {
				return err
			}
			if err := tooEarly(ctx, svc.policies, atT, knownT, loc); err != nil {
				return err
			}
			s, err := svc.subjects.State(ctx, args[0], atT, knownT)
			if err != nil {
				return flagErrors(err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), s)
			}
			printState(cmd.OutOrStdout(), s, loc, tx)
			ns, err := svc.subjects.Notices(ctx, s.Subject)
			if err != nil {
				return err
			}
			printNotices(cmd.OutOrStdout(), noticesKnown(ns, knownT), loc, tx)
			return nil
		},
	}
	dbFlag(cmd, &db)
	atKnownFlags(cmd, &at, &known)
	cmd.Flags().StringVar(&kind, "kind", "", "the kind of subject, person or org: needed for 18 digits that read both as an ID card number and as a credit code")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&lang, "lang", "", "add the policy's texts (titles, tier meanings, legal bases, how to contest) in this language, en or zh-CN, and print the notices in it only (default: the file as it is, notices in both)")
	remote.register(cmd)
	return cmd
}

// showTexts is the --lang rendering of the policy's texts, nil without
// --lang.
func showTexts(pol *policy.Policy, lang string) *texts {
	if lang == "" || pol == nil {
		return nil
	}
	return &texts{pol: pol, lang: lang}
}

// instant shows an instant in the policy's time zone, the zone named.
func instant(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04:05 -07:00") + " " + loc.String()
}

func day(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02")
}

func printState(w io.Writer, s *engine.State, loc *time.Location, tx *texts) {
	fmt.Fprintf(w, "%s (%s) at %s, policy %s\n", s.Subject, s.Kind, instant(s.At, loc), s.Policy[:min(12, len(s.Policy))])
	fmt.Fprintf(w, "(dates are days in %s)\n", loc)
	// title adds a last column with the policy's text in the --lang
	// language (the column is last: a CJK text does not shift the others).
	title := func(text func() string) string {
		if tx == nil {
			return ""
		}
		return "\t" + text()
	}
	tcol := ""
	if tx != nil {
		tcol = "\t" + tx.head("TITLE")
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\n"+tx.head("SCHEME", "SCORE", "TIER", "NOTE")+tcol)
	for _, sc := range s.Schemes {
		if sc.Scored {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d record(s) counting%s\n", sc.Scheme, sc.Score, sc.Tier, len(sc.Contributions), title(func() string { return tx.scheme(sc.Scheme, sc.Tier) }))
		} else {
			fmt.Fprintf(tw, "%s\t-\t-\tnot scored: %s%s\n", sc.Scheme, strings.ReplaceAll(sc.Why, "_", " "), title(func() string { return tx.scheme(sc.Scheme, "") }))
		}
	}
	fmt.Fprintln(tw, "\n"+tx.head("LISTING", "KIND", "SINCE", "UNTIL", "RECORDS")+tcol)
	if len(s.Listings) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	var lists []string
	for _, l := range s.Listings {
		until := day(l.Until, loc)
		if l.UntilFulfilled {
			until = "fulfilment, at the latest " + until
		}
		if l.Derived {
			until = "while the condition holds"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v%s\n", l.List, l.Kind, day(l.Since, loc), until, l.Records, title(func() string { return tx.list(l.List) }))
		lists = append(lists, l.List)
	}
	if tx == nil {
		fmt.Fprintln(tw, "\nMEASURE\tSECTOR\tEFFECT\tLISTS\tUNTIL\tLEGAL BASIS")
	} else { // the legal bases, long, in a section of their own
		fmt.Fprintln(tw, "\n"+tx.head("MEASURE", "SECTOR", "EFFECT", "LISTS", "UNTIL", "TITLE"))
	}
	if len(s.Measures) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	for _, m := range s.Measures {
		lists := strings.Join(m.Lists, ",")
		if m.Via != "" {
			lists += " via " + m.Via + " (" + m.ViaRole + ")"
		}
		last := m.LegalBasis
		if tx != nil {
			last = tx.measure(m.Measure)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Measure, m.Sector, m.Effect, lists, day(m.Until, loc), last)
	}
	fmt.Fprintln(tw, "\n"+tx.head("RECORD", "RULE", "AUTHORITY", "CASE", "DECIDED", "STATUS", "UNTIL")+tcol)
	if len(s.Records) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	for _, r := range s.Records {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s%s\n", r.Record.ID, r.Record.Rule, r.Record.Authority, r.Record.CaseRef, day(r.Record.DecidedAt, loc), r.Status, day(r.Until, loc),
			title(func() string { return tx.record(r.Record.Rule, r.Record.Authority) }))
	}
	tw.Flush()
	tx.printMeasureBases(w, s.Measures)
	tx.printListTexts(w, lists)
	if !s.Next.IsZero() {
		fmt.Fprintf(w, "\nnext change by itself: %s\n", instant(s.Next, loc))
	}
}

func newCheckCmd() *cobra.Command {
	var db storeFlag
	var at, known, kind, lang string
	var asJSON bool
	var remote remoteFlags
	cmd := &cobra.Command{
		Use:   "check --db DB SUBJECT SECTOR [--at T] [--known T] [--kind person|org]",
		Short: "Answer a check: may SUBJECT use SECTOR? (allow, limit or deny, with reasons)",
		Args:  exactArgs("SUBJECT", "SECTOR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			subject, err := subjectArg(args[0], kind)
			if err != nil {
				return err
			}
			args = []string{subject, args[1]}
			if lang != "" {
				if lang = policy.MatchLanguage(lang); lang == "" {
					return credo.FieldErrorf("--lang", "must be en or zh-CN")
				}
			}
			ctx := cmd.Context()
			svc, err := openServices(ctx, &remote, db)
			if err != nil {
				return err
			}
			defer svc.close()
			loc := svc.location(ctx)
			atT, knownT, err := parseAtKnown(at, known, loc)
			if err != nil {
				return err
			}
			if err := tooEarly(ctx, svc.policies, atT, knownT, loc); err != nil {
				return err
			}
			d, err := svc.checks.Answer(ctx, credo.CheckQuery{Subject: args[0], Sector: args[1], At: atT, Known: knownT, Lang: lang})
			if err != nil {
				return flagErrors(err)
			}
			return printDecision(cmd, d, loc, asJSON)
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "", "the language of the policy's texts in the answer: en or zh-CN (default: the policy's first language)")
	dbFlag(cmd, &db)
	atKnownFlags(cmd, &at, &known)
	cmd.Flags().StringVar(&kind, "kind", "", "the kind of subject, person or org: needed for 18 digits that read both as an ID card number and as a credit code")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	remote.register(cmd)
	return cmd
}

func printDecision(cmd *cobra.Command, d engine.Decision, loc *time.Location, asJSON bool) error {
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), d)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s %s: %s", d.Subject, d.Sector, strings.ToUpper(d.Decision))
	for k, v := range d.Params {
		fmt.Fprintf(out, " %s=%g", k, v)
	}
	fmt.Fprintln(out)
	for _, r := range d.Reasons {
		fmt.Fprintf(out, "  %s (%s) lists %v until %s\n    legal basis: %s\n    contest: %s\n", r.Code, r.Effect, r.Lists, day(r.Until, loc), r.LegalBasis, r.Contest)
	}
	if len(d.Grants) > 0 {
		fmt.Fprintf(out, "  grants: %s\n", strings.Join(d.Grants, ", "))
	}
	return nil
}

// atKnownFlags adds --at and --known, which mean the same in every command
// (show, check, simulate), and says so in the command's --help.
func atKnownFlags(cmd *cobra.Command, at, known *string) {
	cmd.Flags().StringVar(at, "at", "", "the instant the answer is about (default now; "+instantHelp+")")
	cmd.Flags().StringVar(known, "known", "", "use only what was recorded by this instant (default now: everything filed so far)")
	if cmd.Long == "" {
		cmd.Long = cmd.Short + "."
	}
	cmd.Long += "\n\n" + atKnownHelp
}
