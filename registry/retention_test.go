package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo/policy"
	"credo/registry"
	"credo/sqlite"
)

// openWith opens a registry under the test policy edited by old -> new.
func openWith(t *testing.T, c *clock, old, new string) *registry.Registry {
	t.Helper()
	st, err := sqlite.OpenOptions(filepath.Join(t.TempDir(), "r.db"), sqlite.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	reg, err := registry.Open(ctx, st, registry.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), old) {
		t.Fatalf("%q is not in the test policy", old)
	}
	if _, _, err := reg.Publish(ctx, "policy.yaml", []byte(strings.Replace(string(src), old, new, 1)), time.Time{}); err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestE05PublicListPublicationPeriod: a public list shows an entry only
// while its publication period runs: after publish_for the entry leaves the
// public list though the listing (and its measures) stay in force.
func TestE05PublicListPublicationPeriod(t *testing.T) {
	c := &clock{time.Date(2026, 5, 10, 9, 0, 0, 0, shanghai)}
	reg := openWith(t, c, "    public: true\n", "    public: true\n    publish_for: 1mo\n")
	ctx := context.Background()
	if _, err := reg.FileRecord(ctx, judgment(adult, "(2026)J1", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	census := func() *registry.Census {
		cs, err := registry.NewCensusCache(reg, registry.CensusOptions{TTL: time.Minute}).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	if cs := census(); len(cs.Entries["debtors"]) != 1 {
		t.Fatalf("within the publication period: entries %+v, want 1", cs.Entries["debtors"])
	} else if e := cs.Entries["debtors"][0]; !registry.Published(mustPolicy(t, reg), "debtors", e, c.t) {
		t.Error("Published says no within the period")
	}
	c.t = time.Date(2026, 6, 1, 0, 0, 0, 0, shanghai) // 1 May + 1mo
	cs := census()
	if n := len(cs.Entries["debtors"]); n != 0 {
		t.Errorf("after the publication period: %d entries, want 0", n)
	}
	if cs.Size("debtors") != 1 {
		t.Errorf("the listing itself must stay in force: size %d", cs.Size("debtors"))
	}
}

func mustPolicy(t *testing.T, reg *registry.Registry) *policy.Policy {
	t.Helper()
	pol, _, err := reg.Policy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pol
}
