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
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"credo"
)

// exitError carries an exit status through cobra without printing twice.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile(os.Getenv("CREDO_CPUPROFILE"))
	heapProfileOnSignal(os.Getenv("CREDO_HEAPPROFILE"))
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of the whole command to path, if
// path is not empty (CREDO_CPUPROFILE: for measuring a command such as
// generate --bulk end to end, as bench/city.sh does); it returns the
// function that stops it.
func startCPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "credo: CREDO_CPUPROFILE:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "credo: CREDO_CPUPROFILE:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// heapProfileOnSignal writes a heap profile to path each time the process
// receives SIGUSR1, if path is not empty (CREDO_HEAPPROFILE: for seeing
// what a long command such as serve on a whole city holds at its peak,
// without stopping it). Each profile replaces the previous one.
func heapProfileOnSignal(path string) {
	if path == "" {
		return
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	go func() {
		for range c {
			f, err := os.Create(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, "credo: CREDO_HEAPPROFILE:", err)
				continue
			}
			if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
				fmt.Fprintln(os.Stderr, "credo: CREDO_HEAPPROFILE:", err)
			}
			f.Close()
		}
	}()
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

// credoMessage is the message a user reads: a *credo.Error's field and
// message without the Go operation that raised it (its Op, such as
// "sqlite.Dispute", is for logs, not for users).
func credoMessage(err error) string {
	var e *credo.Error
	if errors.As(err, &e) {
		if e.Message != "" {
			return credo.ErrorMessage(e)
		}
		return e.Error()
	}
	return err.Error()
}

// exactArgs is cobra.ExactArgs naming the arguments: "missing SECTOR"
// rather than "accepts 2 arg(s), received 1".
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			missing := strings.Join(names[len(args):], " ")
			return credo.Errorf(credo.EINVALID, "missing %s (usage: %s)", missing, cmd.UseLine())
		case len(args) > len(names):
			return credo.Errorf(credo.EINVALID, "too many arguments: %s takes %s, got %q (usage: %s)", cmd.CommandPath(), strings.Join(names, " "), args, cmd.UseLine())
		}
		return nil
	}
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
		Version:       credo.Version(),
	}
	root.SetVersionTemplate("credo {{.Version}}\n")
	root.AddCommand(newIDCmd(), newPolicyCmd(), newInitCmd(), newIngestCmd(), newShowCmd(), newCheckCmd(), newVerifyCmd(), newBackupCmd(), newRestoreCmd(), newGenerateCmd(), newTokenCmd(), newServeCmd(), newDemoCmd(), newWebhookCmd(), newDisputesCmd(), newDisputeCmd(), newRepairsCmd(), newRepairCmd(), newSimulateCmd(), newPortalCmd(), newKeygenCmd(), newReceiptCmd())
	root.AddCommand(newWitnessCmd())
	root.AddCommand(newRetentionCmd())
	root.AddCommand(newLinkCmd(), newRecordCmd())
	root.AddCommand(newMigrateCmd())
	root.AddCommand(newEraseCmd(), newKeysCmd())
	return root
}
