package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"credo"
)

// credo link add|end: the links between an organisation and the persons
// who answer for it; credo record fulfil|revoke: the changes to a record
// the API already offers. Locally they act as the operator (admin) or,
// with --authority, as that authority; with --server through the API.

func newLinkCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "link", Short: "Add or end a link between an organisation and a responsible person"}
	cmd.AddCommand(linkSub("add"), linkSub("end"))
	return cmd
}

func linkSub(action string) *cobra.Command {
	var db storeFlag
	var remote remoteFlags
	var l credo.Link
	var from, until, authority string
	var asJSON bool
	use := "add --db DB --org USCC --person RIC --role ROLE --authority A --legal-basis TEXT --from DATE [--until DATE]"
	short := "Link a person to an organisation (legal_representative, principal, directly_responsible, actual_controller)"
	if action == "end" {
		use = "end --db DB --org USCC --person RIC --role ROLE --authority A --legal-basis TEXT --until DATE"
		short = "End the open link of a person to an organisation"
	}
	c := &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l.Authority = authority
			parse := func(loc *time.Location) error {
				var err error
				if l.From, err = parseInstant("from", from, loc); err != nil {
					return err
				}
				l.Until, err = parseInstant("until", until, loc)
				return err
			}
			res, _, err := viaServices(cmd, &remote, db, func(ctx context.Context, svc *services, loc *time.Location) (*credo.LinkResult, error) {
				if err := parse(loc); err != nil {
					return nil, err
				}
				if action == "end" {
					return svc.links.EndLink(ctx, l)
				}
				return svc.links.AddLink(ctx, l)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			verb := "linked"
			switch {
			case action == "end":
				verb = "ended link"
			case !res.Created:
				verb = "already linked (nothing changed)"
			}
			cmd.Printf("%s: %s %s of %s (%s, %s)\n", verb, res.Link.Person, res.Link.Role, res.Link.Org, res.Link.Authority, res.Link.LegalBasis)
			return nil
		},
	}
	dbFlag(c, &db)
	c.Flags().StringVar(&l.Org, "org", "", "the organisation's unified social credit code")
	c.Flags().StringVar(&l.Person, "person", "", "the person's resident identity card number")
	c.Flags().StringVar(&l.Role, "role", "", "legal_representative, principal, directly_responsible or actual_controller")
	c.Flags().StringVar(&authority, "authority", "", "the authority whose register states the link")
	c.Flags().StringVar(&l.LegalBasis, "legal-basis", "", "the provision under which the link is recorded")
	c.Flags().StringVar(&l.EvidenceSHA256, "evidence", "", "hex SHA-256 of the document showing the link")
	if action == "add" {
		c.Flags().StringVar(&from, "from", "", "when the person took the role (RFC 3339 or YYYY-MM-DD)")
	}
	c.Flags().StringVar(&until, "until", "", "when the person left the role")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	remote.register(c)
	return c
}

func newRecordCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "record", Short: "Record the fulfilment of a record's obligation, or revoke it"}
	cmd.AddCommand(recordSub("fulfil", credo.EventRecordFulfilled), recordSub("revoke", credo.EventRecordRevoked))
	return cmd
}

func recordSub(action string, typ credo.EventType) *cobra.Command {
	var db storeFlag
	var remote remoteFlags
	var at, reason, authority string
	var void, asJSON bool
	c := &cobra.Command{
		Use:   action + " --db DB RECORD --reason TEXT [--at DATE] [--authority A]",
		Short: map[string]string{"fulfil": "Record that the obligation behind a record was fulfilled", "revoke": "Revoke a record (--void: as never having had effect)"}[action],
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseSeq("RECORD", args[0])
			if err != nil {
				return err
			}
			ev, _, err := viaServices(cmd, &remote, db, func(ctx context.Context, svc *services, loc *time.Location) (*credo.Event, error) {
				atT, err := parseInstant("at", at, loc)
				if err != nil {
					return nil, err
				}
				return svc.records.Change(credo.WithActor(ctx, authority), typ, credo.RecordChange{RecordID: id, At: atT, Reason: reason, VoidAbInitio: void})
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), ev)
			}
			cmd.Printf("record %d: %s from %s (event %d)\n", id, ev.Type, ev.Change.At.Format(time.RFC3339), ev.Seq)
			return nil
		},
	}
	dbFlag(c, &db)
	c.Flags().StringVar(&at, "at", "", "when it takes effect (RFC 3339 or YYYY-MM-DD; default now)")
	c.Flags().StringVar(&reason, "reason", "", "why (the subject is told)")
	c.Flags().StringVar(&authority, "authority", "", "act as this authority (default: as the operator)")
	if action == "revoke" {
		c.Flags().BoolVar(&void, "void", false, "a correction: the record is treated as never having had effect")
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	remote.register(c)
	return c
}
