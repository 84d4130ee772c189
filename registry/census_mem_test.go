package registry_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"credo/registry"
)

// TestCensusStateCompact: the census state a server keeps holds every
// subject with events (the whole city: millions), so it must be compact:
// a subject costs a key and a shape index in a map, not strings, slices
// and a struct of its own (about 300 bytes a subject before). Measured as
// the live heap the state and its census hold, per subject, on a city of
// six monthly instants (the portal's). On this small city (2,500 subjects)
// the fixed costs weigh: 70 to 140 bytes a subject (72 on a 1 M-person city);
// the earlier state took 351 here.
func TestCensusStateCompact(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a city")
	}
	ctx := context.Background()
	_, reg, _, _ := factsCity(t, 4000)
	cc := registry.NewCensusCache(reg, registry.CensusOptions{TTL: time.Hour, Points: 6})
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	cs, err := cc.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subjects := cs.Subjects
	entries := 0
	for _, es := range cs.Entries {
		entries += len(es)
	}
	cs = nil
	with := heap()
	registry.CensusDrop(cc)
	without := heap()
	if subjects < 1000 {
		t.Fatalf("only %d subjects", subjects)
	}
	// The entries (a minority of subjects) are kept whole: allow 1 KB each.
	per := (float64(with) - float64(without) - 1024*float64(entries)) / float64(subjects)
	t.Logf("%d subjects, %d public entries: %.0f bytes a subject besides the entries (heap %d -> %d)", subjects, entries, per, with, without)
	if per > 200 {
		t.Errorf("the census keeps %.0f bytes a subject (at most 200)", per)
	}
	runtime.KeepAlive(cc)
}
