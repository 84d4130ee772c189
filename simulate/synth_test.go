package simulate_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"credo"
	"credo/policies"
	"credo/policy"
	"credo/registry"
	"credo/sqlite"
	"credo/synth"
)

// synthEnd is the end of the synthetic cities' five-year window; synthT
// the instant their simulations run at.
var (
	synthEnd = time.Date(2026, 6, 1, 0, 0, 0, 0, shanghai)
	synthT   = time.Date(2026, 6, 15, 12, 0, 0, 0, shanghai)
)

// synthCity files a synthetic city (synth, the example policy) into a
// fresh registry at path; the registry's clock stands at synthEnd.
func synthCity(t testing.TB, path string, people, orgs int) (*registry.Registry, credo.RegistryStore, *synth.City, *clock) {
	t.Helper()
	ctx := context.Background()
	c := &clock{synthEnd}
	st, err := sqlite.OpenOptions(path, sqlite.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := registry.Open(ctx, st, registry.Options{Now: c.now, NoTable: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "policies/beijing.yaml", policies.Beijing, synthEnd.AddDate(-5, 0, -1)); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	city, err := synth.New(synth.Config{People: people, Orgs: orgs, Years: 5, Seed: 7, End: synthEnd, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	var links []*credo.Event
	if err := city.Links(func(l credo.Link) error {
		links = append(links, &credo.Event{Type: credo.EventLinkAdded, Subject: l.Org, Actor: "samr.beijing", Link: &l})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(links); i += 5000 {
		if _, err := reg.Append(ctx, links[i:min(i+5000, len(links))]...); err != nil {
			t.Fatal(err)
		}
	}
	var batch []*credo.Record
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := reg.FileRecords(ctx, batch); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	if err := city.Records(func(r *credo.Record) error {
		c := *r
		batch = append(batch, &c)
		if len(batch) == 10000 {
			flush()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	flush()
	return reg, st, city, c
}

// synthFor returns a synthetic city under the example policy (for its
// identifiers only).
func synthFor(people, orgs int) (*synth.City, error) {
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		return nil, err
	}
	return synth.New(synth.Config{People: people, Orgs: orgs, Years: 5, Seed: 7, End: synthEnd, Policy: pol})
}

// census streams every subject of a synthetic city.
func census(city *synth.City, people, orgs int) func(func(string) error) error {
	return func(fn func(string) error) error {
		for i := 0; i < people; i++ {
			if err := fn(city.Person(i)); err != nil {
				return err
			}
		}
		for i := 0; i < orgs; i++ {
			if err := fn(city.Org(i)); err != nil {
				return err
			}
		}
		return nil
	}
}

// openTableless opens a registry over a store without its decision table:
// for its engine (the published versions).
func openTableless(t testing.TB, st credo.RegistryStore, c *clock) *registry.Registry {
	t.Helper()
	reg, err := registry.Open(context.Background(), st, registry.Options{Now: c.now, NoTable: true})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func tempDB(t testing.TB) string { return filepath.Join(t.TempDir(), "city.db") }
