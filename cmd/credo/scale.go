package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"credo"
	chttp "credo/http"
	"credo/registry"
)

// scaleFlags are the serve flags for running several nodes over one log.
type scaleFlags struct {
	tailInterval time.Duration
	maxTailLag   int64
	maxTailStale time.Duration
}

func (f *scaleFlags) register(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.tailInterval, "tail-interval", time.Second, "how often to read the events other nodes appended to the log (PostgreSQL notifications wake the node sooner)")
	cmd.Flags().Int64Var(&f.maxTailLag, "max-tail-lag", 10000, "events the decision table may be behind the log before /readyz answers 503")
	cmd.Flags().DurationVar(&f.maxTailStale, "max-tail-stale", 30*time.Second, "time since the last read of the log before /readyz answers 503")
}

// start starts tailing the log and sets the server options that go with
// it; stop waits for the tailer to end.
func (f *scaleFlags) start(ctx context.Context, reg *registry.Registry, opts *chttp.Options, logger *slog.Logger) (stop func(), err error) {
	if f.tailInterval <= 0 {
		return nil, credo.FieldErrorf("--tail-interval", "must be positive")
	}
	opts.MaxTailLag, opts.MaxTailStale = f.maxTailLag, f.maxTailStale
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := reg.Tail(ctx, registry.TailOptions{Interval: f.tailInterval}); err != nil {
			logger.Error("tailing the log", "err", err)
		}
	}()
	return func() { cancel(); wg.Wait() }, nil
}
