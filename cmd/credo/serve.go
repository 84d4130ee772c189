package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/pprof"
	"time"

	"credo"
	"fmt"
	"log/slog"
	"net"

	"github.com/spf13/cobra"

	chttp "credo/http"
	"credo/registry"
)

type serveFlags struct {
	db              storeFlag
	addr, cert, key string
	rate            float64
	maxInFlight     int
	naive           bool
	checkLogAsync   bool
	pprof           string
	outbox          outboxFlags
	scale           scaleFlags
	noPortal        bool
	noVerifyProj    bool
	portalKeyFile   string
	logKey          string
	logPub          string
	checkpointFile  string
	checkpointEvery time.Duration
	witnesses       []string
	scrubEvery      time.Duration
	scrubRate       float64
	secureCookies   bool
	rebuild         bool
	eraseEvery      time.Duration
}

func (f *serveFlags) register(cmd *cobra.Command) {
	dbFlag(cmd, &f.db)
	cmd.Flags().StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&f.cert, "tls-cert", "", "TLS certificate file (with --tls-key: serve HTTPS)")
	cmd.Flags().StringVar(&f.key, "tls-key", "", "TLS private key file")
	cmd.Flags().Float64Var(&f.rate, "rate-limit", 0, "requests per second per token (default 20000; negative: off)")
	cmd.Flags().IntVar(&f.maxInFlight, "max-in-flight", 0, "requests handled at once before 503s (default 256×GOMAXPROCS)")
	cmd.Flags().BoolVar(&f.naive, "naive-checks", false, "answer checks from the store without the decision table (benchmark baseline only)")
	cmd.Flags().MarkHidden("naive-checks")
	cmd.Flags().BoolVar(&f.checkLogAsync, "check-log-async", false, "answer checks before their log entry is committed (more checks/s with few clients; a crash loses the checks answered in the last ~50 ms)")
	cmd.Flags().StringVar(&f.pprof, "pprof", "", "serve Go profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060")
	f.outbox.register(cmd)
	f.scale.register(cmd)
	cmd.Flags().BoolVar(&f.noPortal, "no-portal", false, "serve the API only, without the web portal")
	cmd.Flags().BoolVar(&f.noVerifyProj, "no-verify-projections", false, "skip comparing the projections with a replay of the log in the background after start (the cheap check at open still runs)")
	cmd.Flags().StringVar(&f.portalKeyFile, "portal-key-file", "", "file holding the key that signs portal sessions (default: a random key per process)")
	cmd.Flags().StringVar(&f.logKey, "log-key", "", "sign the log's checkpoints with this key (credo keygen): GET /checkpoint, receipts, and a refusal to serve a log that does not extend the last checkpoint")
	cmd.Flags().StringVar(&f.logPub, "log-pub", "", "without --log-key, on PostgreSQL: serve the checkpoints the signing node keeps in the database, verified with this public key (or file)")
	cmd.Flags().StringVar(&f.checkpointFile, "checkpoint-file", "", "where the last signed checkpoint is kept, outside the database (default: the --log-key file + .checkpoint)")
	cmd.Flags().DurationVar(&f.checkpointEvery, "checkpoint-interval", time.Second, "how often a new checkpoint is signed while the log grows")
	cmd.Flags().DurationVar(&f.scrubEvery, "scrub-interval", time.Hour, "re-verify the whole log (chain, Merkle tree, checkpoint, subject index) this often; /readyz 503 at the first bad position (0: off)")
	cmd.Flags().Float64Var(&f.scrubRate, "scrub-rate", 20000, "events per second the scrub reads (<= 0: no limit)")
	cmd.Flags().StringArrayVar(&f.witnesses, "witness", nil, "a witness to collect cosignatures from, as URL,KEY (its address and public key; repeatable)")
	cmd.Flags().BoolVar(&f.rebuild, "rebuild", false, "rebuild the decision table from the whole log at start, ignoring its snapshot (a new one is written); a start or a publication otherwise re-evaluates only the subjects a policy change can affect")
	cmd.Flags().DurationVar(&f.eraseEvery, "erase-interval", 24*time.Hour, "erase the subjects past retention this often, the first time one interval after start (a sealed registry; 0: off)")
	cmd.Flags().BoolVar(&f.secureCookies, "secure-cookies", false, "mark portal cookies Secure and send HSTS: TLS is terminated by a proxy in front (implied by --tls-cert)")
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --db DB [--addr 127.0.0.1:8080]",
		Short: "Serve the JSON API (/v1), the web portal, /healthz, /readyz and /metrics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serve(cmd, &f, nil)
		},
	}
	f.register(cmd)
	return cmd
}

// serve opens the registry and serves it until the command's context ends.
// onListen, if set, is called once the server listens.
func serve(cmd *cobra.Command, f *serveFlags, onListen func(addr net.Addr)) error {
	logger := serveLogger(cmd.ErrOrStderr())
	if err := f.scale.prepare(f.db); err != nil {
		return err
	}
	// The port first: a busy --addr is reported at once, not after the
	// decision table and the census are built.
	ln, err := f.listen(logger)
	if err != nil {
		return err
	}
	defer ln.Close()
	logger.Info("starting: opening the registry", "registry", f.db.String())
	st, err := openStore(f.db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	rst, closeRead, err := f.scale.registryStore(cmd.Context(), st)
	if err != nil {
		return err
	}
	defer closeRead()
	ropts := registry.Options{Logger: logger, Snapshot: f.db.snapshotPath(), Rebuild: f.rebuild, SnapshotKey: snapshotKey(st)}
	f.scale.registryOptions(&ropts)
	logger.Info("starting: loading or building the decision table")
	reg, err := registry.Open(cmd.Context(), rst, ropts)
	if err != nil {
		return err
	}
	defer func() {
		// On a clean shutdown the table is saved at the position it
		// reflects, so that the next start loads it instead of rebuilding.
		if err := reg.SaveSnapshot(context.WithoutCancel(cmd.Context())); err != nil {
			logger.Error("saving the decision table snapshot", "err", err)
		}
	}()
	return serveRegistry(cmd, f, ln, st, reg, logger, onListen)
}

func serveLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// listen binds --addr; requests wait in the listen queue until the server
// is ready to answer them.
func (f *serveFlags) listen(logger *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, credo.FieldErrorf("--addr", "cannot listen on %s: %v", f.addr, errors.Unwrap(err))
	}
	logger.Info("starting: address bound; requests wait until the server is ready", "addr", ln.Addr().String())
	return ln, nil
}

// serveRegistry serves an open registry until the command's context ends.
func serveRegistry(cmd *cobra.Command, f *serveFlags, ln net.Listener, db store, reg *registry.Registry, logger *slog.Logger, onListen func(addr net.Addr)) error {
	if (f.cert == "") != (f.key == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if f.pprof != "" {
		if err := servePprof(cmd.Context(), f.pprof, logger); err != nil {
			return err
		}
	}
	opts := chttp.Options{Logger: logger, RateLimit: f.rate, MaxInFlight: f.maxInFlight, OnListen: onListen, NaiveChecks: f.naive, CheckLogAsync: f.checkLogAsync, Listener: ln}
	stopTail, err := f.scale.start(cmd.Context(), reg, &opts, logger)
	if err != nil {
		return err
	}
	defer stopTail()
	signer, err := startTransparency(cmd.Context(), f, db, logger)
	if err != nil {
		return err
	}
	opts.Transparency = signer
	scrub, err := newScrub(f, db, signer, logger)
	if err != nil {
		return err
	}
	if scrub != nil {
		opts.Scrub = scrub
	}
	var srv *chttp.Server
	if !f.noPortal {
		pt, err := newPortal(f, db, reg, logger, func(ctx context.Context) error { return srv.FlushChecks(ctx) })
		if err != nil {
			return err
		}
		if signer != nil {
			pt.SetReceipt(subjectReceipt(db, signer))
		}
		opts.Portal = pt
		opts.Census = pt.Census() // one scan of the log serves the portal and the API
	} else {
		opts.Census = registry.NewCensusCache(reg, registry.CensusOptions{TTL: time.Minute, ServeStale: true})
	}
	// What the public lists and the dashboard read, built before the first
	// request is answered: "ready" means that no request waits for a scan
	// of the whole log.
	logger.Info("starting: building the census behind the public lists and the dashboard (one scan of the log)")
	start := time.Now()
	cs, err := opts.Census.Get(cmd.Context())
	if err != nil {
		return err
	}
	logger.Info("starting: census built", "subjects", cs.Subjects, "took", time.Since(start).Round(time.Millisecond).String())
	// The whole-log checks run in the background once the census is built,
	// one after the other, so that start-up reads the log once at a time:
	// the projections against a replay (a difference makes the registry
	// refuse to answer, 503, from then on), then the scrub's passes.
	go func(ctx context.Context) {
		if !f.noVerifyProj && reg.Doubt() == nil {
			if res, err := reg.VerifyProjections(ctx); err == nil && res.OK {
				logger.Info("projections verified against a replay of the log", "events", res.Events)
			}
		}
		if scrub != nil {
			scrub.Run(ctx, f.scrubEvery)
		}
	}(cmd.Context())
	startRetentionEraser(cmd.Context(), db, reg, f.eraseEvery, logger)
	srv = chttp.NewServer(reg, db, db, opts)
	defer srv.Close()
	stopOutbox := startOutbox(cmd.Context(), &f.outbox, reg, db, srv, logger)
	defer stopOutbox()
	return srv.ListenAndServe(cmd.Context(), f.addr, f.cert, f.key)
}

// servePprof serves the Go profiler on its own listener, never on the API's.
func servePprof(ctx context.Context, addr string, logger *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return credo.FieldErrorf("--pprof", "must be a loopback address such as 127.0.0.1:6060")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return credo.FieldErrorf("--pprof", "%v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	go func() { <-ctx.Done(); srv.Close() }()
	logger.Info("profiler", "addr", l.Addr().String())
	return nil
}
