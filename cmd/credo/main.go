// Command credo is the single binary of the Credo registry: it validates
// identifiers and policies, creates and fills registries, answers checks,
// verifies the event log and serves the API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"credo"
)

// exitError carries an exit status through cobra without printing twice.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "credo:", credoMessage(err))
	switch credo.ErrorCode(err) {
	case credo.EINVALID, credo.ECONFLICT, credo.ENOTFOUND, credo.EFORBIDDEN:
		return 1
	}
	return 2
}

func credoMessage(err error) string {
	var e *credo.Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "credo",
		Short: "Credo — a trustworthiness registry of legal consequences",
		Long: `Credo keeps the records authorities file about people and companies, turns
them into scores, tiers, listings and measures under a published policy, and
answers service providers' checks — every effect traceable to a lawful
decision, visible to the person it concerns, contestable and temporary.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newIDCmd(), newPolicyCmd(), newInitCmd(), newIngestCmd(), newShowCmd(), newCheckCmd(), newVerifyCmd(), newBackupCmd(), newRestoreCmd(), newGenerateCmd(), newTokenCmd(), newServeCmd(), newDemoCmd(), newWebhookCmd(), newDisputesCmd(), newDisputeCmd(), newRepairsCmd(), newRepairCmd(), newSimulateCmd(), newPortalCmd(), newKeygenCmd(), newReceiptCmd())
	root.AddCommand(newWitnessCmd())
	root.AddCommand(newRetentionCmd())
	root.AddCommand(newLinkCmd(), newRecordCmd())
	return root
}
