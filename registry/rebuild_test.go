package registry_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/registry"
	"credo/sqlite"
)

// gatedStore holds a rebuild at its first read of the log head, once
// armed, until released: what a long re-evaluation looks like to checks.
type gatedStore struct {
	credo.RegistryStore
	mu       sync.Mutex
	armed    bool
	reached  chan struct{}
	released chan struct{}
}

func (g *gatedStore) Head(ctx context.Context) (int64, string, error) {
	g.mu.Lock()
	armed := g.armed
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(g.reached)
		<-g.released
	}
	return g.RegistryStore.Head(ctx)
}

// TestChecksDuringRebuild publishes a version that lifts a ban and holds
// the re-evaluation it starts: meanwhile checks are answered from the old
// table (the ban holds), and once it is done the new table is in force.
func TestChecksDuringRebuild(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	st, err := sqlite.OpenOptions(filepath.Join(t.TempDir(), "r.db"), sqlite.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g := &gatedStore{RegistryStore: st, reached: make(chan struct{}), released: make(chan struct{})}
	ctx := context.Background()
	reg, err := registry.Open(ctx, g, registry.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "v1.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for i := range 50 {
		s := snapPerson(i)
		subjects = append(subjects, s)
		if _, err := reg.FileRecord(ctx, judgment(s, fmt.Sprintf("(2026)G%d", i), time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want string) {
		t.Helper()
		for _, s := range subjects {
			d, err := reg.Check(ctx, s, "aviation")
			if err != nil {
				t.Fatal(err)
			}
			if d.Decision != want {
				t.Fatalf("%s: %s, want %s", s, d.Decision, want)
			}
		}
	}
	check(engine.Deny)

	// v2, in force at once, grants instead of banning flights.
	v2 := strings.Replace(string(src), "- {id: flight-ban, sector: aviation, effect: deny", "- {id: flight-ban, sector: aviation, effect: grant", 1)
	v2 = strings.Replace(v2, ", extends_to: [legal_representative]}", "}", 1)
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
	published := make(chan error, 1)
	go func() {
		_, _, err := reg.Publish(ctx, "v2.yaml", []byte(v2), c.t)
		published <- err
	}()
	<-g.reached
	check(engine.Deny) // the old table answers while the new one is built
	_, hash, err := reg.Policy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	close(g.released)
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	check(engine.Allow)
	_, newHash, _ := reg.Policy(ctx)
	if newHash == hash {
		t.Fatalf("policy in force still %s after the rebuild", hash)
	}
}

// TestRebuildBySubject checks that a rebuild that loads subjects one by one
// (a log longer than a rebuild may hold in memory) builds the same table
// as one that reads the log into memory.
func TestRebuildBySubject(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	reg := e.open(false)
	e.publish(reg, nil)
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)
	subjects := []string{org}
	for i := range 30 {
		subjects = append(subjects, snapPerson(i))
		if _, err := reg.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)B%d", i), decided)); err != nil {
			t.Fatal(err)
		}
	}
	rep := snapPerson(99) // no record: decided through the organisation
	subjects = append(subjects, rep)
	if _, err := reg.Append(ctx, &credo.Event{Type: credo.EventLinkAdded, Subject: org, Actor: "admin",
		Link: &credo.Link{Org: org, Person: rep, Role: credo.RoleLegalRepresentative, From: time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.FileRecord(ctx, judgment(org, "(2026)B-org", decided)); err != nil {
		t.Fatal(err)
	}
	first, err := e.st.RecordByCase(ctx, "court.test", "(2026)B0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.ChangeRecord(ctx, credo.EventRecordFulfilled, first.ID, time.Time{}, "court.test", "paid", false); err != nil {
		t.Fatal(err)
	}

	logs := &syncBuffer{}
	// (A store without the facts projection: with it, a rebuild reads that.)
	bySubject, err := registry.Open(ctx, logOnly{e.st}, registry.Options{Now: e.c.now, RebuildInMemoryMax: 1,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "rebuilding subject by subject") {
		t.Fatalf("the rebuild did not load subjects one by one:\n%s", logs)
	}
	sameTables(t, bySubject, e.open(false), subjects, e.c.t)
	d, err := bySubject.Check(ctx, rep, "aviation")
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != engine.Deny {
		t.Errorf("the organisation's representative: %s, want deny", d.Decision)
	}
}
