package registry_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"credo"
	"credo/ident"
	"credo/internal/pgtest"
	"credo/postgres"
	"credo/registry"
	"credo/sqlite"
)

// Cluster is a set of registries over separate connections to one log,
// for the tailing tests; the PostgreSQL variant lives with the store's
// tests (cmd/credo), this one shares a SQLite file between handles.
type cluster struct {
	t     *testing.T
	clock *clock
	open  func() credo.RegistryStore
}

func sqliteCluster(t *testing.T) *cluster {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	path := filepath.Join(t.TempDir(), "shared.db")
	return &cluster{t: t, clock: c, open: func() credo.RegistryStore {
		st, err := sqlite.OpenOptions(path, sqlite.Options{Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}}
}

func (cl *cluster) registry() *registry.Registry {
	cl.t.Helper()
	reg, err := registry.Open(context.Background(), cl.open(), registry.Options{Now: cl.clock.now})
	if err != nil {
		cl.t.Fatal(err)
	}
	return reg
}

var persons, orgs = func() ([]string, []string) {
	var ps, os []string
	for i := range 40 {
		ps = append(ps, ric(fmt.Sprintf("110105198%d%02d01%03d", i%10, 1+i%12, i+1)))
	}
	for _, region := range []string{"440300", "110000", "310000", "120000"} {
		code := "1" + region[:2] + "00001"
		oc, err := ident.OrgCodeCheck(code)
		if err != nil {
			panic(err)
		}
		first17 := "91" + region + code + string(oc)
		c, err := ident.USCCCheck(first17)
		if err != nil {
			panic(err)
		}
		os = append(os, first17+string(c))
	}
	return ps, os
}()

// writer files records, links and fulfilments at random through reg
// until stop closes.
func writer(t *testing.T, reg *registry.Registry, name string, seed uint64, stop <-chan struct{}) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 7))
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)
	var mine []int64
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		var err error
		switch k := rng.IntN(10); {
		case k < 6:
			subj := persons[rng.IntN(len(persons))]
			if rng.IntN(4) == 0 {
				subj = orgs[rng.IntN(len(orgs))]
			}
			var res credo.FileResult
			res, err = reg.FileRecord(ctx, judgment(subj, fmt.Sprintf("%s-%d", name, i), decided))
			if err == nil {
				mine = append(mine, res.Record.ID)
			}
		case k < 8:
			_, err = reg.Append(ctx, &credo.Event{Type: credo.EventLinkAdded, Subject: orgs[rng.IntN(len(orgs))], Actor: "admin",
				Link: &credo.Link{Org: orgs[rng.IntN(len(orgs))], Person: persons[rng.IntN(len(persons))], Role: credo.RoleLegalRepresentative, From: decided}})
			if credo.ErrorCode(err) == credo.EINVALID {
				err = nil // the subject and the org differ: refused, fine
			}
		case len(mine) > 0:
			id := mine[rng.IntN(len(mine))]
			_, err = reg.ChangeRecord(ctx, credo.EventRecordFulfilled, id, time.Time{}, "court.test", "paid", false)
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
	}
}

// sameTable fails unless reg's decision table has exactly the entries of a
// table rebuilt from the whole log.
func sameTable(t *testing.T, name string, reg, fresh *registry.Registry) {
	t.Helper()
	ctx := context.Background()
	got, err := reg.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fresh.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.PolicyHash() != want.PolicyHash() {
		t.Errorf("%s decides under policy %.12s, a rebuild under %.12s", name, got.PolicyHash(), want.PolicyHash())
	}
	n := 0
	err = fresh.Store().Subjects(ctx, func(s string) error {
		n++
		ge, gown := got.Lookup(s)
		we, wown := want.Lookup(s)
		if ge != we || gown != wown {
			t.Errorf("%s: subject %s has entry %+v (own %v), a rebuild %+v (own %v)", name, s, ge, gown, we, wown)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != want.Len() {
		t.Errorf("%s has %d entries, a rebuild %d", name, got.Len(), want.Len())
	}
	if n < len(persons)/2 {
		t.Fatalf("only %d subjects in the log: the writers did not write", n)
	}
}

// TestTailConcurrentWriters: two nodes file concurrently over their own
// connections while a third only tails; a new policy version is
// published half way. Every node ends with the table a rebuild gives,
// and the pure tailer applied every event exactly once, in order.
func TestTailConcurrentWriters(t *testing.T) {
	testTail(t, sqliteCluster(t), 1500*time.Millisecond)
}

func testTail(t *testing.T, cl *cluster, run time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b, c := cl.registry(), cl.registry(), cl.registry()
	var mu sync.Mutex
	var seqs []int64
	var wg sync.WaitGroup
	for _, n := range []struct {
		reg  *registry.Registry
		opts registry.TailOptions
	}{
		{a, registry.TailOptions{Interval: 20 * time.Millisecond, Batch: 7}},
		{b, registry.TailOptions{Interval: 20 * time.Millisecond, Batch: 7}},
		{c, registry.TailOptions{Interval: 10 * time.Millisecond, Batch: 5, OnApply: func(seq int64) {
			mu.Lock()
			seqs = append(seqs, seq)
			mu.Unlock()
		}}},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.reg.Tail(ctx, n.opts); err != nil {
				t.Error(err)
			}
		}()
	}
	// The first policy comes through the log to every node but a.
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Publish(ctx, "policy.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b and c to load the policy", func() bool {
		_, e1 := b.Table(ctx)
		_, e2 := c.Table(ctx)
		return e1 == nil && e2 == nil
	})

	stop := make(chan struct{})
	var writers sync.WaitGroup
	for i, reg := range []*registry.Registry{a, a, b, b} {
		writers.Add(1)
		go func() {
			defer writers.Done()
			writer(t, reg, fmt.Sprintf("w%d", i), uint64(i), stop)
		}()
	}
	time.Sleep(run / 2)
	// A second version, in force at once, published by b mid-run.
	v2 := strings.Replace(string(src), "notice: 0d", "notice: 10d", 1)
	if _, _, err := b.Publish(ctx, "policy.yaml", []byte(v2), cl.clock.now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(run / 2)
	close(stop)
	writers.Wait()

	head := cl.open()
	vr, err := head.Verify(ctx)
	if err != nil || !vr.OK {
		t.Fatalf("verify: %+v %v", vr, err)
	}
	for name, reg := range map[string]*registry.Registry{"a": a, "b": b, "c": c} {
		waitFor(t, name+" to reach the head", func() bool { return reg.Position() == vr.HeadSeq })
	}
	fresh, err := registry.Open(ctx, head, registry.Options{Now: cl.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	sameTable(t, "a", a, fresh)
	sameTable(t, "b", b, fresh)
	sameTable(t, "c", c, fresh)

	mu.Lock()
	defer mu.Unlock()
	if int64(len(seqs)) != vr.HeadSeq {
		t.Errorf("the tailer applied %d events, the log has %d", len(seqs), vr.HeadSeq)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("the tailer's %dth application is seq %d, want %d (a gap or a duplicate)", i+1, s, i+1)
		}
	}
	st := c.TailStatus()
	if st.Rebuilds != 2 || st.Applied != vr.HeadSeq || !st.Running || st.Errors != 0 {
		t.Errorf("tail status %+v: want 2 rebuilds (two policies) and %d applied", st, vr.HeadSeq)
	}
	t.Logf("%d events; a: %+v", vr.HeadSeq, a.TailStatus())
	cancel()
	wg.Wait()
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTailRebuildRewinds: a table swapped in by a rebuild is only known
// to reflect the head its rebuild read; the position goes back there.
func TestPositionFollowsRebuild(t *testing.T) {
	cl := sqliteCluster(t)
	ctx := context.Background()
	a := cl.registry()
	if a.Position() != 0 {
		t.Fatalf("empty log: position %d", a.Position())
	}
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Publish(ctx, "policy.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if a.Position() != 1 {
		t.Errorf("after publishing: position %d, want 1", a.Position())
	}
	if _, err := a.FileRecord(ctx, judgment(adult, "P-1", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	if a.Position() != 1 {
		t.Errorf("a write without a tailer moved the position to %d", a.Position())
	}
	if err := a.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	head, _, _ := a.Store().Head(ctx)
	if a.Position() != head || head < 2 {
		t.Errorf("after catching up: position %d, head %d", a.Position(), head)
	}
	b := cl.registry()
	if b.Position() != head {
		t.Errorf("a registry opened at head %d starts at %d", head, b.Position())
	}
}

func pgCluster(t *testing.T) *cluster {
	dsn := pgtest.NewDatabase(t)
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	return &cluster{t: t, clock: c, open: func() credo.RegistryStore {
		st, err := postgres.OpenOptions(context.Background(), dsn, postgres.Options{Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}}
}

// TestTailPostgres is TestTailConcurrentWriters on PostgreSQL: three
// nodes, each with its own connection pool to one database.
func TestTailPostgres(t *testing.T) {
	testTail(t, pgCluster(t), 2*time.Second)
}

// TestTailNotified: on PostgreSQL a tailer that would poll only hourly
// applies another node's write at once: the append's commit notifies it.
func TestTailNotified(t *testing.T) {
	cl := pgCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := cl.registry(), cl.registry()
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Publish(ctx, "policy.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Tail(ctx, registry.TailOptions{Interval: time.Hour})
	}()
	waitFor(t, "b to load the policy", func() bool { _, err := b.Table(ctx); return err == nil })
	time.Sleep(50 * time.Millisecond) // b is waiting for the next notification or hour
	res, err := a.FileRecord(ctx, judgment(adult, "N-1", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to apply a's record", func() bool { return b.Position() >= res.Record.ID })
	d, err := b.Check(ctx, adult, "aviation")
	if err != nil || d.Decision != "deny" {
		t.Errorf("b's check after a's record: %+v %v", d, err)
	}
	cancel()
	<-done
}
