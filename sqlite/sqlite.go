// Package sqlite is Credo's embedded store: the event log and its
// projections in one SQLite file, through the pure-Go modernc.org/sqlite
// driver, so the registry runs anywhere `go run` does.
//
// # Durability and concurrency
//
// The file is in WAL mode with synchronous=FULL: when a write call returns,
// its transaction is on stable storage. All writes go through a single
// connection owned by one committer goroutine (see [DB.FileRecords] for the
// group commit it does); reads use a separate pool of read-only connections
// that see committed snapshots and never wait for the writer.
//
// # The log
//
// events is append-only at the SQL level too: triggers refuse UPDATE and
// DELETE. Each row keeps the exact bytes the hash was computed over
// (credo.CanonicalEncoding, docs/event-encoding.md), so [DB.Verify] can re-walk the chain without
// trusting any encoder, and the projections (records, disputes, links,
// policies, subjects) are written in the same transaction as the events
// they project.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"credo"
	"credo/internal/merkle"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// The store is all a registry needs of one (credo.RegistryStore).
var _ credo.RegistryStore = (*DB)(nil)

// Options tunes a DB. The zero value is the production default.
type Options struct {
	// NoTree stops keeping the Merkle tree over the log: the baseline the
	// append benchmarks measure the tree's cost against. Never in
	// production (the tree is rebuilt on the next open without it).
	NoTree bool
	// CacheMiB is the page cache of the writer connection in MiB (default
	// 64). The indexes the writer updates at random (records by case,
	// subject_events, subjects) should fit in it when filing tens of
	// millions of records in batches: raise it then. A bulk load
	// (StartBulk) writes the records' rows of these in key order at its end.
	CacheMiB int
	// PageSize is the database page size in bytes for a new file (default
	// 4096); an existing file keeps its own. Group commits dirty many pages
	// at random (indexes by case and by subject), so small pages write
	// less.
	PageSize int
	// MmapMiB is the size of the memory map the read connections read the
	// file through, in MiB (default 0 = -1: none, pages are read into each
	// connection's page cache). Each connection maps the file on its own,
	// and every page it touches counts in the process's resident memory,
	// once a connection: on a 5 M-person city, 256 MiB maps made `credo
	// serve` without snapshots peak at 4,233 MiB (992 MB of it mapped file
	// pages) against 3,354 MiB without, as fast (171 s against 192 s to
	// ready); an inclusion proof is within the noise (~90 us either way).
	MmapMiB int
	// CheckpointInterval is the least time between two checkpoints of the
	// write-ahead log into the database file (default 100ms). Checkpoints
	// run on their own connection and goroutine, so that the committer
	// never waits for them. A negative value leaves checkpoints to SQLite
	// (automatic, on the writer, every 1000 pages).
	CheckpointInterval time.Duration
	// ReadConns is the size of the read pool (default max(4, GOMAXPROCS)).
	ReadConns int
	// MaxGroup caps the number of write calls committed together by the
	// group commit (default 1024).
	MaxGroup int
	// MaxGroupRecords caps the number of records a group may carry; a call
	// larger than that is committed on its own (default 10,000).
	MaxGroupRecords int
	// Linger is how long the committer waits for more calls once it has
	// one, to make groups larger. The default, 0, commits whatever has
	// queued up while the previous commit was syncing, which gives large
	// groups under load and no added latency when idle.
	Linger time.Duration
	// BulkRunBytes bounds the memory a bulk load keeps the rows of its
	// records' subject_events, facts and subjects in before it sorts them
	// into a run file beside the database (default DefaultBulkRunBytes,
	// 256 MiB). See DB.StartBulk.
	BulkRunBytes int
	// BulkDir is the directory under which a bulk load keeps its run files
	// (in a folder named after the database file, with ".bulk"): another
	// disk, or memory such as /dev/shm, when the registry's disk has no
	// room for them beside the database. Default: the environment's
	// CREDO_BULK_DIR, else beside the database. Every process opening the
	// registry during or after a load cut short must see the same value:
	// a load's lock is kept in that folder.
	BulkDir string
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

// DB is a Credo store in one SQLite file. It implements credo.Store and is
// safe for concurrent use.
type DB struct {
	path string
	opts Options

	wdb  *sql.DB // the one writer connection
	rdb  *sql.DB // read pool
	cdb  *sql.DB // the checkpointer's connection
	w    *writer // owned by the committer goroutine
	head atomic.Pointer[headState]

	treeStmts *stmtCache                   // the prepared reads of proofs (see TreeHashes)
	readStmts *stmtCache                   // the prepared reads of a subject's events and links (read.go)
	treeCache atomic.Pointer[merkle.Cache] // the upper levels of the tree (see treeHashes)

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	reqs   chan *request
	quit   chan struct{}
	done   chan struct{}
	ckpt   chan struct{} // a commit happened: the checkpointer may run
	ckDone chan struct{}
	once   sync.Once
	cerr   error
	// bulkErr is the error of finishing a bulk load at Close.
	bulkErr error

	// ops writes tokens and the outbox (see ops.go).
	opsOnce sync.Once
	odb     *sql.DB
	oerr    error

	// The check log's own file (see checklog.go), opened on first use.
	clMu     sync.Mutex
	cldb     *sql.DB
	clStmts  *stmtCache
	clClosed bool
}

// headState is the last committed event.
type headState struct {
	seq  int64
	hash string
}

// Open opens (creating if needed) the store at path, applies any pending
// migrations and starts the committer.
func Open(path string) (*DB, error) {
	return OpenOptions(path, Options{})
}

// OpenOptions is Open with tuning options.
func OpenOptions(path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, credo.Errorf(credo.EINVALID, "sqlite: empty database path")
	}
	if opts.CacheMiB <= 0 {
		opts.CacheMiB = 64
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 4096
	}
	if opts.MmapMiB < 0 {
		opts.MmapMiB = 0
	}
	if opts.CheckpointInterval == 0 {
		opts.CheckpointInterval = 100 * time.Millisecond
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 1024
	}
	if opts.MaxGroupRecords <= 0 {
		opts.MaxGroupRecords = 10000
	}
	if opts.BulkRunBytes <= 0 {
		opts.BulkRunBytes = DefaultBulkRunBytes
	}
	if opts.BulkDir == "" {
		opts.BulkDir = os.Getenv("CREDO_BULK_DIR")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, internal("Open", err)
	}
	db := &DB{path: abs, opts: opts}
	if err := db.open(); err != nil {
		db.closeConns()
		return nil, err
	}
	return db, nil
}

// dsn returns the connection string for the file with the given pragmas.
func dsn(path string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// createPrivate creates the file at path, readable and writable by its
// owner only (0600), unless it exists. SQLite gives the write-ahead log
// and the shared-memory index it creates beside a database the database
// file's permissions, so these stay private too: a registry holds
// national identifiers.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return credo.Errorf(credo.EINTERNAL, "sqlite: creating %s: %v", path, err)
	}
	return f.Close()
}

func (db *DB) open() error {
	ctx := context.Background()
	if err := createPrivate(db.path); err != nil {
		return err
	}
	var err error
	mmap := fmt.Sprintf("mmap_size(%d)", int64(db.opts.MmapMiB)<<20)
	autoCheckpoint := "wal_autocheckpoint(0)" // the checkpointer does this work
	if db.opts.CheckpointInterval < 0 {
		autoCheckpoint = "wal_autocheckpoint(1000)"
	}
	db.wdb, err = sql.Open("sqlite", dsn(db.path,
		"busy_timeout(10000)",
		fmt.Sprintf("page_size(%d)", db.opts.PageSize), // before the file is created
		// Also only for a new file, and before WAL: free pages can be given
		// back to the file system (PRAGMA incremental_vacuum; EndBulk).
		"auto_vacuum(2)",
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"foreign_keys(1)",
		fmt.Sprintf("cache_size(%d)", -db.opts.CacheMiB*1024),
		"temp_store(MEMORY)",
		autoCheckpoint,
		"journal_size_limit(67108864)", // a restarted log is cut back to 64 MiB
	))
	if err != nil {
		return internal("Open", err)
	}
	db.wdb.SetMaxOpenConns(1)
	db.wdb.SetMaxIdleConns(1)
	db.wdb.SetConnMaxLifetime(0)
	db.wdb.SetConnMaxIdleTime(0)
	conn, err := db.wdb.Conn(ctx)
	if err != nil {
		return internal("Open", err)
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		conn.Close()
		return internal("Open", err)
	}
	if mode != "wal" {
		conn.Close()
		return credo.Errorf(credo.EINTERNAL, "sqlite: %s: journal mode is %q, want wal", db.path, mode)
	}
	if err := migrate(ctx, conn, db.path); err != nil {
		conn.Close()
		return err
	}
	db.w, err = newWriter(ctx, conn, db.opts.Now)
	if err != nil {
		conn.Close()
		return err
	}
	db.w.noTree = db.opts.NoTree
	if err := db.w.backfillFacts(); err != nil {
		return err
	}
	if err := moveStaged(ctx, conn); err != nil { // a bulk load of a binary before 0097 cut short
		return internal("Open", err)
	}
	if err := db.recoverBulk(); err != nil { // a bulk load cut short
		return err
	}
	db.head.Store(&headState{seq: db.w.seq, hash: db.w.hash})

	db.rdb, err = sql.Open("sqlite", dsn(db.path,
		"busy_timeout(10000)",
		"query_only(1)",
		"cache_size(-16384)",
		mmap,
	))
	if err != nil {
		return internal("Open", err)
	}
	db.rdb.SetMaxOpenConns(db.opts.ReadConns)
	db.treeStmts = &stmtCache{db: db.rdb, m: map[string]*sql.Stmt{}}
	db.readStmts = &stmtCache{db: db.rdb, m: map[string]*sql.Stmt{}}
	db.treeCache.Store(merkle.NewCache(TreeCacheLevel, TreeCacheMax))
	db.rdb.SetMaxIdleConns(db.opts.ReadConns)
	if err := db.rdb.PingContext(ctx); err != nil {
		return internal("Open", err)
	}

	db.cdb, err = sql.Open("sqlite", dsn(db.path,
		"busy_timeout(10000)",
		"synchronous(FULL)",
		"cache_size(-2048)",
		"journal_size_limit(67108864)",
		mmap,
	))
	if err != nil {
		return internal("Open", err)
	}
	db.cdb.SetMaxOpenConns(1)

	db.reqs = make(chan *request, db.opts.MaxGroup)
	db.quit = make(chan struct{})
	db.done = make(chan struct{})
	db.ckpt = make(chan struct{}, 1)
	db.ckDone = make(chan struct{})
	go db.commitLoop()
	if db.opts.CheckpointInterval > 0 {
		go db.checkpointLoop()
	} else {
		close(db.ckDone)
	}
	return nil
}

// checkpointLoop copies committed pages from the write-ahead log into the
// database file, at most once per CheckpointInterval, after commits. The
// writer's automatic checkpoints are off: with synchronous=FULL a
// checkpoint writes and syncs the database file, and doing that on the
// committer's goroutine stalls every caller; here it overlaps with the
// next transactions. PASSIVE never blocks the writer or readers; the log
// restarts from its beginning once a checkpoint has caught up with it.
// Durability does not depend on checkpoints: a commit is durable once it
// is synced in the log.
func (db *DB) checkpointLoop() {
	defer close(db.ckDone)
	for {
		select {
		case <-db.ckpt:
		case <-db.done:
			// The committer has stopped: a last checkpoint, so that a
			// closed store leaves its data in the database file.
			db.checkpoint("TRUNCATE")
			return
		}
		if frames := db.checkpoint("PASSIVE"); frames >= walRestartFrames {
			// Under sustained writes a passive checkpoint never catches
			// up with the end of the log, so the log is never restarted
			// and grows without bound. RESTART holds new writers back
			// for the few frames left, then makes the next write start
			// the log over.
			db.checkpoint("RESTART")
		}
		select {
		case <-time.After(db.opts.CheckpointInterval):
		case <-db.done:
		}
	}
}

// walRestartFrames is the size of the log, in frames, from which the
// checkpointer restarts it; journal_size_limit then truncates the file.
const walRestartFrames = 16384

// checkpoint runs one checkpoint and returns the number of frames in the
// log; failures are retried at the next one.
func (db *DB) checkpoint(mode string) int {
	var busy, logFrames, done int
	db.cdb.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done)
	return logFrames
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Close stops accepting writes, commits those already queued, and closes the
// database.
func (db *DB) Close() error {
	db.once.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		if db.quit != nil {
			close(db.quit)
			<-db.done
			<-db.ckDone
		}
		db.cerr = db.closeConns()
		if db.bulkErr != nil {
			db.cerr = errors.Join(internal("Close", db.bulkErr), db.cerr)
		}
	})
	return db.cerr
}

func (db *DB) closeConns() error {
	var errs []error
	if db.w != nil {
		errs = append(errs, db.w.close())
	}
	if db.odb != nil {
		errs = append(errs, db.odb.Close())
	}
	db.clMu.Lock()
	if db.cldb != nil {
		errs = append(errs, db.cldb.Close())
	}
	db.clClosed = true
	db.clMu.Unlock()
	if db.wdb != nil {
		errs = append(errs, db.wdb.Close())
	}
	if db.rdb != nil {
		errs = append(errs, db.rdb.Close())
	}
	if db.cdb != nil {
		errs = append(errs, db.cdb.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return internal("Close", err)
	}
	return nil
}

// Ping checks that the database answers (the server's /readyz): the file
// is open and can be read.
func (db *DB) Ping(ctx context.Context) error {
	if db.head.Load() == nil {
		return credo.Errorf(credo.EUNAVAILABLE, "store is closed")
	}
	if err := db.rdb.PingContext(ctx); err != nil {
		return &credo.Error{Code: credo.EUNAVAILABLE, Op: "sqlite.Ping", Message: "database unreachable: " + err.Error(), Err: err}
	}
	var one int
	if err := db.rdb.QueryRowContext(ctx, "SELECT 1 FROM policies LIMIT 1").Scan(&one); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return &credo.Error{Code: credo.EUNAVAILABLE, Op: "sqlite.Ping", Message: "database unreadable: " + err.Error(), Err: err}
	}
	return nil
}

// Head returns the sequence number and hash of the last committed event.
func (db *DB) Head(ctx context.Context) (int64, string, error) {
	h := db.head.Load()
	if h == nil {
		return 0, "", credo.Errorf(credo.EUNAVAILABLE, "store is closed")
	}
	return h.seq, h.hash, nil
}

// internal wraps an unexpected error (a broken file, a bug) for the caller.
func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *credo.Error
	if errors.As(err, &ce) {
		return err
	}
	if why, ok := storageFault(err); ok {
		return &credo.Error{Code: credo.EUNAVAILABLE, Op: "sqlite." + op, Message: "the store cannot work: " + why + "; retry later", Err: err}
	}
	return &credo.Error{Code: credo.EINTERNAL, Op: "sqlite." + op, Err: err}
}

// utcText formats t as fixed-width UTC text for projection columns, so that
// text order is time order; "" (stored as NULL by callers that want it) for
// the zero time.
func utcText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// nullText returns nil for "" so that an absent time is NULL.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}
