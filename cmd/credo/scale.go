package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"credo"
	chttp "credo/http"
	"credo/postgres"
	"credo/registry"
	"credo/seal"
)

// scaleFlags are the serve flags for running several nodes: tailing the
// shared log, reading from a standby, province shards.
type scaleFlags struct {
	tailInterval time.Duration
	maxTailLag   int64
	maxTailStale time.Duration
	pgRead       string
	shardMap     string
	shards       []string
	noForward    bool

	m *registry.ShardMap
}

func (f *scaleFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.DurationVar(&f.tailInterval, "tail-interval", time.Second, "how often to read the events other nodes appended to the log (PostgreSQL notifications wake the node sooner)")
	fl.Int64Var(&f.maxTailLag, "max-tail-lag", 10000, "events the decision table may be behind the log before /readyz answers 503")
	fl.DurationVar(&f.maxTailStale, "max-tail-stale", 30*time.Second, "time since the last read of the log before /readyz answers 503")
	fl.StringVar(&f.pgRead, "postgres-read", "", "a streaming standby of the --postgres database: rebuild and tail the decision table from it, write to the primary")
	fl.StringVar(&f.shardMap, "shard-map", "", "province shard map (YAML or JSON): shard name → province codes and node URL; with --shard")
	fl.StringSliceVar(&f.shards, "shard", nil, "the shard(s) of --shard-map this node serves (comma-separated)")
	fl.BoolVar(&f.noForward, "no-shard-forward", false, "refuse requests about other shards' subjects with 421 instead of forwarding them")
}

// prepare loads the shard map and checks the flags that go together.
func (f *scaleFlags) prepare(db storeFlag) error {
	if f.tailInterval <= 0 {
		return credo.FieldErrorf("--tail-interval", "must be positive")
	}
	if f.pgRead != "" {
		if u, err := db.pgURL(); err != nil {
			return err
		} else if u == "" {
			return credo.FieldErrorf("--postgres-read", "needs a PostgreSQL primary (--postgres or $%s)", envPostgres)
		}
	}
	switch {
	case f.shardMap == "" && len(f.shards) > 0:
		return credo.FieldErrorf("--shard", "needs --shard-map")
	case f.shardMap != "":
		m, err := registry.LoadShardMap(f.shardMap)
		if err != nil {
			return err
		}
		for i := range f.shards {
			f.shards[i] = strings.TrimSpace(f.shards[i])
		}
		if err := m.Validate(f.shards); err != nil {
			return credo.FieldErrorf("--shard", "%s", credo.ErrorMessage(err))
		}
		f.m = m
	}
	return nil
}

// registryStore returns the store the registry runs over: the primary, or
// the primary for writes and the standby for reads.
func (f *scaleFlags) registryStore(ctx context.Context, primary credo.RegistryStore) (credo.RegistryStore, func(), error) {
	if f.pgRead == "" {
		return primary, func() {}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	standby, err := postgres.OpenOptions(ctx, f.pgRead, postgres.Options{ReadOnly: true})
	if err != nil {
		return nil, nil, credo.FieldErrorf("--postgres-read", "%s", credo.ErrorMessage(err))
	}
	var read credo.RegistryStore = standby
	if s, ok := primary.(*seal.Store); ok {
		read = s.Over(standby) // the standby's events are sealed too
	}
	return registry.ReadReplica(primary, read), func() { standby.Close() }, nil
}

// registryOptions makes a shard's registry refuse others' subjects.
func (f *scaleFlags) registryOptions(o *registry.Options) {
	if f.m != nil {
		o.Accept = f.m.Refuser(f.shards)
	}
}

// start starts tailing the log and sets the server options that go with
// it; stop waits for the tailer to end.
func (f *scaleFlags) start(ctx context.Context, reg *registry.Registry, opts *chttp.Options, logger *slog.Logger) (stop func(), err error) {
	if f.tailInterval <= 0 {
		return nil, credo.FieldErrorf("--tail-interval", "must be positive")
	}
	opts.MaxTailLag, opts.MaxTailStale = f.maxTailLag, f.maxTailStale
	if f.m != nil {
		opts.Shards = &chttp.ShardOptions{Map: f.m, Local: f.shards, Forward: !f.noForward}
	}
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
