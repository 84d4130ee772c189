// Package postgres is Credo's PostgreSQL store: the event log and its
// projections in one PostgreSQL database, through pgx, for registries that
// outgrow one machine's disk or run several API nodes against one
// database. It implements the same interfaces as package sqlite
// (credo.Store, TokenStore, CheckLog, DueProcessStore, Outbox, NoticeStore)
// and passes the same conformance suite (storetest); the event bodies and
// their hash chain are byte for byte the same, so `credo verify` means the
// same thing on both.
//
// # One log, many writers
//
// Every transaction that appends to the log (FileRecords, Append) first
// locks the single row of log_head:
//
//	SELECT seq, hash FROM log_head WHERE id = 1 FOR UPDATE
//
// It numbers its events from the locked head (head+1, head+2, ...),
// chains their hashes from the locked hash, inserts the events and their
// projections, moves log_head to its last event and commits; the commit
// releases the lock. So appending transactions, from any number of
// goroutines and nodes, run one after the other, and commit order is
// sequence order: a transaction holding seqs N+1.. can only lock the head
// once the one that wrote N has committed (and PostgreSQL makes a
// committed transaction visible before it releases its locks). Hence
//
//   - the log is gap-free: sequence numbers are never burnt (no sequence
//     object, no rolled-back numbers), and
//   - a reader that tails the log with Events(after, limit) (WHERE seq >
//     after ORDER BY seq) can never skip an event: once it sees N+1, every
//     event up to N+1 is visible to it. No event can appear later "behind"
//     a position a reader has passed.
//
// Checks that depend on the log (a record's identity, one open dispute per
// record, a policy published once) run under the lock, at READ COMMITTED,
// so they see everything committed before it.
//
// The lock makes the log a single point of serialisation, as it must be
// for one hash chain. Within one process, concurrent calls are committed
// together (group commit, as in package sqlite): one committer goroutine
// takes every call queued while the previous transaction committed and
// runs them in one transaction, one lock acquisition and one WAL flush for
// many calls, each call keeping its own atomicity and outcome. Large
// batches of records (from [Options.CopyThreshold] records) are written with COPY,
// in the binary format, encoded by the store.
//
// # Durability
//
// A write call returns once its transaction has committed, with the
// server's synchronous_commit (on by default: flushed to the WAL).
//
// # Schema
//
// The schema is created and upgraded by embedded migrations
// (migrations/NNNN_name.sql, recorded in schema_migrations), each in its
// own transaction, under an advisory lock so that nodes starting at once
// do not race; every statement is idempotent. events and policies refuse
// UPDATE and DELETE (triggers), and events refuses TRUNCATE. The tables are
// created in the first schema of the search path, so a DSN with
// search_path=NAME keeps a registry in a schema of its own (the tests
// use one schema per test).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"credo"
	"credo/internal/storecore"
)

// The store is all a registry needs of one (credo.RegistryStore).
var _ credo.RegistryStore = (*DB)(nil)

// Options tunes a DB. The zero value is the production default.
type Options struct {
	// MaxGroup caps the number of write calls committed together by the
	// group commit (default 1024).
	MaxGroup int
	// MaxGroupRecords caps the number of records a group may carry; a call
	// larger than that is committed on its own (default 10,000).
	MaxGroupRecords int
	// CopyThreshold is the number of new records in one transaction (one
	// call, or a group of calls) from which they are written with COPY
	// rather than with array INSERTs sent in the commit's round trip
	// (default 256: from there COPY is cheaper despite its round trips;
	// negative: never).
	CopyThreshold int
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
	// ReadOnly opens a database to read only (a hot standby): no
	// migrations are applied, the schema must already be current, and
	// writes fail.
	ReadOnly bool
}

// DB is a Credo store in a PostgreSQL database. It implements credo.Store
// and is safe for concurrent use; any number of DBs, in any number of
// processes, may use one database at once.
type DB struct {
	pool *pgxpool.Pool
	opts Options

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	reqs   chan *request
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once
	w      *writer // owned by the committer goroutine
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; pool settings such as pool_max_conns are honoured), applies any
// pending migrations and starts the committer.
func Open(ctx context.Context, dsn string) (*DB, error) {
	return OpenOptions(ctx, dsn, Options{})
}

// OpenOptions is Open with tuning options.
func OpenOptions(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if dsn == "" {
		return nil, credo.Errorf(credo.EINVALID, "postgres: empty connection string")
	}
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 1024
	}
	if opts.MaxGroupRecords <= 0 {
		opts.MaxGroupRecords = 10000
	}
	if opts.CopyThreshold == 0 {
		opts.CopyThreshold = 256
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "postgres: %v", err)
	}
	if !hasParam(dsn, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, internal("Open", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, &credo.Error{Code: credo.EUNAVAILABLE, Op: "postgres.Open", Message: "cannot reach the database: " + err.Error(), Err: err}
	}
	migrateOrCheck := migrate
	if opts.ReadOnly {
		migrateOrCheck = checkSchema
	}
	if err := migrateOrCheck(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	db := &DB{pool: pool, opts: opts}
	if !opts.ReadOnly {
		if err := db.buildTree(ctx); err != nil {
			pool.Close()
			return nil, internal("Open", fmt.Errorf("building the Merkle tree: %w", err))
		}
		if err := db.backfillFacts(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	}
	db.w = newWriter(pool, opts)
	db.reqs = make(chan *request, opts.MaxGroup)
	db.quit = make(chan struct{})
	db.done = make(chan struct{})
	go db.commitLoop()
	return db, nil
}

// hasParam reports whether a DSN sets a parameter (URL query or key=value).
func hasParam(dsn, name string) bool {
	for i := 0; i+len(name) < len(dsn); i++ {
		if dsn[i:i+len(name)] == name && (i == 0 || dsn[i-1] == '?' || dsn[i-1] == '&' || dsn[i-1] == ' ') && dsn[i+len(name)] == '=' {
			return true
		}
	}
	return false
}

// Pool returns the connection pool (for the store's own tools and tests).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping checks that the database answers (the server's /readyz).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return &credo.Error{Code: credo.EUNAVAILABLE, Op: "postgres.Ping", Message: "database unreachable: " + err.Error(), Err: err}
	}
	return nil
}

// Close stops accepting writes, commits those already queued, and closes
// the connections.
func (db *DB) Close() error {
	db.once.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		close(db.quit)
		<-db.done
		db.pool.Close()
	})
	return nil
}

// Head returns the sequence number and hash of the last committed event,
// as the database has it (another node may have appended since this one
// last did).
func (db *DB) Head(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash storecore.HashScan
	if err := db.pool.QueryRow(ctx, "SELECT seq, hash FROM log_head WHERE id = 1").Scan(&seq, &hash); err != nil {
		return 0, "", internal("Head", err)
	}
	return seq, hash.Hex, nil
}

// internal wraps an unexpected error (a lost connection, a bug) for the
// caller; a cancelled context is EUNAVAILABLE.
func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *credo.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &credo.Error{Code: credo.EUNAVAILABLE, Op: "postgres." + op, Message: "request abandoned: " + err.Error(), Err: err}
	}
	if why, ok := noRoom(err); ok {
		return &credo.Error{Code: credo.EUNAVAILABLE, Op: "postgres." + op, Message: "the database cannot write: " + why + "; retry later", Err: err}
	}
	if unreachable(err) {
		return &credo.Error{Code: credo.EUNAVAILABLE, Op: "postgres." + op, Message: "the database is unreachable; retry shortly", Err: err}
	}
	return &credo.Error{Code: credo.EINTERNAL, Op: "postgres." + op, Err: err}
}

// isNoRows reports whether err is pgx's "no rows in result set".
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// isUnique reports whether err is a unique violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// nullTime returns nil for the zero time so that it is stored as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
