package main

import (
	"os"

	"github.com/spf13/cobra"

	chttp "credo/http"
)

// remoteFlags let a command work against a running server instead of a
// local database: the same command, through the API client.
type remoteFlags struct{ server, token string }

func (r *remoteFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.server, "server", os.Getenv("CREDO_SERVER"), "use the Credo server at this URL instead of --db (or $CREDO_SERVER)")
	cmd.Flags().StringVar(&r.token, "token", "", "API token for --server (default $CREDO_TOKEN)")
}

// client returns the API client, or nil when the command runs locally.
func (r *remoteFlags) client() *chttp.Client {
	if r.server == "" {
		return nil
	}
	tok := r.token
	if tok == "" {
		tok = os.Getenv("CREDO_TOKEN")
	}
	return chttp.NewClient(r.server, tok)
}
