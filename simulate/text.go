package simulate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the report as a terminal summary.
func WriteText(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	p("Policy impact simulation at %s, as known at %s (%s)\n", r.At.Format(time.RFC3339), r.Known.In(r.At.Location()).Format(time.RFC3339), r.At.Location())
	for _, w := range r.Warnings {
		p("  WARNING: %s\n", w)
	}
	p("  current: %s %s (%s)\n", r.Current.Name, r.Current.Version, short(r.Current.Hash))
	p("  draft:   %s %s (%s)\n", r.Draft.Name, r.Draft.Version, short(r.Draft.Hash))
	p("  population: %d subjects (%d persons, %d organisations). %s\n", r.Population.Subjects, r.Population.Persons, r.Population.Orgs, r.Population.Note)
	p("  changed: %d subjects\n", r.Changed)
	p("  took: load %s, evaluate %s on %d workers\n\n", r.Timing.Load.Round(time.Millisecond), r.Timing.Evaluate.Round(time.Millisecond), r.Timing.Workers)

	for _, s := range r.Schemes {
		p("Scheme %s: %d stayed, %d down, %d up\n", s.Scheme, s.Stayed, s.Down, s.Up)
		if len(s.Transitions) > 0 {
			p("  from\tto\tsubjects\n")
			for _, t := range s.Transitions {
				p("  %s\t%s\t%d\n", t.From, t.To, t.Count)
			}
		}
		tw.Flush()
	}
	p("\nLists\tkind\tbefore\tafter\tentries\texits\t\n")
	for _, l := range r.Lists {
		p("  %s\t%s\t%d\t%d\t%d\t%d\t%s\n", l.List, l.Kind, l.Before, l.After, l.Entries, l.Exits, l.Status)
	}
	tw.Flush()
	p("\nSectors\tdenied\tnewly denied\tlifted\tlimited\tnewly limited\tlifted\tgrants lost\tnewly granted\n")
	for _, s := range r.Sectors {
		p("  %s\t%d→%d\t%d\t%d\t%d→%d\t%d\t%d\t%d\t%d\n", s.Sector, s.DeniedBefore, s.DeniedAfter, s.NewlyDenied, s.DenialsLifted,
			s.LimitedBefore, s.LimitedAfter, s.NewlyLimited, s.LimitsLifted, s.GrantsLost, s.NewlyGranted)
	}
	tw.Flush()
	p("\nMeasures\tsector\teffect\tbefore\tafter\tapplied\tlifted\t\n")
	for _, m := range r.Measures {
		if m.Before+m.After == 0 && m.Status == "" {
			continue
		}
		p("  %s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", m.Measure, m.Sector, m.Effect, m.Before, m.After, m.Applied, m.Lifted, m.Status)
	}
	tw.Flush()
	p("\nAdverse effects\tsubjects\n")
	for _, e := range r.Effects {
		p("  %s\t%d\n", e.Label, e.Count)
	}
	tw.Flush()
	flagged, significant := 0, 0
	for _, d := range r.Disparities {
		if d.Flagged {
			flagged++
			if d.Significant {
				significant++
			}
		}
	}
	p("\nDisparities (ratio = lowest rate / highest rate across groups of at least %d; flagged below %.2f): %d of %d flagged, %d of them significant (Fisher exact, Bonferroni, p < 0.05)\n",
		r.MinGroup, r.Threshold, flagged, len(r.Disparities), significant)
	if len(r.Disparities) > 0 {
		p("  dimension\teffect\taffected\tratio\tlowest\thighest\tp\t\n")
		for _, d := range r.Disparities {
			mark := ""
			if d.Flagged {
				mark = "FLAGGED"
				if d.Significant {
					mark += ", significant"
				}
			}
			p("  %s\t%s\t%d\t%.2f\t%s %.3f%%\t%s %.3f%%\t%.3g\t%s\n", d.Dimension, d.Label, d.Affected, d.Ratio, d.MinGroup, 100*d.MinRate, d.MaxGroup, 100*d.MaxRate, d.PValue, mark)
		}
	}
	tw.Flush()
	if len(r.MostAffected) > 0 {
		p("\nMost affected subjects (admin view)\n  subject\tadverse\tchanges\n")
		for _, a := range r.MostAffected {
			p("  %s\t%d\t%s\n", a.Subject, a.Adverse, describe(a))
		}
	}
	return tw.Flush()
}

// describe summarises one subject's changes in a line.
func describe(a Affected) string {
	var parts []string
	if len(a.NewlyDenied) > 0 {
		parts = append(parts, "denied: "+strings.Join(a.NewlyDenied, ","))
	}
	if len(a.NewlyLimited) > 0 {
		parts = append(parts, "limited: "+strings.Join(a.NewlyLimited, ","))
	}
	if len(a.GrantsLost) > 0 {
		parts = append(parts, "rewards lost: "+strings.Join(a.GrantsLost, ","))
	}
	if len(a.Entered) > 0 {
		parts = append(parts, "listed: "+strings.Join(a.Entered, ","))
	}
	if len(a.Left) > 0 {
		parts = append(parts, "delisted: "+strings.Join(a.Left, ","))
	}
	for _, t := range a.Tiers {
		parts = append(parts, fmt.Sprintf("%s %s→%s (%d→%d)", t.Scheme, t.From, t.To, t.ScoreBefore, t.ScoreAfter))
	}
	return strings.Join(parts, "; ")
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
