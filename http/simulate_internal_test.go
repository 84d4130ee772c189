package http

import (
	"context"
	"testing"
)

// TestG11SimulationContextEndsOnShutdown: the context a simulation runs
// under ends when the server begins shutting down, not only when the
// client goes away.
func TestG11SimulationContextEndsOnShutdown(t *testing.T) {
	s := &Server{}
	s.life, s.endLife = context.WithCancel(context.Background())
	ctx, cancel := s.simulationContext(context.Background())
	defer cancel()
	if ctx.Err() != nil {
		t.Fatal("ended before the shutdown")
	}
	s.beginClosing()
	<-ctx.Done() // never returns without the fix: the test times out
}
