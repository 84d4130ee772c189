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
	if f.fresh {
		for _, f := range []string{db, sqlite.CheckLogPath(db)} {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(f + suffix)
			}
		}
	}
	pol, err := policy.Parse("policies/beijing.yaml", policies.Beijing)
	if err != nil {
		return err
	}
	end := demoEnd(pol.Location())
	if _, err := os.Stat(db); os.IsNotExist(err) {
		fmt.Fprintf(errw, "creating demo registry %s: %d people, %d companies, 5 years of records\n", db, f.people, f.orgs)
		if err := seedDemo(ctx, db, pol, end, f, errw); err != nil {
			os.Remove(db)
			return err
		}
	} else {
		fmt.Fprintf(errw, "reusing demo registry %s (--fresh to rebuild)\n", db)
	}

	st, err := sqlite.Open(db)
	if err != nil {
		return err
	}
	defer st.Close()
	logger := serveLogger()
	start := time.Now()
	reg, err := registry.Open(ctx, st, registry.Options{Logger: logger})
	if err != nil {
		return err
	}
	table, err := reg.Table(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(errw, "decision table: %d subjects with records, built in %s\n", table.Len(), time.Since(start).Round(time.Millisecond))

	city, err := synth.New(synth.Config{People: f.people, Orgs: f.orgs, Years: 5, Seed: f.seed, End: end, Policy: pol, Activity: f.activity})
	if err != nil {
		return err
	}
	if f.sampleOut != "" {
		if err := writeSample(f.sampleOut, city, f.people, f.orgs, f.sampleN); err != nil {
			return err
		}
	}
	listed := findListed(ctx, reg, city)
	toks, err := demoTokens(cmd, reg, st, listed)
	if err != nil {
		return err
	}
	code := ""
	if !f.serve.noPortal {
		if code, _, err = issueCode(ctx, reg, st, listed); err != nil {
			return err
		}
	}
	if f.noServe {
		printDemo(out, "http://"+f.serve.addr, toks, listed, code)
		return nil
	}
	return serveRegistry(cmd, &f.serve, st, reg, logger, func(addr net.Addr) {
		printDemo(out, "http://"+addr.String(), toks, listed, code)
	})
}

// seedDemo creates the registry, publishes the example policy (effective
// from before the city's first record) and files the city.
func seedDemo(ctx context.Context, db string, pol *policy.Policy, end time.Time, f *demoFlags, errw io.Writer) error {
	st, err := sqlite.Open(db)
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
	var links []*credo.Event
	if err := city.Links(func(l credo.Link) error {
		links = append(links, &credo.Event{Type: credo.EventLinkAdded, Subject: l.Org, Actor: "samr.beijing", Link: &l})
		return nil
	}); err != nil {
		return err
	}
	for i := 0; i < len(links); i += 5000 {
		if _, err := reg.Append(ctx, links[i:min(i+5000, len(links))]...); err != nil {
			return err
		}
	}
	bar := progressbar.NewOptions(city.Subjects(), progressbar.OptionSetWriter(errw), progressbar.OptionSetDescription("filing records"),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(250*time.Millisecond),
		progressbar.OptionClearOnFinish(), progressbar.OptionSetVisibility(isTerminal(errw)))
	start := time.Now()
	n := 0
	var batch []*credo.Record
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := reg.FileRecords(ctx, batch)
		n += len(batch)
		batch = batch[:0]
		return err
	}
	const step = 2000
	for lo := 0; lo < city.Subjects(); lo += step {
		hi := min(lo+step, city.Subjects())
		if err := city.RecordsRange(lo, hi, func(r *credo.Record) error {
			c := *r
			batch = append(batch, &c)
			if len(batch) >= 10000 {
				return flush()
			}
			return nil
		}); err != nil {
			return err
		}
		bar.Add(hi - lo)
	}
	if err := flush(); err != nil {
		return err
	}
	bar.Finish()
	el := time.Since(start)
	fmt.Fprintf(errw, "filed %d records and %d links in %s (%.0f records/s)\n", n, len(links), el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

// findListed finds a person on the dishonest-debtor list, for the demo.
func findListed(ctx context.Context, reg *registry.Registry, city *synth.City) string {
	for i := 0; i < 50000; i++ {
		d, err := reg.Check(ctx, city.Person(i), "aviation")
		if err == nil && d.Decision == engine.Deny {
			return city.Person(i)
		}
	}
	return city.Person(0)
}

type demoToken struct{ role, desc, secret string }

func demoTokens(cmd *cobra.Command, reg *registry.Registry, ts credo.TokenStore, listed string) ([]demoToken, error) {
	specs := []struct {
		t    credo.Token
		desc string
	}{
		{credo.Token{Role: credo.RoleAdmin, Name: "demo operator"}, "admin"},
		{credo.Token{Role: credo.RoleAuthority, Name: "Chaoyang court clerk", Authority: "court.beijing.chaoyang"}, "authority court.beijing.chaoyang"},
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

func printDemo(w io.Writer, base string, toks []demoToken, listed, code string) {
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
