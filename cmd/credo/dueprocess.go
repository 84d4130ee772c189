package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/registry"
)

// The due-process commands: queues of disputes and repair applications,
// and the steps of each workflow. Locally (--db) they act as the operator
// (admin), or with --authority as that authority, whose rights the
// registry checks; with --server they go through the API with a token's
// rights.

// viaServices runs a command's work on the services --server or --db
// select (openServices), and returns its result with the policy's time
// zone, in which the command reads and prints instants.
func viaServices[T any](cmd *cobra.Command, remote *remoteFlags, db storeFlag,
	run func(ctx context.Context, svc *services, loc *time.Location) (T, error)) (T, *time.Location, error) {
	ctx := cmd.Context()
	svc, err := openServices(ctx, remote, db)
	if err != nil {
		var zero T
		return zero, nil, err
	}
	defer svc.close()
	loc := svc.location(ctx)
	v, err := run(ctx, svc, loc)
	return v, loc, err
}

// listState checks the --state flag: open, decided or all.
func listState(s string) (string, error) {
	switch s {
	case "open", "":
		return credo.StateOpen, nil
	case "decided":
		return credo.StateDecided, nil
	case "all":
		return "", nil
	}
	return "", credo.FieldErrorf("--state", "must be open, decided or all, not %q", s)
}

// left describes a deadline for a person: days left, due today or overdue.
func left(open, overdue bool, days int, outcome string) string {
	switch {
	case !open:
		return outcome
	case overdue && days < 0:
		return fmt.Sprintf("OVERDUE by %dd", -days)
	case overdue:
		return "OVERDUE"
	case days == 0:
		return "due today"
	}
	return fmt.Sprintf("%dd left", days)
}

func clock(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	if loc == nil {
		loc = t.Location()
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// zoneNote names the time zone the times above were shown in (the
// policy's; from a server, whose answers carry offsets only, the offset).
func zoneNote(w io.Writer, t time.Time, loc *time.Location) {
	if loc == nil {
		loc = t.Location()
	}
	_, off := t.In(loc).Zone()
	offset := fmt.Sprintf("UTC%+03d:%02d", off/3600, (off%3600)/60)
	if name := loc.String(); name != "" && name != "Local" && name != "UTC" {
		fmt.Fprintf(w, "(times in %s, %s)\n", name, offset)
		return
	}
	fmt.Fprintf(w, "(times in %s)\n", offset)
}

func printDisputes(w io.Writer, ds []registry.DisputeCase, loc *time.Location) {
	if len(ds) == 0 {
		fmt.Fprintln(w, "no disputes")
		return
	}
	if loc == nil { // from a server: show times in the policy's zone, as the deadlines come
		loc = ds[0].Deadline.Location()
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DISPUTE\tRECORD\tSUBJECT\tKIND\tDECIDER\tOPENED\tDEADLINE\tSTATUS")
	for _, d := range ds {
		kind := "objection"
		if d.Appeal {
			kind = "appeal"
		}
		decider := d.Decider
		if decider == "" {
			decider = "(admin)"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.RecordID, d.Subject, kind, decider,
			clock(d.OpenedAt, loc), clock(d.Deadline, loc), left(d.State == credo.StateOpen, d.Overdue, d.DaysLeft, d.Outcome))
	}
	tw.Flush()
	zoneNote(w, ds[0].Deadline, loc)
}

func printDispute(w io.Writer, d *registry.DisputeCase, loc *time.Location) {
	if loc == nil {
		loc = d.Deadline.Location()
	}
	kind := "objection"
	if d.Appeal {
		kind = "appeal"
	}
	fmt.Fprintf(w, "dispute %d: %s on record %d (%s, case %s, filed by %s) about %s\n", d.ID, kind, d.RecordID, d.Rule, d.CaseRef, d.Authority, d.Subject)
	fmt.Fprintf(w, "  grounds:   %s\n", d.Grounds)
	fmt.Fprintf(w, "  opened:    %s by %s\n", clock(d.OpenedAt, loc), d.OpenedBy)
	fmt.Fprintf(w, "  procedure: %s (when overdue: %s)\n", d.Procedure, d.OverdueRule)
	fmt.Fprintf(w, "  deadline:  %s, decided by %s\n", clock(d.Deadline, loc), orAdmin(d.Decider))
	defer zoneNote(w, d.Deadline, loc)
	if d.State == credo.StateOpen {
		fmt.Fprintf(w, "  status:    open, %s\n", left(true, d.Overdue, d.DaysLeft, ""))
		return
	}
	late := ""
	if d.DecidedLate {
		late = " (late)"
	}
	fmt.Fprintf(w, "  decided:   %s%s by %s: %s — %s\n", clock(d.DecidedAt, loc), late, d.DecidedBy, d.Outcome, d.Reason)
	if !d.CorrectBy.IsZero() {
		fmt.Fprintf(w, "  correct by %s\n", clock(d.CorrectBy, loc))
	}
	if !d.AppealBy.IsZero() {
		fmt.Fprintf(w, "  appeal to %s by %s\n", d.AppealTo, clock(d.AppealBy, loc))
	}
}

func orAdmin(s string) string {
	if s == "" {
		return "an admin (no appellate authority named)"
	}
	return s
}

func printRepairs(w io.Writer, rs []registry.RepairCase, loc *time.Location) {
	if len(rs) == 0 {
		fmt.Fprintln(w, "no repair applications")
		return
	}
	if loc == nil {
		loc = rs[0].Deadline.Location()
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPLICATION\tRECORD\tSUBJECT\tDECIDER\tAPPLIED\tDEADLINE\tSTATUS")
	for _, a := range rs {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.RecordID, a.Subject, a.Decider,
			clock(a.AppliedAt, loc), clock(a.Deadline, loc), left(a.State == credo.StateOpen, a.Overdue, a.DaysLeft, a.Outcome))
	}
	tw.Flush()
	zoneNote(w, rs[0].Deadline, loc)
}

func printRepair(w io.Writer, a *registry.RepairCase, loc *time.Location) {
	if loc == nil {
		loc = a.Deadline.Location()
	}
	fmt.Fprintf(w, "repair application %d: record %d (%s, case %s, filed by %s) about %s\n", a.ID, a.RecordID, a.Rule, a.CaseRef, a.Authority, a.Subject)
	fmt.Fprintf(w, "  statement: %s\n", a.Statement)
	fmt.Fprintf(w, "  applied:   %s by %s, public credit commitment made\n", clock(a.AppliedAt, loc), a.AppliedBy)
	fmt.Fprintf(w, "  deadline:  %s, decided by %s\n", clock(a.Deadline, loc), a.Decider)
	defer zoneNote(w, a.Deadline, loc)
	if a.State == credo.StateOpen {
		fmt.Fprintf(w, "  status:    pending, %s\n", left(true, a.Overdue, a.DaysLeft, ""))
		return
	}
	reason := ""
	if a.Reason != "" {
		reason = " — " + a.Reason
	}
	fmt.Fprintf(w, "  decided:   %s by %s: %s%s\n", clock(a.DecidedAt, loc), a.DecidedBy, a.Outcome, reason)
}

// policyLoc returns the policy's time zone for display.
func policyLoc(ctx context.Context, reg *registry.Registry) *time.Location {
	if pol, _, err := reg.Policy(ctx); err == nil {
		return pol.Location()
	}
	return time.UTC
}

func newDisputesCmd() *cobra.Command {
	var db storeFlag
	var authority, subject, state string
	var asJSON bool
	var remote remoteFlags
	cmd := &cobra.Command{
		Use:   "disputes --db DB [--authority A] [--subject S] [--state open|decided|all]",
		Short: "List disputes with their deadlines: an authority's queue, overdue first",
		Example: "  credo disputes --db city.db --authority court.beijing.chaoyang\n" +
			"  credo disputes --db city.db --state all --subject 11010519491231002X --json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := listState(state); err != nil {
				return err
			}
			ds, loc, err := viaServices(cmd, &remote, db, func(ctx context.Context, svc *services, _ *time.Location) ([]registry.DisputeCase, error) {
				return svc.due.Disputes(ctx, state, authority, subject)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), ds)
			}
			printDisputes(cmd.OutOrStdout(), ds, loc)
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&authority, "authority", "", "only the disputes this authority must decide")
	cmd.Flags().StringVar(&subject, "subject", "", "only this subject's disputes")
	cmd.Flags().StringVar(&state, "state", "open", "open, decided or all")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	remote.register(cmd)
	return cmd
}

func newDisputeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dispute", Short: "Open, decide and show disputes (objections and appeals)"}

	var db storeFlag
	var grounds, evidence string
	var record int64
	var appeal, newInfo, asJSON bool
	var remote remoteFlags
	open := &cobra.Command{
		Use:   "open --db DB --record ID --grounds TEXT [--evidence SHA256] [--appeal] [--new-information]",
		Short: "Object to a record for its subject (or appeal the upheld decision on the last objection)",
		Example: "  credo dispute open --db city.db --record 42 --grounds 'I paid on 3 March' --evidence $(sha256sum receipt.pdf | cut -c1-64)\n" +
			"  credo dispute open --db city.db --record 42 --appeal --grounds 'the court ignored the bank statement'",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if record <= 0 {
				return credo.FieldErrorf("--record", "is required: the id of the record objected to")
			}
			d, loc, err := viaServices(cmd, &remote, db, func(ctx context.Context, svc *services, _ *time.Location) (*registry.DisputeCase, error) {
				return svc.due.OpenDispute(ctx, credo.DisputeRequest{RecordID: record, Grounds: grounds, EvidenceSHA256: evidence, Appeal: appeal, NewInformation: newInfo})
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), d)
			}
			printDispute(cmd.OutOrStdout(), d, loc)
			return nil
		},
	}
	dbFlag(open, &db)
	open.Flags().Int64Var(&record, "record", 0, "the record objected to")
	open.Flags().StringVar(&grounds, "grounds", "", "what is wrong with the record")
	open.Flags().StringVar(&evidence, "evidence", "", "hex SHA-256 of the evidence")
	open.Flags().BoolVar(&appeal, "appeal", false, "appeal the upheld decision on the last objection")
	open.Flags().BoolVar(&newInfo, "new-information", false, "the subject brings information the authority did not have (extends the review where the procedure says so)")
	open.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	remote.register(open)

	var ddb storeFlag
	var outcome, reason, authority, decidedOn string
	var djson bool
	var dremote remoteFlags
	decide := &cobra.Command{
		Use:     "decide --db DB DISPUTE --outcome upheld|corrected|revoked --reason TEXT [--authority A]",
		Short:   "Decide a dispute (as the deciding authority with --authority, else as the operator)",
		Example: "  credo dispute decide --db city.db 57 --outcome upheld --reason 'no payment on file' --authority court.beijing.chaoyang",
		Args:    exactArgs("DISPUTE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseSeq("DISPUTE", args[0])
			if err != nil {
				return err
			}
			d, loc, err := viaServices(cmd, &dremote, ddb, func(ctx context.Context, svc *services, loc *time.Location) (*registry.DisputeCase, error) {
				at, err := parseInstant("decided-on", decidedOn, loc)
				if err != nil {
					return nil, err
				}
				return svc.due.DecideDisputeOn(credo.WithActor(ctx, authority), id, outcome, reason, at)
			})
			if err != nil {
				return err
			}
			if djson {
				return writeJSON(cmd.OutOrStdout(), d)
			}
			printDispute(cmd.OutOrStdout(), d, loc)
			return nil
		},
	}
	dbFlag(decide, &ddb)
	decide.Flags().StringVar(&outcome, "outcome", "", "upheld, corrected or revoked")
	decide.Flags().StringVar(&decidedOn, "decided-on", "", "when the decision was taken, if not now (RFC 3339 or YYYY-MM-DD): not in the future, not before the dispute was opened")
	decide.Flags().StringVar(&reason, "reason", "", "why (the subject is told)")
	decide.Flags().StringVar(&authority, "authority", "", "decide as this authority (default: as the operator)")
	decide.Flags().BoolVar(&djson, "json", false, "print JSON")
	dremote.register(decide)

	var sdb storeFlag
	var sjson bool
	show := &cobra.Command{
		Use:   "show --db DB DISPUTE",
		Short: "Show a dispute, its deadlines and its decision",
		Args:  exactArgs("DISPUTE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseSeq("DISPUTE", args[0])
			if err != nil {
				return err
			}
			reg, st, err := openRegistry(cmd.Context(), sdb)
			if err != nil {
				return err
			}
			defer st.Close()
			d, err := reg.Dispute(cmd.Context(), id)
			if err != nil {
				return err
			}
			if sjson {
				return writeJSON(cmd.OutOrStdout(), d)
			}
			printDispute(cmd.OutOrStdout(), d, policyLoc(cmd.Context(), reg))
			return nil
		},
	}
	dbFlag(show, &sdb)
	show.Flags().BoolVar(&sjson, "json", false, "print JSON")

	cmd.AddCommand(open, decide, show)
	return cmd
}

// parseSeq parses an id argument.
func parseSeq(name, s string) (int64, error) {
	var id int64
	if _, err := fmt.Sscan(s, &id); err != nil || id <= 0 || fmt.Sprint(id) != strings.TrimSpace(s) {
		return 0, credo.FieldErrorf(name, "%q is not a positive integer id", s)
	}
	return id, nil
}

func newRepairsCmd() *cobra.Command {
	var db storeFlag
	var authority, subject, state string
	var asJSON bool
	var remote remoteFlags
	cmd := &cobra.Command{
		Use:     "repairs --db DB [--authority A] [--subject S] [--state open|decided|all]",
		Short:   "List credit-repair applications with their deadlines: an authority's queue, overdue first",
		Example: "  credo repairs --db city.db --authority samr.beijing",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := listState(state); err != nil {
				return err
			}
			rs, loc, err := viaServices(cmd, &remote, db, func(ctx context.Context, svc *services, _ *time.Location) ([]registry.RepairCase, error) {
				return svc.due.Repairs(ctx, state, authority, subject)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rs)
			}
			printRepairs(cmd.OutOrStdout(), rs, loc)
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&authority, "authority", "", "only the applications this authority must decide")
	cmd.Flags().StringVar(&subject, "subject", "", "only this subject's applications")
	cmd.Flags().StringVar(&state, "state", "open", "open, decided or all")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	remote.register(cmd)
	return cmd
}

func newRepairCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "repair", Short: "Apply for and decide credit repair"}

	var db storeFlag
	var statement string
	var record int64
	var commitment, asJSON bool
	var remote remoteFlags
	apply := &cobra.Command{
		Use:     "apply --db DB --record ID --statement TEXT --commitment",
		Short:   "Apply for credit repair of a record for its subject, with the public credit commitment",
		Example: "  credo repair apply --db city.db --record 42 --statement 'fine paid, filter installed' --commitment",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if record <= 0 {
				return credo.FieldErrorf("--record", "is required: the id of the record to repair")
			}
			a, loc, err := viaServices(cmd, &remote, db, func(ctx context.Context, svc *services, _ *time.Location) (*registry.RepairCase, error) {
				return svc.due.ApplyRepair(ctx, credo.RepairRequest{RecordID: record, Statement: statement, Commitment: commitment})
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), a)
			}
			printRepair(cmd.OutOrStdout(), a, loc)
			return nil
		},
	}
	dbFlag(apply, &db)
	apply.Flags().Int64Var(&record, "record", 0, "the record to repair")
	apply.Flags().StringVar(&statement, "statement", "", "how the conduct was corrected and the obligations performed")
	apply.Flags().BoolVar(&commitment, "commitment", false, "the subject made the public credit commitment (required)")
	apply.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	remote.register(apply)

	var ddb storeFlag
	var reason, authority, decidedOn string
	var approve, refuse, djson bool
	var dremote remoteFlags
	decide := &cobra.Command{
		Use:     "decide --db DB APPLICATION --approve|--refuse [--reason TEXT] [--authority A]",
		Short:   "Approve or refuse a repair application (approval ends the record's effects now)",
		Example: "  credo repair decide --db city.db 77 --approve --reason 'obligation performed' --authority samr.beijing",
		Args:    exactArgs("APPLICATION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseSeq("APPLICATION", args[0])
			if err != nil {
				return err
			}
			if approve == refuse {
				return credo.FieldErrorf("--approve", "give exactly one of --approve and --refuse")
			}
			a, loc, err := viaServices(cmd, &dremote, ddb, func(ctx context.Context, svc *services, loc *time.Location) (*registry.RepairCase, error) {
				at, err := parseInstant("decided-on", decidedOn, loc)
				if err != nil {
					return nil, err
				}
				return svc.due.DecideRepairOn(credo.WithActor(ctx, authority), id, approve, reason, at)
			})
			if err != nil {
				return err
			}
			if djson {
				return writeJSON(cmd.OutOrStdout(), a)
			}
			printRepair(cmd.OutOrStdout(), a, loc)
			return nil
		},
	}
	dbFlag(decide, &ddb)
	decide.Flags().BoolVar(&approve, "approve", false, "approve the application")
	decide.Flags().StringVar(&decidedOn, "decided-on", "", "when the decision was taken, if not now (RFC 3339 or YYYY-MM-DD): not in the future, not before the application")
	decide.Flags().BoolVar(&refuse, "refuse", false, "refuse the application (a reason is required)")
	decide.Flags().StringVar(&reason, "reason", "", "why (the subject is told)")
	decide.Flags().StringVar(&authority, "authority", "", "decide as this authority (default: as the operator)")
	decide.Flags().BoolVar(&djson, "json", false, "print JSON")
	dremote.register(decide)

	cmd.AddCommand(apply, decide)
	return cmd
}
