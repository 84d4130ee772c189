package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/transparency"
)

func newWitnessCmd() *cobra.Command {
	var logURL, logKey, key, state, addr string
	var every time.Duration
	var once bool
	cmd := &cobra.Command{
		Use:   "witness --log-key KEY --key WITNESS-KEY [--state FILE] [--log URL] [--addr ADDR]",
		Short: "Witness a registry's log: cosign its checkpoints only if consistent with the last one cosigned",
		Long: `witness is an independent party's witness of a registry's log (C2SP
tlog-witness, cosignatures in C2SP tlog-cosignature format). It keeps the
last checkpoint it cosigned in --state and cosigns a new checkpoint, with
its own Ed25519 key (credo keygen), only if the log's key signed it and a
consistency proof shows it extends that one. A log that forks gets no
cosignature: the witness logs "the log forked" and, with --once, exits 1.

With --addr it serves POST /add-checkpoint, the protocol's call a registry
makes (credo serve --witness URL,KEY), and GET /checkpoint, the last
checkpoint it cosigned. With --log it also follows the registry itself
every --interval: GET /checkpoint and /v1/proofs/consistency, so a fork
the registry shows the public but not the witness is caught too.

Its public key (printed on start) is what receipt verifiers pass to
credo receipt verify --witness.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if logKey == "" {
				return credo.FieldErrorf("--log-key", "is required")
			}
			if key == "" {
				return credo.FieldErrorf("--key", "is required")
			}
			if logURL == "" && addr == "" {
				return credo.FieldErrorf("--log", "is required unless --addr is given")
			}
			lv, err := transparency.ParseVerifier(logKey)
			if err != nil {
				return err
			}
			cs, err := transparency.ReadCosigner(key)
			if err != nil {
				return err
			}
			if state == "" {
				state = key + ".state"
			}
			logger := serveLogger(cmd.ErrOrStderr())
			w, err := transparency.NewWitness(lv, cs, state, logger)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			client := &http.Client{Timeout: 30 * time.Second}
			if once {
				if logURL == "" {
					return credo.FieldErrorf("--once", "needs --log")
				}
				cp, err := w.Follow(cmd.Context(), client, logURL)
				if err != nil {
					fmt.Fprintf(out, "FAILED: %s\n", credoMessage(err))
					return exitError{1}
				}
				fmt.Fprintf(out, "ok: cosigned the checkpoint of %d events of %s\n", cp.Size, cp.Origin)
				return nil
			}
			fmt.Fprintln(out, cs.VerifierKey())
			ctx := cmd.Context()
			if addr != "" {
				l, err := net.Listen("tcp", addr)
				if err != nil {
					return credo.FieldErrorf("--addr", "%v", err)
				}
				srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second}
				go func() { <-ctx.Done(); srv.Close() }()
				logger.Info("witness: listening", "addr", l.Addr().String(), "key", cs.VerifierKey(), "state", state)
				go func() {
					if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
						logger.Error("witness: serving", "error", err.Error())
					}
				}()
			}
			if logURL != "" {
				go follow(ctx, w, client, logURL, every, logger)
			}
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&logURL, "log", "", "the registry's base URL, to follow its checkpoints")
	cmd.Flags().StringVar(&logKey, "log-key", "", "the log's public key, or a file holding it")
	cmd.Flags().StringVar(&key, "key", "", "the witness's private key file (credo keygen; 0600)")
	cmd.Flags().StringVar(&state, "state", "", "where the last cosigned checkpoint is kept (default: the key file + .state)")
	cmd.Flags().StringVar(&addr, "addr", "", "serve POST /add-checkpoint and GET /checkpoint on this address")
	cmd.Flags().DurationVar(&every, "interval", 10*time.Second, "how often to follow the log (with --log)")
	cmd.Flags().BoolVar(&once, "once", false, "follow the log once, report, and exit (1 on a fork)")
	return cmd
}

func follow(ctx context.Context, w *transparency.Witness, client *http.Client, logURL string, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(max(every, time.Second))
	defer t.Stop()
	for {
		if cp, err := w.Follow(ctx, client, logURL); err != nil {
			if !transparency.IsFork(err) && ctx.Err() == nil {
				logger.Warn("witness: following the log", "error", err.Error())
			}
		} else {
			logger.Info("witness: cosigned", "size", cp.Size)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
