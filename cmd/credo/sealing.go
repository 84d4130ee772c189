package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/registry"
	"credo/seal"
)

// keysFlag adds --keys, the operator's keys file, to a command over a
// registry.
func keysFlag(cmd *cobra.Command, s *storeFlag) {
	cmd.Flags().StringVar(&s.keys, "keys", "", "the registry's keys file (mode 0600): its key-encryption key and lookup secret (default $"+seal.EnvKEK+" and $"+seal.EnvLookup+", else DB.keys beside a SQLite file)")
}

// keysPath is where `credo init` and `credo demo` keep the keys of a
// SQLite registry when none are given: beside the file (production keeps
// them elsewhere: docs/threat-model.md).
func (s storeFlag) keysPath() string {
	if u, err := s.pgURL(); err != nil || u != "" {
		return ""
	}
	return s.db + ".keys"
}

// ledgerPath is the erasure ledger of a SQLite registry ("" for
// PostgreSQL: see docs/threat-model.md).
func (s storeFlag) ledgerPath() string {
	if u, err := s.pgURL(); err != nil || u != "" {
		return ""
	}
	return seal.LedgerPath(s.db)
}

// loadKeys returns the operator's keys: --keys, else the environment,
// else the keys file beside a SQLite registry; nil if none is given.
func (s storeFlag) loadKeys() (*seal.Keys, error) {
	if s.keys != "" {
		return seal.Load(s.keys)
	}
	k, ok, err := seal.FromEnv()
	if ok || err != nil {
		return k, err
	}
	if p := s.keysPath(); p != "" {
		if _, err := os.Stat(p); err == nil {
			return seal.Load(p)
		}
	}
	return nil, nil
}

// sealStore wraps a store with the operator's keys. A sealed registry
// without keys, or with the wrong ones, is refused; a registry created
// without keys (older, or PostgreSQL initialised without them) is opened
// as it is.
func sealStore(s storeFlag, st seal.Backend, created bool) (store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	keys, err := s.loadKeys()
	if err != nil {
		st.Close()
		return nil, err
	}
	if keys == nil {
		sealed, err := seal.IsSealed(ctx, st)
		if err != nil {
			st.Close()
			return nil, err
		}
		if sealed {
			st.Close()
			return nil, credo.Errorf(credo.EINVALID, "registry %s is sealed: give its keys (--keys FILE, or $%s and $%s)", s, seal.EnvKEK, seal.EnvLookup)
		}
		return st, nil
	}
	sst, err := seal.Open(ctx, st, keys, seal.Options{Ledger: s.ledgerPath()})
	if err != nil {
		st.Close()
		if errors.Is(err, seal.ErrNotSealed) {
			return nil, credo.Errorf(credo.EINVALID, "registry %s was created without keys: its events are not sealed, and keys cannot be added to an existing log (remove --keys, $%s and any %s)", s, seal.EnvKEK, s.keysPath())
		}
		return nil, err
	}
	return sst, nil
}

// openStoreInit opens the store `credo init` creates: a new SQLite file
// given no keys gets a keys file of its own (said on stderr).
func openStoreInit(cmd *cobra.Command, s storeFlag) (store, error) {
	p := s.keysPath()
	if p != "" && s.keys == "" && os.Getenv(seal.EnvKEK) == "" {
		if _, err := os.Stat(s.db); errors.Is(err, fs.ErrNotExist) {
			if err := newKeysFile(cmd, p); err != nil {
				return nil, err
			}
		}
	}
	st, err := openRawStore(s, false)
	if err != nil {
		return nil, err
	}
	sst, err := sealStore(s, st, true)
	if err == nil {
		if _, sealed := sst.(*seal.Store); !sealed {
			fmt.Fprintf(cmd.ErrOrStderr(), "keys: none given: registry %s is NOT sealed (its personal data is stored in clear and cannot be erased); give --keys FILE or $%s and $%s to seal a new registry\n", s, seal.EnvKEK, seal.EnvLookup)
		}
	}
	return sst, err
}

// newKeysFile creates a keys file with fresh keys, unless one exists.
func newKeysFile(cmd *cobra.Command, path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	k, err := seal.NewKeys()
	if err != nil {
		return err
	}
	if err := k.Write(path); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "keys: created %s (mode 0600): the registry's personal data is sealed under them; keep a copy off this machine, and in production keep them away from the database (--keys FILE or $%s and $%s)\n", path, seal.EnvKEK, seal.EnvLookup)
	return nil
}

// snapshotKey is the key the decision table's snapshot is encrypted under
// in a sealed registry (nil: not sealed).
func snapshotKey(st credo.Store) []byte {
	if s, ok := st.(*seal.Store); ok {
		return s.SnapshotKey()
	}
	return nil
}

// rawStore returns the store a sealed store wraps (st itself if it is not
// sealed): for what only one kind of store offers and holds nothing
// personal (PostgreSQL's shared checkpoints).
func rawStore(st credo.Store) credo.Store {
	if s, ok := st.(*seal.Store); ok {
		return s.Unwrap()
	}
	return st
}

// startRetentionEraser erases, every interval, the subjects whose last
// record is past its retention (a sealed registry only; the first pass one
// interval after start).
func startRetentionEraser(ctx context.Context, st credo.Store, reg *registry.Registry, every time.Duration, logger *slog.Logger) {
	if _, ok := st.(*seal.Store); !ok || every <= 0 {
		return
	}
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			es, err := reg.EraseExpired(ctx, reg.Now(), false)
			if err != nil {
				logger.Error("erasing the subjects past retention", "erased", len(es), "err", err)
				continue
			}
			logger.Info("subjects past retention erased", "erased", len(es))
		}
	}()
}

// openVerifyStore opens a registry for verification: sealed with its keys
// when they are given, else as stored (pseudonyms and sealed bytes), which
// is all verification needs.
func openVerifyStore(s storeFlag) (store, error) {
	keys, err := s.loadKeys()
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return openRawStore(s, true)
	}
	return openStore(s, true)
}
