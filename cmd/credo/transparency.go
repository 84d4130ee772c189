package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"credo"
	chttp "credo/http"
	"credo/transparency"
)

func newKeygenCmd() *cobra.Command {
	var out, origin string
	cmd := &cobra.Command{
		Use:   "keygen --out FILE [--origin NAME]",
		Short: "Make the Ed25519 key that signs the log's checkpoints; print its public key",
		Long: `keygen writes a new signing key for the log's checkpoints (C2SP signed-note
format) to FILE, readable by its owner only (0600), and prints the public
verifier key: publish it, so that anyone can verify checkpoints and receipts.
The private key never goes into the database; give it to credo serve --log-key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return credo.FieldErrorf("--out", "is required")
			}
			skey, vkey, err := transparency.GenerateKey(origin)
			if err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return credo.FieldErrorf("--out", "%v (an existing key is never overwritten)", err)
			}
			if _, err := f.WriteString(skey + "\n"); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), vkey)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the private key to (must not exist)")
	cmd.Flags().StringVar(&origin, "origin", "credo.registry/log", "the log's name in its checkpoints (no spaces or '+')")
	return cmd
}

func newReceiptCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "receipt", Short: "Receipts: proofs that a subject's events are in the log"}
	var key string
	var witnesses []string
	var minWitnesses int
	var db storeFlag
	verify := &cobra.Command{
		Use:   "verify FILE --key KEY [--witness WKEY... --min-witnesses K] [--db DB | --postgres URL]",
		Short: "Verify a receipt offline with the log's public key (and, with a registry, that its log still extends the receipt)",
		Long: `verify checks a receipt — the "receipt" of GET /v1/subjects/{id} or of the
portal's /me/export, or a file holding one — with nothing but the log's
public key: the checkpoint's signature and every event's inclusion proof.
Altering any byte of an event fails it. With --db or --postgres it also
checks that the registry's log still extends the receipt's checkpoint
(an insider who cut or rewrote the log is caught). With --witness (the
public keys of witnesses you trust) and --min-witnesses K, the checkpoint
must carry valid cosignatures of at least K of them: a registry cannot
then show you a view of its log that those witnesses did not see.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return credo.FieldErrorf("--key", "is required")
			}
			v, err := transparency.ParseVerifier(key)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return credo.Errorf(credo.EINVALID, "%v", err)
			}
			if minWitnesses < 0 || minWitnesses > len(witnesses) {
				return credo.FieldErrorf("--min-witnesses", "must be between 0 and the number of --witness keys (%d)", len(witnesses))
			}
			var wvs []note.Verifier
			for _, k := range witnesses {
				wv, err := transparency.ParseWitnessKey(k)
				if err != nil {
					return credo.FieldErrorf("--witness", "%s", credoMessage(err))
				}
				wvs = append(wvs, wv)
			}
			data = receiptOf(data)
			got, err := transparency.VerifyReceipt(data, v)
			if err != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "FAILED: %s\n", credoMessage(err))
				return exitError{1}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d events in log %s under its checkpoint of %d events\n", len(got.Events), got.Checkpoint.Origin, got.Checkpoint.Size)
			if len(got.Policies) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "ok: %d policy versions in force over the file, in the log\n", len(got.Policies))
			}
			if len(wvs) > 0 {
				names, err := transparency.Cosigned(got.Checkpoint.Note, wvs)
				if err != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "FAILED: %s\n", credoMessage(err))
					return exitError{1}
				}
				if len(names) < minWitnesses {
					fmt.Fprintf(cmd.OutOrStdout(), "FAILED: the checkpoint carries %d valid cosignatures of the %d witnesses given (%s), fewer than --min-witnesses %d\n", len(names), len(wvs), strings.Join(names, ", "), minWitnesses)
					return exitError{1}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "ok: cosigned by %d of %d witnesses: %s\n", len(names), len(wvs), strings.Join(names, ", "))
			}
			if db.dbSet || db.pgSet {
				st, err := openStore(db, true)
				if err != nil {
					return err
				}
				defer st.Close()
				l, ok := transparency.AsLog(st)
				if !ok {
					return credo.Errorf(credo.EINTERNAL, "the store keeps no Merkle tree")
				}
				if err := transparency.CheckExtends(cmd.Context(), l, got.Checkpoint.Checkpoint); err != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "FAILED: %s\n", credoMessage(err))
					return exitError{1}
				}
				fmt.Fprintln(cmd.OutOrStdout(), "ok: the registry's log extends the receipt's checkpoint")
			}
			return nil
		},
	}
	verify.Flags().StringVar(&key, "key", "", "the log's public key, or a file holding it")
	verify.Flags().StringArrayVar(&witnesses, "witness", nil, "a trusted witness's public key, or a file holding it (repeatable)")
	verify.Flags().IntVar(&minWitnesses, "min-witnesses", 0, "require valid cosignatures of at least this many of the --witness keys")
	dbFlag(verify, &db)
	cmd.AddCommand(verify)
	return cmd
}

// receiptOf returns the receipt inside an export or a state answer, or
// data itself.
func receiptOf(data []byte) []byte {
	var wrapped struct {
		Receipt json.RawMessage `json:"receipt"`
	}
	if err := json.Unmarshal(data, &wrapped); err == nil && len(wrapped.Receipt) > 0 {
		return wrapped.Receipt
	}
	return data
}

// verifyCheckpoint is credo verify --checkpoint: the log re-walked, its
// tree rebuilt from the event bodies and checked to extend the checkpoint.
func verifyCheckpoint(ctx context.Context, cmd *cobra.Command, st credo.Store, file, key string) error {
	out := cmd.OutOrStdout()
	data, err := os.ReadFile(file)
	if err != nil {
		return credo.FieldErrorf("--checkpoint", "%v", err)
	}
	var cp transparency.Checkpoint
	if key != "" {
		v, err := transparency.ParseVerifier(key)
		if err != nil {
			return err
		}
		s, err := transparency.OpenCheckpoint(data, v)
		if err != nil {
			return err
		}
		cp = s.Checkpoint
	} else {
		text, _, _ := cutNote(data)
		if cp, err = transparency.ParseCheckpoint(text); err != nil {
			return credo.FieldErrorf("--checkpoint", "%v", err)
		}
		fmt.Fprintln(cmd.ErrOrStderr(), "credo: warning: the checkpoint's signature is not checked (no --key)")
	}
	l, ok := transparency.AsLog(st)
	if !ok {
		return credo.Errorf(credo.EINTERNAL, "the store keeps no Merkle tree")
	}
	res, err := transparency.VerifyExtends(ctx, l, &cp)
	if err != nil {
		if _, ok := transparency.IsDivergence(err); ok {
			fmt.Fprintf(out, "FAILED: %s\n", err)
			return exitError{1}
		}
		return err
	}
	if !res.TreeOK {
		fmt.Fprintf(out, "FAILED: the stored Merkle tree does not match the event bodies (first event off: %d)\n", res.FirstBadLeaf)
		return exitError{1}
	}
	fmt.Fprintf(out, "ok: the log (%d events) extends the checkpoint of %d events\n", res.Head, cp.Size)
	return nil
}

// cutNote returns the text of a signed note (before the blank line).
func cutNote(data []byte) (string, string, bool) {
	s := string(data)
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\n' && s[i+1] == '\n' {
			return s[:i+1], s[i+2:], true
		}
	}
	return s, "", false
}

// startTransparency starts the checkpoint signer of credo serve --log-key:
// it checks that the log extends the last checkpoint signed (kept in
// --checkpoint-file); if not, the server refuses to serve (readyz 503).
func startTransparency(ctx context.Context, f *serveFlags, st credo.Store, logger *slog.Logger) (*transparency.Signer, error) {
	if f.logKey == "" {
		if f.logPub == "" {
			return nil, nil
		}
		return startFollower(ctx, f, st, logger)
	}
	l, ok := transparency.AsLog(st)
	if !ok {
		return nil, credo.Errorf(credo.EINVALID, "--log-key: this store keeps no Merkle tree")
	}
	file := f.checkpointFile
	if file == "" {
		file = f.logKey + ".checkpoint"
	}
	s, err := transparency.NewSigner(l, f.logKey, file, logger)
	if err != nil {
		return nil, err
	}
	var peers []*transparency.WitnessPeer
	for _, w := range f.witnesses {
		p, err := transparency.ParseWitnessPeer(w)
		if err != nil {
			return nil, err
		}
		peers = append(peers, p)
	}
	s.SetWitnesses(peers)
	if err := s.Start(ctx); err != nil {
		if _, ok := transparency.IsDivergence(err); !ok && s.Fault() == nil {
			return nil, err
		}
		// The fault is logged and served (readyz 503): refuse, visibly.
	} else {
		logger.Info("transparency: signing checkpoints", "origin", s.Origin(), "size", s.Size(), "key", s.VerifierKey(), "checkpoint_file", file)
	}
	go s.Run(ctx, f.checkpointEvery)
	return s, nil
}

// startFollower serves the checkpoints another node signs into the
// database (serve --log-pub without --log-key).
func startFollower(ctx context.Context, f *serveFlags, st credo.Store, logger *slog.Logger) (*transparency.Signer, error) {
	l, ok := transparency.AsLog(st)
	cs, ok2 := rawStore(st).(transparency.CheckpointStore)
	if !ok || !ok2 {
		return nil, credo.Errorf(credo.EINVALID, "--log-pub: this store keeps no shared checkpoints (PostgreSQL does)")
	}
	vkey := f.logPub
	if b, err := os.ReadFile(vkey); err == nil {
		vkey = strings.TrimSpace(string(b))
	}
	s, err := transparency.NewFollower(l, cs, vkey, logger)
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil && s.Fault() == nil {
		return nil, err
	}
	logger.Info("transparency: serving the signer's checkpoints", "origin", s.Origin(), "size", s.Size())
	go s.Run(ctx, f.checkpointEvery)
	return s, nil
}

// subjectReceipt is the portal's receipt maker.
func subjectReceipt(st credo.Store, s *transparency.Signer) func(ctx context.Context, subject string) (*transparency.Receipt, error) {
	return func(ctx context.Context, subject string) (*transparency.Receipt, error) {
		return chttp.SubjectReceipt(ctx, st, s, subject)
	}
}

// newScrub returns serve's background scrub, not yet running (nil if
// --scrub-interval 0 or the store keeps no tree).
func newScrub(f *serveFlags, st credo.Store, signer *transparency.Signer, logger *slog.Logger) (*transparency.Scrubber, error) {
	if f.scrubEvery <= 0 {
		return nil, nil
	}
	if _, ok := transparency.AsLog(st); !ok {
		return nil, nil
	}
	// The scrub re-verifies the log as stored (pseudonyms, sealed
	// bodies): it needs no keys, and an erased subject's events are
	// still in the log and in the index.
	return transparency.NewScrubber(rawStore(st), signer, f.scrubRate, logger)
}
