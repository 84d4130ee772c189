package simulate_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"credo/ident"
	"credo/simulate"
)

// TestG11SimulationStopsPromptly: a simulation looks at its context before
// every subject, so it stops within a subject of the context ending (the
// client went away, the server shuts down) — in the log's subjects and in
// the census alike — rather than finishing a chunk or batch of thousands.
func TestG11SimulationStopsPromptly(t *testing.T) {
	reg, st, _ := city(t)
	cur, draft := versions(t, reg)
	census := func(fn func(string) error) error {
		start := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 10000 {
			first17 := "110105" + start.AddDate(0, 0, i).Format("20060102") + "003"
			c, err := ident.RICCheck(first17)
			if err != nil {
				return err
			}
			if err := fn(first17 + string(c)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, tc := range []struct {
		name     string
		cancelAt int // cancel on this visit (the log has 7 subjects)
	}{{"log", 1}, {"census", 10}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			visits, after := 0, 0
			_, err := simulate.Run(ctx, st, cur, draft, T, simulate.Options{Workers: 1, Census: census, Visit: func(simulate.Outcome) {
				mu.Lock()
				defer mu.Unlock()
				visits++
				if visits == tc.cancelAt {
					cancel()
				} else if visits > tc.cancelAt {
					after++
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
			if after > 0 {
				t.Errorf("%d subjects evaluated after the context ended", after)
			}
		})
	}
}
