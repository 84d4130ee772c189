package main

import (
	"context"
	"net/http"
	"net/http/pprof"
	"time"

	"credo"
	"fmt"
	"log/slog"
	"net"
	"os"

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
	pprof           string
	outbox          outboxFlags
	scale           scaleFlags
	noPortal        bool
	portalKeyFile   string
	secureCookies   bool
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
	cmd.Flags().StringVar(&f.pprof, "pprof", "", "serve Go profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060")
	f.outbox.register(cmd)
	f.scale.register(cmd)
	cmd.Flags().BoolVar(&f.noPortal, "no-portal", false, "serve the API only, without the web portal")
	cmd.Flags().StringVar(&f.portalKeyFile, "portal-key-file", "", "file holding the key that signs portal sessions (default: a random key per process)")
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
	logger := serveLogger()
	if err := f.scale.prepare(f.db); err != nil {
		return err
	}
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
	ropts := registry.Options{Logger: logger, Snapshot: f.db.snapshotPath()}
	f.scale.registryOptions(&ropts)
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
	return serveRegistry(cmd, f, st, reg, logger, onListen)
}

func serveLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// serveRegistry serves an open registry until the command's context ends.
func serveRegistry(cmd *cobra.Command, f *serveFlags, db store, reg *registry.Registry, logger *slog.Logger, onListen func(addr net.Addr)) error {
	if (f.cert == "") != (f.key == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if f.pprof != "" {
		if err := servePprof(cmd.Context(), f.pprof, logger); err != nil {
			return err
		}
	}
	opts := chttp.Options{Logger: logger, RateLimit: f.rate, MaxInFlight: f.maxInFlight, OnListen: onListen, NaiveChecks: f.naive}
	stopTail, err := f.scale.start(cmd.Context(), reg, &opts, logger)
	if err != nil {
		return err
	}
	defer stopTail()
	var srv *chttp.Server
	if !f.noPortal {
		pt, err := newPortal(f, db, reg, logger, func(ctx context.Context) error { return srv.FlushChecks(ctx) })
		if err != nil {
			return err
		}
		opts.Portal = pt
		opts.Census = pt.Census() // one scan of the log serves the portal and the API
	}
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
