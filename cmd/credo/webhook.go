package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"credo"
	chttp "credo/http"
	"credo/outbox"
	"credo/registry"
)

func newWebhookCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Configure the webhooks notices are delivered to, and inspect their deliveries",
		Long: `Webhooks receive events from the outbox: every notice Credo issues (and any
other event type an endpoint subscribes to) is POSTed as JSON to each active
endpoint, at least once, by the delivery worker of ` + "`credo serve`" + `.

Each delivery carries the headers
  Credo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
  Credo-Event-Id: <the event's sequence number: dedupe by it>
  Credo-Event-Type, Credo-Delivery-Attempt
A 2xx answer delivers it; anything else (or no answer within the timeout) is
retried with exponential backoff, and after the last attempt the delivery is
dead-lettered: list those with ` + "`credo webhook dead`" + `, requeue with ` + "`credo webhook retry`" + `.`,
	}
	cmd.AddCommand(newWebhookAddCmd(), newWebhookListCmd(), newWebhookRemoveCmd(), newWebhookDeadCmd(), newWebhookRetryCmd(), newWebhookDeliveriesCmd())
	return cmd
}

// openOutbox opens the store of a registry that must exist.
func openOutbox(path storeFlag) (store, error) {
	return openStore(path, true)
}

func newWebhookAddCmd() *cobra.Command {
	var db storeFlag
	var url, secret string
	var events []string
	cmd := &cobra.Command{
		Use:   "add --db DB --url URL [--secret S] [--events notice.issued,...]",
		Short: "Add an endpoint; deliveries are owed to it for events appended from now on",
		Example: "  credo webhook add --db city.db --url https://sms-gateway.example/credo\n" +
			"  credo webhook add --db city.db --url https://cases.court.example/hooks --events notice.issued,dispute.opened",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if url == "" {
				return credo.FieldErrorf("--url", "is required: the endpoint to POST events to")
			}
			st, err := openOutbox(db)
			if err != nil {
				return err
			}
			defer st.Close()
			wh := &credo.Webhook{URL: url, Secret: secret}
			for _, e := range events {
				for _, p := range strings.Split(e, ",") {
					if p = strings.TrimSpace(p); p != "" {
						wh.Events = append(wh.Events, credo.EventType(p))
					}
				}
			}
			generated := secret == ""
			if err := st.AddWebhook(cmd.Context(), wh); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "webhook %s added: %s (%s)\n", wh.ID, wh.URL, joinEvents(wh.Events))
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "secret: %s\n", wh.Secret)
				fmt.Fprintln(cmd.ErrOrStderr(), "the secret above is shown only once: give it to the receiver, which verifies Credo-Signature with it")
			}
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&url, "url", "", "the endpoint (http or https)")
	cmd.Flags().StringVar(&secret, "secret", "", "the signing secret, at least 16 characters (default: generated and shown once)")
	cmd.Flags().StringSliceVar(&events, "events", nil, "event types to deliver (default notice.issued)")
	return cmd
}

func joinEvents(ts []credo.EventType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

func newWebhookListCmd() *cobra.Command {
	var db storeFlag
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list --db DB",
		Short: "List the endpoints (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openOutbox(db)
			if err != nil {
				return err
			}
			defer st.Close()
			whs, err := st.Webhooks(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), whs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tURL\tEVENTS\tCREATED\tREMOVED")
			for _, w := range whs {
				removed := "-"
				if !w.Removed.IsZero() {
					removed = w.Removed.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", w.ID, w.URL, joinEvents(w.Events), w.Created.Format(time.RFC3339), removed)
			}
			return tw.Flush()
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newWebhookRemoveCmd() *cobra.Command {
	var db storeFlag
	cmd := &cobra.Command{
		Use:   "remove --db DB ID",
		Short: "Remove an endpoint: nothing more is queued for it and its pending deliveries are cancelled",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openOutbox(db)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.RemoveWebhook(cmd.Context(), args[0], time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "webhook %s removed\n", args[0])
			return nil
		},
	}
	dbFlag(cmd, &db)
	return cmd
}

func newWebhookDeadCmd() *cobra.Command {
	return deliveriesCmd("dead", credo.DeliveryDead, "List dead-lettered deliveries with their last error")
}

func newWebhookDeliveriesCmd() *cobra.Command {
	cmd := deliveriesCmd("deliveries", "", "List deliveries, newest first (--status pending|delivered|dead|cancelled)")
	return cmd
}

func deliveriesCmd(use, status, short string) *cobra.Command {
	var db storeFlag
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   use + " --db DB",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openOutbox(db)
			if err != nil {
				return err
			}
			defer st.Close()
			ds, err := st.Deliveries(cmd.Context(), status, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), ds)
			}
			printDeliveries(cmd.OutOrStdout(), ds)
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many")
	if status == "" {
		cmd.Flags().StringVar(&status, "status", "", "only deliveries with this status")
	}
	return cmd
}

func printDeliveries(w io.Writer, ds []*credo.Delivery) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEVENT\tTYPE\tWEBHOOK\tSTATUS\tATTEMPTS\tNEXT\tLAST ERROR")
	if len(ds) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	for _, d := range ds {
		next := "-"
		if !d.NextAt.IsZero() {
			next = d.NextAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.EventSeq, d.EventType, d.WebhookID, d.Status, d.Attempts, next, d.LastError)
	}
	tw.Flush()
}

func newWebhookRetryCmd() *cobra.Command {
	var db storeFlag
	cmd := &cobra.Command{
		Use:   "retry --db DB ID...",
		Short: "Requeue dead-lettered deliveries: a running server attempts them again at once",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openOutbox(db)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, a := range args {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					return credo.FieldErrorf("ID", "%q is not a delivery id", a)
				}
				if err := st.RetryDelivery(cmd.Context(), id, time.Now()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "delivery %d requeued\n", id)
			}
			return nil
		},
	}
	dbFlag(cmd, &db)
	return cmd
}

// outboxFlags tune the delivery worker and the notice sweeper of `credo
// serve`.
type outboxFlags struct {
	timeout, backoff, backoffMax, poll, sweep time.Duration
	attempts                                  int
}

func (f *outboxFlags) register(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.timeout, "webhook-timeout", 5*time.Second, "how long a webhook delivery attempt may take")
	cmd.Flags().IntVar(&f.attempts, "webhook-attempts", 8, "attempts before a delivery is dead-lettered")
	cmd.Flags().DurationVar(&f.backoff, "webhook-backoff", 10*time.Second, "wait after a first failed attempt (doubled after each further one, with jitter)")
	cmd.Flags().DurationVar(&f.backoffMax, "webhook-backoff-max", time.Hour, "longest wait between attempts")
	cmd.Flags().DurationVar(&f.poll, "webhook-poll", time.Second, "how often the outbox is polled")
	cmd.Flags().DurationVar(&f.sweep, "notice-sweep", time.Minute, "how often to look for records whose notice was never issued")
}

// startOutbox starts the delivery worker and the notice sweeper of a
// server, and adds the worker's metrics to its /metrics. The returned
// function stops both and waits for them.
func startOutbox(ctx context.Context, f *outboxFlags, reg *registry.Registry, db store, srv *chttp.Server, logger *slog.Logger) (stop func()) {
	w := outbox.NewWorker(db, outbox.Options{Timeout: f.timeout, MaxAttempts: f.attempts, BackoffBase: f.backoff,
		BackoffMax: f.backoffMax, PollInterval: f.poll, Logger: logger, NoticeText: reg.NoticeText})
	if err := srv.RegisterMetrics(w.Collectors()...); err != nil {
		logger.Error("registering outbox metrics", "err", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.Run(ctx) }()
	go func() { defer wg.Done(); reg.RunNoticeSweeper(ctx, f.sweep) }()
	return func() { cancel(); wg.Wait() }
}

// noticesKnown leaves out the notices issued after known (zero: none).
func noticesKnown(ns []credo.IssuedNotice, known time.Time) []credo.IssuedNotice {
	out := make([]credo.IssuedNotice, 0, len(ns))
	for _, in := range ns {
		if in.Notice == nil || !known.IsZero() && in.Issued.After(known) {
			continue
		}
		out = append(out, in)
	}
	return out
}

// printNotices prints the NOTICES section of `credo show`.
func printNotices(w io.Writer, ns []credo.IssuedNotice, loc *time.Location, tx *texts) {
	fmt.Fprintln(w, "\n"+tx.head("NOTICES"))
	if len(ns) == 0 {
		fmt.Fprintln(w, "(none)")
	}
	for _, in := range ns {
		n := in.Notice
		fmt.Fprintf(w, "#%d issued %s for record %d (%s): effective %s, lasts until %s, object until %s\n",
			in.Seq, day(in.Issued, loc), n.RecordID, n.Rule, day(n.EffectiveFrom, loc), day(n.Lasts, loc), day(n.ObjectUntil, loc))
		fmt.Fprintf(w, "  %s\n", tx.noticeText(in))
	}
}
