package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"credo"
	"credo/engine"
	"credo/policies"
	"credo/policy"
	"credo/registry"
	"credo/seal"
	"credo/sqlite"
	"credo/synth"
)

type demoFlags struct {
	serve          serveFlags
	people, orgs   int
	seed           int64
	activity       float64
	fresh, noServe bool
	sampleOut      string
	sampleN        int
}

func newDemoCmd() *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo [--db credo-demo.db] [--addr 127.0.0.1:8080]",
		Short: "Create (or reuse) a demo registry with a seeded city and serve it",
		Long: `Create a demo registry with the example Beijing policy and a synthetic city of
about 200,000 people and 20,000 companies with five years of records, then
serve the API and print ready-to-use tokens for each role and a few curl
lines to try. An existing demo registry is reused (--fresh rebuilds it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return demo(cmd, &f)
		},
	}
	f.serve.register(cmd)
	cmd.Flags().Lookup("db").DefValue = "credo-demo.db"
	f.serve.db.db = "credo-demo.db"
	cmd.Flags().IntVar(&f.people, "people", 200000, "people in the synthetic city")
	cmd.Flags().IntVar(&f.orgs, "orgs", 20000, "companies in the synthetic city")
	cmd.Flags().Int64Var(&f.seed, "seed", 1, "seed of the synthetic city")
	cmd.Flags().BoolVar(&f.fresh, "fresh", false, "delete an existing demo registry first")
	cmd.Flags().BoolVar(&f.noServe, "no-serve", false, "build the registry and create the tokens, then exit")
	cmd.Flags().Float64Var(&f.activity, "activity", 0.5, "scale of how many subjects have records (1: about a third of adults, the calibration of credo generate)")
	cmd.Flags().StringVar(&f.sampleOut, "sample-subjects", "", "write identifiers of subjects spread over the whole city to this file, one a line (for load tests)")
	cmd.Flags().IntVar(&f.sampleN, "sample-size", 10000, "how many identifiers --sample-subjects writes")
	return cmd
}

// demoEnd is the end of the demo city's five-year window: today's midnight
// in the policy's time zone.
func demoEnd(loc *time.Location) time.Time {
	y, m, d := time.Now().In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func demo(cmd *cobra.Command, f *demoFlags) error {
	ctx := cmd.Context()
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.serve.db.pgSet {
		return credo.Errorf(credo.EINVALID, "the demo runs on the embedded SQLite store (--db); for PostgreSQL use credo init, generate, ingest and serve with --postgres")
	}
	db := f.serve.db.db
	logger := serveLogger(errw)
	var ln net.Listener
	if !f.noServe {
		// The port first: a busy --addr is reported before the city is
		// seeded and the decision table built.
		var err error
		if ln, err = f.serve.listen(logger); err != nil {
			return err
		}
		defer ln.Close()
	}
	if f.fresh {
		for _, f := range []string{db, sqlite.CheckLogPath(db)} {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(f + suffix)
			}
		}
		os.Remove(db + ".table")
		os.Remove(seal.LedgerPath(db)) // the erasures of the registry removed
	}
	sf := f.serve.db
	sf.dbSet, sf.pgSet = true, false
	pol, err := policy.Parse("policies/beijing.yaml", policies.Beijing)
	if err != nil {
		return err
	}
	end := demoEnd(pol.Location())
	if _, err := os.Stat(db); os.IsNotExist(err) {
		fmt.Fprintf(errw, "creating demo registry %s: %d people, %d companies, 5 years of records\n", db, f.people, f.orgs)
		if err := seedDemo(ctx, func() (store, error) { return openStoreInit(cmd, sf) }, pol, end, f, errw); err != nil {
			os.Remove(db)
			return err
		}
	} else {
		fmt.Fprintf(errw, "reusing demo registry %s (--fresh to rebuild)\n", db)
	}

	st, err := openStore(sf, true)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	// Like serve, the demo keeps its decision table beside the registry
	// (DB.table): a restart loads it instead of rebuilding it.
	reg, err := registry.Open(ctx, st, registry.Options{Logger: logger, Snapshot: db + ".table", SnapshotKey: snapshotKey(st)})
	if err != nil {
		return err
	}
	defer func() {
		if err := reg.SaveSnapshot(context.WithoutCancel(ctx)); err != nil {
			logger.Error("saving the decision table snapshot", "err", err)
		}
	}()
	table, err := reg.Table(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(errw, "decision table: %d subjects with records, ready in %s\n", table.Len(), time.Since(start).Round(time.Millisecond))

	city, err := synth.New(synth.Config{People: f.people, Orgs: f.orgs, Years: 5, Seed: f.seed, End: end, Policy: pol, Activity: f.activity})
	if err != nil {
		return err
	}
	if f.sampleOut != "" {
		if err := writeSample(f.sampleOut, city, f.people, f.orgs, f.sampleN); err != nil {
			return err
		}
	}
	story := findListed(ctx, reg, city)
	toks, err := demoTokens(cmd, reg, st, story)
	if err != nil {
		return err
	}
	code := ""
	if !f.serve.noPortal {
		if code, _, err = issueCode(ctx, reg, st, story.subject); err != nil {
			return err
		}
	}
	if f.noServe {
		printDemo(out, "http://"+f.serve.addr, toks, story, code)
		return nil
	}
	return serveRegistry(cmd, &f.serve, ln, st, reg, logger, func(addr net.Addr) {
		printDemo(out, "http://"+addr.String(), toks, story, code)
	})
}

// seedDemo creates the registry, publishes the example policy (effective
// from before the city's first record) and files the city.
func seedDemo(ctx context.Context, open func() (store, error), pol *policy.Policy, end time.Time, f *demoFlags, errw io.Writer) error {
	st, err := open()
	if err != nil {
		return err
	}
	defer st.Close()
	reg, err := registry.Open(ctx, st, registry.Options{NoTable: true})
	if err != nil {
		return err
	}
	if _, _, err := reg.Publish(ctx, "policies/beijing.yaml", policies.Beijing, end.AddDate(-5, 0, -1)); err != nil {
		return err
	}
	city, err := synth.New(synth.Config{People: f.people, Orgs: f.orgs, Years: 5, Seed: f.seed, End: end, Policy: pol, Activity: f.activity})
	if err != nil {
		return err
	}
	bar := progressbar.NewOptions(city.Subjects(), progressbar.OptionSetWriter(errw), progressbar.OptionSetDescription("filing records"),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(250*time.Millisecond),
		progressbar.OptionClearOnFinish(), progressbar.OptionSetVisibility(isTerminal(errw)))
	start := time.Now()
	// The registry is new: the links, the records (through generate's
	// pipeline) and the consents are loaded in bulk (the same registry,
	// byte for byte, built faster: their rows keyed by subject are written
	// once, in order, at the end).
	endBulk, err := startBulk(ctx, st)
	if err != nil {
		return err
	}
	err = seedCity(ctx, reg, city, bar, start, errw)
	if e := endBulk(); err == nil {
		err = e
	}
	if err == nil {
		err = noticesIssued(ctx, reg)
	}
	return err
}

// appendEach appends events 5,000 a call.
func appendEach(ctx context.Context, reg *registry.Registry, evs []*credo.Event) error {
	for i := 0; i < len(evs); i += 5000 {
		if _, err := reg.Append(ctx, evs[i:min(i+5000, len(evs))]...); err != nil {
			return err
		}
	}
	return nil
}

// seedCity files the demo city's links, records and consents.
func seedCity(ctx context.Context, reg *registry.Registry, city *synth.City, bar *progressbar.ProgressBar, start time.Time, errw io.Writer) error {
	var links []*credo.Event
	if err := city.Links(func(l credo.Link) error {
		links = append(links, &credo.Event{Type: credo.EventLinkAdded, Subject: l.Org, Actor: "samr.beijing", Link: &l})
		return nil
	}); err != nil {
		return err
	}
	if err := appendEach(ctx, reg, links); err != nil {
		return err
	}
	load, err := fileCity(ctx, reg, city, func(n int) { bar.Add(n) })
	if err != nil {
		return err
	}
	if load.refused > 0 {
		return credo.Errorf(credo.EINTERNAL, "seeding the demo: %d records refused by the policy; the first: %v", load.refused, load.firstRefusal)
	}
	n := load.filed
	bar.Finish()
	el := time.Since(start)
	fmt.Fprintf(errw, "filed %d records and %d links in %s (%.0f records/s)\n", n, len(links), el.Round(time.Millisecond), float64(n)/el.Seconds())
	// Residents who opted in to a personal score: without them every
	// person is "not scored" and the personal tiers, rewards and the
	// redlist stay empty.
	var consents []*credo.Event
	if err := city.Consents(demoConsentShare, func(subject string, c credo.Consent) error {
		consents = append(consents, &credo.Event{Type: credo.EventConsentGiven, Subject: subject, Actor: credo.RoleSubject, Consent: &c})
		return nil
	}); err != nil {
		return err
	}
	if err := appendEach(ctx, reg, consents); err != nil {
		return err
	}
	fmt.Fprintf(errw, "%d residents consented to a personal score\n", len(consents))
	return nil
}

// demoConsentShare is the share of adult residents of the demo city who
// opted in to each personal score.
const demoConsentShare = 0.3

// demoStory is the due-process story the demo's tokens let one visitor
// play: a citizen denied air travel, the record behind the denial and the
// authority that filed it (whose clerk decides the citizen's objection).
type demoStory struct {
	subject   string
	record    int64
	authority string
}

// findListed finds a person denied air travel because of a record they
// may still object to, and the authority that filed it.
func findListed(ctx context.Context, reg *registry.Registry, city *synth.City) demoStory {
	for i := 0; i < 50000; i++ {
		d, err := reg.Check(ctx, city.Person(i), "aviation")
		if err != nil || d.Decision != engine.Deny {
			continue
		}
		s, err := reg.State(ctx, city.Person(i), time.Time{}, time.Time{})
		if err != nil {
			continue
		}
		for _, l := range s.Listings {
			for _, id := range l.Records {
				for _, r := range s.Records {
					if r.Record.ID == id && r.Status == engine.StatusActive {
						return demoStory{subject: city.Person(i), record: id, authority: r.Record.Authority}
					}
				}
			}
		}
	}
	return demoStory{subject: city.Person(0), authority: "court.beijing.chaoyang"}
}

type demoToken struct{ role, desc, secret string }

func demoTokens(cmd *cobra.Command, reg *registry.Registry, ts credo.TokenStore, story demoStory) ([]demoToken, error) {
	listed := story.subject
	specs := []struct {
		t    credo.Token
		desc string
	}{
		{credo.Token{Role: credo.RoleAdmin, Name: "demo operator"}, "admin"},
		{credo.Token{Role: credo.RoleAuthority, Name: "clerk of " + story.authority, Authority: story.authority}, "authority " + story.authority},
		{credo.Token{Role: credo.RoleChecker, Name: "Air China", Sectors: []string{"aviation"}}, "checker (airline: aviation)"},
		{credo.Token{Role: credo.RoleChecker, Name: "China Railway 12306", Sectors: []string{"rail-highspeed", "rail-softsleeper"}}, "checker (railway)"},
		{credo.Token{Role: credo.RoleSubject, Name: "citizen", Subject: listed}, "subject " + listed},
		{credo.Token{Role: credo.RoleAuditor, Name: "auditor"}, "auditor"},
	}
	var out []demoToken
	for _, s := range specs {
		t := s.t
		secret, err := createToken(cmd, reg, ts, &t)
		if err != nil {
			return nil, err
		}
		out = append(out, demoToken{t.Role, s.desc, secret})
	}
	return out, nil
}

func printDemo(w io.Writer, base string, toks []demoToken, story demoStory, code string) {
	listed := story.subject
	fmt.Fprintf(w, "\nCredo demo registry serving at %s\n\nTokens (shown once):\n", base)
	secret := map[string]string{}
	for _, t := range toks {
		fmt.Fprintf(w, "  %-36s %s\n", t.desc, t.secret)
		if _, ok := secret[t.role]; !ok {
			secret[t.role] = t.secret
		}
	}
	lines := []string{
		fmt.Sprintf(`curl -s -H "Authorization: Bearer %s" -d '{"subject":"%s","sector":"aviation"}' %s/v1/checks`, secret[credo.RoleChecker], listed, base),
		fmt.Sprintf(`curl -s -H "Authorization: Bearer %s" %s/v1/subjects/%s`, secret[credo.RoleSubject], base, listed),
		fmt.Sprintf(`curl -s -H "Authorization: Bearer %s" %s/v1/subjects/%s/checks`, secret[credo.RoleSubject], base, listed),
		fmt.Sprintf(`curl -s '%s/v1/lists/dishonest-debtors?q=%s'`, base, listed),
		fmt.Sprintf(`curl -s -H "Authorization: Bearer %s" %s/v1/stats`, secret[credo.RoleAuditor], base),
		fmt.Sprintf(`curl -s %s/v1/openapi.json`, base),
	}
	if code != "" {
		fmt.Fprintf(w, "\nWeb portal: %s/ — sign in at %s/signin with the citizen's one-time code %s\n(works once, within 24 hours; or with any token above: subject, authority, admin, auditor)\n", base, base, code)
	}
	if story.record != 0 {
		fmt.Fprintf(w, `
Play due process through (in the portal, or with the curl lines below):
  1. As the citizen %s (the subject token, or the one-time code):
     /me shows air travel denied because of record %d; object to it there.
  2. As the clerk of %s, who filed that record (the authority token):
     /clerk lists the objection with its deadline; decide it (revoke it, or
     uphold it with a reason).
  3. As the citizen again: /me shows the decision, and the changed answer
     if the record was revoked.
  Residents who consented to a personal score have tiers and rewards;
  /dashboard (admin or auditor token) shows the personal tier chart and
  /public the redlist.
`, listed, story.record, story.authority)
		secret := map[string]string{}
		for _, t := range toks {
			if _, ok := secret[t.role]; !ok {
				secret[t.role] = t.secret
			}
		}
		fmt.Fprintf(w, "\n  curl -s -H \"Authorization: Bearer %s\" -d '{\"record_id\":%d,\"grounds\":\"I paid the judgment debt\"}' %s/v1/disputes\n", secret[credo.RoleSubject], story.record, base)
		fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer %s\" %s/v1/disputes\n", secret[credo.RoleAuthority], base)
	}
	fmt.Fprintf(w, "\nTry:\n  %s\n\nCtrl-C stops the server; the registry stays in the database file.\n", strings.Join(lines, "\n  "))
}

// writeSample writes n subject identifiers spread evenly over the city.
func writeSample(path string, city *synth.City, people, orgs, n int) error {
	var b strings.Builder
	total := people + orgs
	n = min(n, total)
	for i := 0; i < n; i++ {
		j := int(int64(i) * int64(total) / int64(n))
		if j < people {
			b.WriteString(city.Person(j))
		} else {
			b.WriteString(city.Org(j - people))
		}
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
