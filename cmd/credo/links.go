package main

import (
	"time"

	"github.com/spf13/cobra"

	"credo"
	chttp "credo/http"
	"credo/registry"
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
			res, _, err := viaServerOrRegistry(cmd, &remote, db, func(c *chttp.Client) (*chttp.LinkResponse, error) {
				if err := parse(time.Local); err != nil {
					return nil, err
				}
				if action == "end" {
					return c.EndLink(cmd.Context(), l)
				}
				return c.AddLink(cmd.Context(), l)
			}, func(reg *registry.Registry) (*chttp.LinkResponse, error) {
				if err := parse(policyLoc(cmd.Context(), reg)); err != nil {
					return nil, err
				}
				actor := registry.ActorAdmin
				if action == "end" {
					out, err := reg.EndLink(cmd.Context(), l, actor)
					return &chttp.LinkResponse{Link: out, Created: err == nil}, err
				}
				out, created, err := reg.AddLink(cmd.Context(), l, actor)
				return &chttp.LinkResponse{Link: out, Created: created}, err
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
			if remote.client() != nil && authority != "" {
				return credo.FieldErrorf("--authority", "with --server the token's authority acts")
			}
			ev, _, err := viaServerOrRegistry(cmd, &remote, db, func(c *chttp.Client) (*credo.Event, error) {
				return c.ChangeRecord(cmd.Context(), id, action, chttp.ChangeRequest{At: at, Reason: reason, Void: void})
			}, func(reg *registry.Registry) (*credo.Event, error) {
				atT, err := parseInstant("at", at, policyLoc(cmd.Context(), reg))
				if err != nil {
					return nil, err
				}
				return reg.ChangeRecordAs(cmd.Context(), typ, id, atT, actorOf(authority), reason, void)
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
