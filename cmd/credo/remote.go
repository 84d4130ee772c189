package main

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/engine"
	chttp "credo/http"
	"credo/policy"
	"credo/registry"
)

// remoteFlags let a command work against a running server instead of a
// local database: the same command, through the API client.
type remoteFlags struct{ server, token string }

func (r *remoteFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.server, "server", os.Getenv("CREDO_SERVER"), "use the Credo server at this URL instead of --db (or $CREDO_SERVER)")
	cmd.Flags().StringVar(&r.token, "token", "", "API token for --server (default $CREDO_TOKEN)")
}

// services are the services of package credo a command works through,
// over a local registry or over a server's API: openServices picks the
// implementation once, and the command's code is the same either way.
type services struct {
	checks   credo.CheckService[engine.Decision]
	subjects credo.SubjectService[*engine.State]
	policies credo.PolicyService[*policy.Policy]
	records  credo.RecordService
	links    credo.LinkService
	due      credo.DueProcessService
	// store is the registry's store when the services are local (nil
	// with --server): for what only a registry's own store does (--bulk).
	store store
	close func()
}

// openServices returns the services of the server named by --server (the
// API client, with --token or $CREDO_TOKEN), else those of the registry
// named by --db or --postgres (registry.Services, acting as the operator
// unless the context names an actor; its checks are logged like the
// server's). Call close when done.
func openServices(ctx context.Context, r *remoteFlags, db storeFlag) (*services, error) {
	if r.server != "" {
		tok := r.token
		if tok == "" {
			tok = os.Getenv("CREDO_TOKEN")
		}
		c := chttp.NewClient(r.server, tok)
		return &services{checks: c, subjects: c, policies: c, records: c, links: c, due: c, close: func() {}}, nil
	}
	reg, st, err := openRegistry(ctx, db)
	if err != nil {
		return nil, err
	}
	l := registry.Services{R: reg}
	checks := reg.NewChecks(st, registry.ChecksOptions{})
	return &services{checks: loggedChecks{checks}, subjects: l, policies: l, records: l, links: l, due: l, store: st,
		close: func() {
			checks.Close(context.Background()) // every answered check is written already
			st.Close()
		}}, nil
}

// location returns the time zone of the policy in force, in which every
// instant is read and shown (UTC if there is none).
func (s *services) location(ctx context.Context) *time.Location {
	if pol, err := s.policies.Policy(ctx); err == nil {
		return pol.Location()
	}
	return time.UTC
}
