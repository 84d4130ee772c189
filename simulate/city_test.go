package simulate_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/policy"
	"credo/registry"
	"credo/sqlite"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// T is the instant the tests simulate at.
var T = time.Date(2026, 6, 1, 12, 0, 0, 0, shanghai)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func ric(first17 string) string {
	c, err := ident.RICCheck(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

// The constructed city. Persons in Chaoyang (110105) and Haidian (110108);
// sequence numbers odd for men, even for women.
var (
	p1 = ric("11010519800101001") // Chaoyang, male, 46: 3 months of late utility fees
	p2 = ric("11010519900101002") // Chaoyang, female, 36: 8 months of late utility fees
	p3 = ric("11010519700101003") // Chaoyang, male, 56: dishonest judgment debtor
	p4 = ric("11010520000101004") // Chaoyang, female, 26: a late fee that expired
	p5 = ric("11010819850101002") // Haidian, female, 41: 3 months of late utility fees
	p6 = ric("11010819600101001") // Haidian, male, 66: an expired late fee; O1's legal representative
	o1 = "914403001922038216"     // a Guangdong company: dishonest judgment debtor
	// Census only: no events.
	p7 = ric("11010520150601002") // Chaoyang, female, 10
	p8 = ric("11010819900101003") // Haidian, male, 36
)

const evidence = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func loadPolicy(t testing.TB, file string) (*policy.Policy, []byte) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse(file, src)
	if err != nil {
		t.Fatal(err)
	}
	return p, src
}

// city builds the constructed city in a fresh registry whose clock stands
// at 2026-05-01 (every event is known at T).
func city(t *testing.T) (*registry.Registry, credo.RegistryStore, *clock) {
	t.Helper()
	c := &clock{time.Date(2026, 5, 1, 9, 0, 0, 0, shanghai)}
	st, err := sqlite.OpenOptions(filepath.Join(t.TempDir(), "city.db"), sqlite.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	reg, err := registry.Open(ctx, st, registry.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	_, src := loadPolicy(t, "testdata/current.yaml")
	if _, _, err := reg.Publish(ctx, "current.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, shanghai) }
	late := func(subject, ref string, months float64, decided time.Time) *credo.Record {
		return &credo.Record{Subject: subject, Rule: "LATE_UTILITY", Authority: "utility.water", CaseRef: ref, DecidedAt: decided, Quantity: months, EvidenceSHA256: evidence}
	}
	judgment := func(subject, ref string) *credo.Record {
		return &credo.Record{Subject: subject, Rule: "JUDGMENT_DEFAULT", Authority: "court.test", CaseRef: ref, DecidedAt: day(2026, 2, 2), EvidenceSHA256: evidence}
	}
	recs := []*credo.Record{
		late(p1, "W-1", 3, day(2026, 3, 2)),
		late(p2, "W-2", 8, day(2026, 3, 2)),
		judgment(p3, "(2026)J-3"),
		late(p4, "W-4", 2, day(2025, 1, 6)),
		late(p5, "W-5", 3, day(2026, 3, 2)),
		late(p6, "W-6", 4, day(2025, 1, 6)),
		judgment(o1, "(2026)J-7"),
	}
	if _, err := reg.FileRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Append(ctx, &credo.Event{Type: credo.EventLinkAdded, Subject: o1, Actor: "admin",
		Link: &credo.Link{Org: o1, Person: p6, Role: credo.RoleLegalRepresentative, From: day(2020, 1, 1)}}); err != nil {
		t.Fatal(err)
	}
	return reg, st, c
}

func versions(t *testing.T, reg *registry.Registry) (engine.Version, engine.Version) {
	t.Helper()
	cur, ok := reg.Engine().PolicyAt(T, T)
	if !ok {
		t.Fatal("no policy in force at T")
	}
	dp, src := loadPolicy(t, "testdata/draft.yaml")
	return cur, engine.Version{Hash: policy.Hash(src), Policy: dp, Effective: T, Published: T}
}
