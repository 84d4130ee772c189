package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/ingest"
	"credo/policy"
	"credo/postgres"
	"credo/registry"
	"credo/seal"
	"credo/sqlite"
)

// storeFlag is the registry a command works on: the embedded SQLite file
// (--db) or a PostgreSQL database (--postgres URL, or $CREDO_POSTGRES).
type storeFlag struct {
	db, postgres string
	dbSet, pgSet bool   // given on the command line
	keys         string // --keys: the operator's keys file (sealing.go)
}

// envPostgres names the environment variable that selects a PostgreSQL
// registry when a command has neither --db nor --postgres.
const envPostgres = "CREDO_POSTGRES"

// setFlag is a string flag that notes that it was given (several commands
// share one storeFlag, so cobra's Changed on one command does not tell).
type setFlag struct {
	v   *string
	set *bool
}

func (f setFlag) String() string {
	if f.v == nil {
		return ""
	}
	return *f.v
}
func (f setFlag) Set(s string) error { *f.v, *f.set = s, true; return nil }
func (f setFlag) Type() string       { return "string" }

// dbFlag adds the --db and --postgres flags every command over a registry
// takes.
func dbFlag(cmd *cobra.Command, s *storeFlag) {
	if s.db == "" {
		s.db = "credo.db"
	}
	cmd.Flags().Var(setFlag{&s.db, &s.dbSet}, "db", "registry database file (SQLite)")
	cmd.Flags().Lookup("db").DefValue = "credo.db"
	cmd.Flags().Var(setFlag{&s.postgres, &s.pgSet}, "postgres", "PostgreSQL registry: a postgres:// URL (default $"+envPostgres+"; not with --db)")
	keysFlag(cmd, s)
}

// pgURL returns the PostgreSQL URL the flags select ("" for SQLite): the
// --postgres flag, else $CREDO_POSTGRES unless --db is given.
func (s storeFlag) pgURL() (string, error) {
	if s.pgSet {
		if s.dbSet {
			return "", credo.Errorf(credo.EINVALID, "--db and --postgres are exclusive: a registry is either a SQLite file or a PostgreSQL database")
		}
		if s.postgres == "" {
			return "", credo.FieldErrorf("--postgres", "is empty: give a URL such as postgres://user@host:5432/credo")
		}
		return s.postgres, nil
	}
	if s.dbSet {
		return "", nil
	}
	return os.Getenv(envPostgres), nil
}

// String names the registry for messages, without a password.
func (s storeFlag) String() string {
	u, err := s.pgURL()
	if err != nil || u == "" {
		return s.db
	}
	return redactURL(u)
}

// redactURL returns a PostgreSQL URL without its password.
func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "the PostgreSQL database"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// store is what the commands need of a registry's store. The embedded
// SQLite store and the PostgreSQL store both provide all of it.
type store interface {
	credo.RegistryStore
	credo.TokenStore
	credo.CheckLog
	credo.Outbox
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
	_ store = (*seal.Store)(nil)
)

// openStore opens the registry's store, sealed with the operator's keys
// (sealing.go); must says whether it must exist (for PostgreSQL: have a
// published policy, i.e. have been initialised).
func openStore(s storeFlag, must bool) (store, error) {
	st, err := openRawStore(s, must)
	if err != nil {
		return nil, err
	}
	return sealStore(s, st, false)
}

// openRawStore opens the registry's store as it is, unsealed.
func openRawStore(s storeFlag, must bool) (seal.Backend, error) {
	dsn, err := s.pgURL()
	if err != nil {
		return nil, err
	}
	if dsn == "" {
		if must {
			if _, err := os.Stat(s.db); err != nil {
				return nil, credo.Errorf(credo.ENOTFOUND, "no registry at %s: create one with `credo init --db %s --policy POLICY.yaml`", s.db, s.db)
			}
		}
		return sqlite.Open(s.db)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if must {
		ps, err := db.Policies(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		if len(ps) == 0 {
			db.Close()
			return nil, credo.Errorf(credo.ENOTFOUND, "no registry in %s (no policy published): create one with `credo init --postgres URL --policy POLICY.yaml`", redactURL(dsn))
		}
	}
	return db, nil
}

// openRegistry opens a registry for a one-shot command: without the decision
// table, which only a server needs.
func openRegistry(ctx context.Context, s storeFlag) (*registry.Registry, store, error) {
	st, err := openStore(s, true)
	if err != nil {
		return nil, nil, err
	}
	reg, err := registry.Open(ctx, st, registry.Options{NoTable: true, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return reg, st, nil
}

// instantHelp is what every --at, --known and --effective flag accepts.
const instantHelp = "RFC 3339, YYYY-MM-DD in the policy's time zone, or +N/-N days, hours or minutes from now (+30d, -12h)"

// atKnownHelp says, in every command's --help, what --at and --known mean:
// the same in every command.
const atKnownHelp = `--at T is the instant the answer is about (default now); --known K is the
instant whose knowledge is used: only events recorded by K count (default
now: everything filed so far). "--at 2026-07-01" alone asks what applied on
1 July by everything the registry knows today; add "--known 2026-07-01" to
replay what the registry knew then.`

// parseInstant parses a flag value as RFC 3339, YYYY-MM-DD (in loc), or an
// offset from now: +30d, -12h, +90m.
func parseInstant(flag, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if s == "now" {
		return time.Now(), nil
	}
	if len(s) > 2 && (s[0] == '+' || s[0] == '-') {
		n, err := strconv.Atoi(s[1 : len(s)-1])
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute}[s[len(s)-1]]
		if err != nil || n < 0 || unit == 0 {
			return time.Time{}, credo.FieldErrorf("--"+flag, "%q is not an offset from now such as +30d, -12h or +90m", s)
		}
		d := time.Duration(n) * unit
		if s[0] == '-' {
			d = -d
		}
		return time.Now().Add(d), nil
	}
	t, err := ingest.ParseTime(s, loc)
	if err != nil {
		return time.Time{}, credo.FieldErrorf("--"+flag, "%v", err)
	}
	return t, nil
}

// parseKindFlag parses a --kind flag: "" (either), person or org.
func parseKindFlag(s string) (credo.SubjectKind, error) {
	if s == "" {
		return credo.KindUnknown, nil
	}
	k, ok := credo.ParseSubjectKind(s)
	if !ok {
		return k, credo.FieldErrorf("--kind", "%q is not a kind of subject: person or org", s)
	}
	return k, nil
}

// subjectArg qualifies a SUBJECT argument with its --kind: the registry
// reads "RIC:..." and "USCC:..." as saying the scheme (a passport or an
// already qualified subject is left as it is, and the registry checks it
// against nothing else).
func subjectArg(subject, kind string) (string, error) {
	k, err := parseKindFlag(kind)
	if err != nil || k == credo.KindUnknown {
		return subject, err
	}
	s := strings.TrimSpace(subject)
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s, nil
	}
	if k == credo.Person {
		return "RIC:" + s, nil
	}
	return "USCC:" + s, nil
}

// flagErrors names the flag behind an engine's error about the instant
// decided at ("at") or the knowledge decided with ("known").
func flagErrors(err error) error {
	var e *credo.Error
	if !errors.As(err, &e) || e.Field != "at" && e.Field != "known" {
		return err
	}
	c := *e
	c.Field = "--" + c.Field
	return &c
}

// parseAtKnown parses the --at and --known flags of commands that look at
// the registry as at one instant, as known at another.
func parseAtKnown(at, known string, loc *time.Location) (atT, knownT time.Time, err error) {
	if atT, err = parseInstant("at", at, loc); err != nil {
		return
	}
	knownT, err = parseInstant("known", known, loc)
	return
}

func newInitCmd() *cobra.Command {
	var db storeFlag
	var pol string
	cmd := &cobra.Command{
		Use:     "init --db DB --policy FILE",
		Short:   "Create a registry and publish its first policy",
		Example: "  credo init --db city.db --policy policies/beijing.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if pol == "" {
				return credo.FieldErrorf("--policy", "is required: the policy file to publish first")
			}
			src, err := os.ReadFile(pol)
			if err != nil {
				return credo.FieldErrorf("--policy", "%v", err)
			}
			st, err := openStoreInit(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			// init creates a registry: on one that has a policy already it
			// publishes nothing (a new version is `credo policy publish`).
			if pvs, err := st.Policies(cmd.Context()); err != nil {
				return err
			} else if len(pvs) > 0 {
				last := pvs[len(pvs)-1]
				if last.Hash == policy.Hash(src) {
					fmt.Fprintf(cmd.OutOrStdout(), "registry %s exists already, with policy %q version %s: nothing published\n", db, last.Name, last.Hash[:12])
					return nil
				}
				return credo.Errorf(credo.ECONFLICT, "registry %s exists already, with policy %q version %s: nothing published (to publish %s as a new version: credo policy publish --db %s %s)",
					db, last.Name, last.Hash[:12], pol, db, pol)
			}
			reg, err := registry.Open(cmd.Context(), st, registry.Options{})
			if err != nil {
				return err
			}
			pv, warns, err := reg.Publish(cmd.Context(), pol, src, time.Time{})
			if err != nil {
				return err
			}
			for _, w := range warns {
				fmt.Fprintln(cmd.ErrOrStderr(), w.String())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registry %s: published policy %q version %s, effective %s\n", db, pv.Name, pv.Hash[:12], pv.Effective.Format(time.RFC3339))
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&pol, "policy", "", "policy file to publish")
	return cmd
}

func newPublishCmd() *cobra.Command {
	var db storeFlag
	var eff string
	cmd := &cobra.Command{
		Use:   "publish --db DB FILE [--effective T]",
		Short: "Publish a new policy version (every version is kept)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := os.ReadFile(args[0])
			if err != nil {
				return credo.Errorf(credo.EINVALID, "%v", err)
			}
			reg, st, err := openRegistry(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			effective, err := parseInstant("effective", eff, time.UTC)
			if err != nil {
				return err
			}
			pv, warns, err := reg.Publish(cmd.Context(), args[0], src, effective)
			if err != nil {
				return err
			}
			for _, w := range warns {
				fmt.Fprintln(cmd.ErrOrStderr(), w.String())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "published policy %q version %s, effective %s\n", pv.Name, pv.Hash[:12], pv.Effective.Format(time.RFC3339))
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&eff, "effective", "", "when the version takes effect (RFC 3339, YYYY-MM-DD UTC or +N days from now; default: the policy's own effective time)")
	return cmd
}

func newVerifyCmd() *cobra.Command {
	var db storeFlag
	var asJSON, logOnly bool
	var checkpoint, key string
	cmd := &cobra.Command{
		Use:   "verify --db DB [--checkpoint FILE --key KEY]",
		Short: "Re-walk the hash-chained event log, prove every projection answers are made from equals a replay of it, and with --checkpoint that the log extends an earlier checkpoint",
		Long: `Re-walk the hash-chained event log and report the first event that does not
match; then replay the log and compare every projection answers are made
from (the subject index, subjects, records and their status, disputes,
repair applications, links, policies, notices) with the replay, naming each
table that differs. --log-only skips the projections. With --checkpoint,
also prove the log extends a checkpoint signed earlier (truncation, rewrite
or fork is reported with the first differing position). Exit 1 if any
check fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Verification needs no keys: it works on the stored bytes.
			st, err := openVerifyStore(db)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := st.Verify(cmd.Context())
			if err != nil {
				return err
			}
			out := struct {
				credo.VerifyResult
				Projections *credo.ProjectionResult `json:"projections,omitempty"`
			}{VerifyResult: res}
			if !logOnly {
				pres, err := st.VerifyProjections(cmd.Context())
				if err != nil {
					return err
				}
				out.Projections = &pres
				out.OK = out.OK && pres.OK
			}
			w := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(w, out); err != nil {
					return err
				}
			} else {
				if res.OK {
					fmt.Fprintf(w, "ok: %d events, head %d %s\n", res.Count, res.HeadSeq, res.HeadHash)
				} else {
					fmt.Fprintf(w, "FAILED at event %d: %s\n", res.FirstBad, res.Problem)
				}
				if p := out.Projections; p != nil && p.OK {
					fmt.Fprintf(w, "ok: projections equal a replay of the %d events (%d subject index rows, %d records)\n", p.Events, p.Tables["subject_events"], p.Tables["records"])
				} else if p != nil {
					for _, pr := range p.Problems {
						fmt.Fprintf(w, "FAILED projection %s\n", pr.Problem)
					}
				}
			}
			if checkpoint != "" {
				// Run even when the log or the projections failed: a
				// truncated tail with a rewritten head shows here first.
				if err := verifyCheckpoint(cmd.Context(), cmd, st, checkpoint, key); err != nil {
					return err
				}
			}
			if !out.OK {
				return exitError{1}
			}
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&checkpoint, "checkpoint", "", "a checkpoint signed earlier (GET /checkpoint, or serve's --checkpoint-file): prove the log extends it (truncation, rewrite or fork is reported with the first differing position)")
	cmd.Flags().StringVar(&key, "key", "", "the log's public key, or a file holding it, to check the checkpoint's signature")
	cmd.Flags().BoolVar(&logOnly, "log-only", false, "verify the log only, not the projections")
	return cmd
}

func asCredo(err error, e **credo.Error) bool { return errors.As(err, e) }

func asLineErr(err error, e **ingest.LineError) bool { return errors.As(err, e) }

// snapshotPath is where `credo serve` keeps the decision table between
// runs: beside the SQLite file; none for PostgreSQL, whose nodes rebuild
// from (and tail) the shared log.
func (s storeFlag) snapshotPath() string {
	if u, err := s.pgURL(); err != nil || u != "" {
		return ""
	}
	return s.db + ".table"
}

// policyLister lists the published policy versions: a store, or a
// policy service (local or over the API).
type policyLister interface {
	Policies(ctx context.Context) ([]credo.PolicyVersion, error)
}

// tooEarly refuses --known and --at instants before the registry knew or
// applied anything (knownTooEarly, atTooEarly).
func tooEarly(ctx context.Context, st policyLister, at, known time.Time, loc *time.Location) error {
	if err := knownTooEarly(ctx, st, known, loc); err != nil {
		return err
	}
	return atTooEarly(ctx, st, at, loc)
}

// knownTooEarly refuses a --known instant before the registry's first
// policy was published: nothing was known then, and "no policy in force"
// would not say why.
func knownTooEarly(ctx context.Context, st policyLister, known time.Time, loc *time.Location) error {
	if known.IsZero() {
		return nil
	}
	pvs, err := st.Policies(ctx)
	if err != nil || len(pvs) == 0 {
		return err
	}
	first := pvs[0].Published
	for _, pv := range pvs[1:] {
		if pv.Published.Before(first) {
			first = pv.Published
		}
	}
	if known.Before(first) {
		return credo.FieldErrorf("--known", "nothing was known yet at %s: the registry's first policy was published at %s (--known is the instant whose knowledge is used; default now)",
			known.In(loc).Format(time.RFC3339), first.In(loc).Format(time.RFC3339))
	}
	return nil
}

// atTooEarly refuses an --at instant before any policy takes effect,
// saying when the first one does ("no policy in force" alone leaves a
// reader guessing).
func atTooEarly(ctx context.Context, st policyLister, at time.Time, loc *time.Location) error {
	if at.IsZero() {
		return nil
	}
	pvs, err := st.Policies(ctx)
	if err != nil || len(pvs) == 0 {
		return err
	}
	first := pvs[0].Effective
	for _, pv := range pvs[1:] {
		if pv.Effective.Before(first) {
			first = pv.Effective
		}
	}
	if at.Before(first) {
		return credo.FieldErrorf("--at", "no policy was in force yet at %s: the first takes effect at %s",
			at.In(loc).Format(time.RFC3339), first.In(loc).Format(time.RFC3339))
	}
	return nil
}
