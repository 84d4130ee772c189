package sqlite

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"credo/internal/merkle"
	"credo/internal/storecore"
)

// addLeaf adds the event of sequence number seq, whose canonical body is
// body, to the tree: its stored hashes are queued in treeArgs, written by
// flushTree in the same transaction.
func (w *writer) addLeaf(seq int64, body []byte) error {
	if w.noTree {
		return nil
	}
	first, hs, err := w.tree.Add(seq-1, body)
	if err != nil {
		return err
	}
	for i := 1; i < len(hs); i++ { // the leaf is the body's hash: not stored
		w.treeArgs = append(w.treeArgs, first+int64(i), hs[i][:])
	}
	return nil
}

// flushTree writes the queued stored hashes.
func (w *writer) flushTree() error {
	if len(w.treeArgs) == 0 {
		return nil
	}
	err := w.treeRows.exec(w.treeArgs)
	clear(w.treeArgs)
	w.treeArgs = w.treeArgs[:0]
	return err
}

// dropTree forgets the queued stored hashes of a failed call.
func (w *writer) dropTree() {
	clear(w.treeArgs)
	w.treeArgs = w.treeArgs[:0]
}

// readTree reads stored hashes in the writer's transaction (the tree's
// fallback when its edge does not hold them).
func (w *writer) readTree(indexes []int64) ([]tlog.Hash, error) {
	if err := w.flushTree(); err != nil {
		return nil, err
	}
	return merkle.ReadHashes(indexes,
		func(idx []int64) ([]tlog.Hash, error) { return readHashes(bg, w.conn.QueryContext, idx) },
		func(seqs []int64) ([][]byte, error) { return readBodies(bg, w.conn.QueryContext, seqs) })
}

// readBodies reads the bodies of events seqs, in their order.
func readBodies[R interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}](ctx context.Context, query func(context.Context, string, ...any) (R, error), seqs []int64) ([][]byte, error) {
	out := make([][]byte, len(seqs))
	args := make([]any, len(seqs))
	pos := make(map[int64][]int, len(seqs))
	for i, s := range seqs {
		args[i] = s
		pos[s] = append(pos[s], i)
	}
	rows, err := query(ctx, "SELECT seq, body FROM events WHERE seq IN (?"+strings.Repeat(",?", len(args)-1)+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, err
		}
		for _, i := range pos[seq] {
			out[i] = body
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, b := range out {
		if b == nil {
			return nil, fmt.Errorf("event %d is missing", seqs[i])
		}
	}
	return out, nil
}

// readHashes reads the stored hashes at indexes, in their order, with query.
func readHashes[R interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}](ctx context.Context, query func(context.Context, string, ...any) (R, error), indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	pos := make(map[int64][]int, len(indexes))
	args := make([]any, 0, len(indexes))
	for i, idx := range indexes {
		if _, ok := pos[idx]; !ok {
			args = append(args, idx)
		}
		pos[idx] = append(pos[idx], i)
	}
	q := "SELECT idx, hash FROM tree_hashes WHERE idx IN (?" + strings.Repeat(",?", len(args)-1) + ")"
	rows, err := query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			return nil, err
		}
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("tree hash %d has %d bytes", idx, len(h))
		}
		for _, i := range pos[idx] {
			copy(out[i][:], h)
		}
		found++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if found != len(args) {
		return nil, fmt.Errorf("the tree is missing %d of the stored hashes %v", len(args)-found, indexes)
	}
	return out, nil
}

// buildTree brings the tree up to the log, in one immediate transaction:
// the tree of a log written before the tree existed is built from its
// events, and stored hashes beyond the log's end (left by a log cut short)
// are dropped. It runs when the store opens.
func (w *writer) buildTree() (err error) {
	if _, err := w.conn.ExecContext(bg, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.rollback()
		}
	}()
	if err := w.readHead(); err != nil {
		return err
	}
	var maxIdx int64
	if err := w.conn.QueryRowContext(bg, "SELECT COALESCE(MAX(idx), -1) FROM tree_hashes").Scan(&maxIdx); err != nil {
		return err
	}
	covered := merkle.RecordsCovered(maxIdx)
	if covered == w.seq || covered+1 == w.seq {
		// (The record after the last with a stored node has none.)
		_, err := w.conn.ExecContext(bg, "COMMIT")
		return err
	}
	if covered > w.seq {
		if _, err := w.conn.ExecContext(bg, "DELETE FROM tree_hashes WHERE idx >= ?", merkle.FirstIndex(w.seq)); err != nil {
			return err
		}
		// (This runs in Open, before any proof is read: the proof
		// cache, made after it, holds nothing to forget.)
		covered = w.seq
	}
	w.tree.Reset()
	for next := covered + 1; next <= w.seq; {
		type ev struct {
			seq  int64
			body []byte
		}
		var evs []ev
		rows, err := w.conn.QueryContext(bg, "SELECT seq, body FROM events WHERE seq >= ? ORDER BY seq LIMIT 4096", next)
		if err != nil {
			return err
		}
		for rows.Next() {
			var e ev
			if err := rows.Scan(&e.seq, &e.body); err != nil {
				rows.Close()
				return err
			}
			evs = append(evs, e)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(evs) == 0 {
			return fmt.Errorf("event %d is missing: the tree cannot be built", next)
		}
		for _, e := range evs {
			if e.seq != next {
				return fmt.Errorf("event %d is missing: the tree cannot be built", next)
			}
			if err := w.addLeaf(e.seq, e.body); err != nil {
				return err
			}
			next++
		}
		if err := w.flushTree(); err != nil {
			return err
		}
	}
	_, err = w.conn.ExecContext(bg, "COMMIT")
	return err
}

// TreeHashes returns the stored hashes of the log's Merkle tree at the
// given stored-hash indexes (golang.org/x/mod/sumdb/tlog's numbering),
// for the proofs and checkpoints of package transparency. Everything a
// proof needs (tlog asks for it in one call) is read with one prepared
// query: the interior nodes from tree_hashes and the leaves' event
// bodies, hashed here.
func (db *DB) TreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	h, err := db.treeHashes(ctx, indexes)
	if err != nil {
		return nil, internal("TreeHashes", err)
	}
	return h, nil
}

// treeReadMax is the largest number of nodes (and of leaves) read by one
// statement; padded to a power of two so that few statements are
// prepared.
const treeReadMax = 128

// treeHashes serves the upper levels of the tree from db.treeCache and
// reads the rest (see readTreeHashes), caching what belongs in the cache.
// A context marked merkle.Uncached reads everything from the database.
func (db *DB) treeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	c := db.treeCache.Load()
	if c == nil || merkle.IsUncached(ctx) {
		return db.readTreeHashes(ctx, indexes)
	}
	out := make([]tlog.Hash, len(indexes))
	var miss []int64
	var missAt []int
	for i, idx := range indexes {
		if h, ok := c.Get(idx); ok {
			out[i] = h
			continue
		}
		miss = append(miss, idx)
		missAt = append(missAt, i)
	}
	if len(miss) == 0 {
		return out, nil
	}
	got, err := db.readTreeHashes(ctx, miss)
	if err != nil {
		return nil, err
	}
	for j, h := range got {
		out[missAt[j]] = h
		c.Put(miss[j], h)
	}
	return out, nil
}

// TreeCacheLen returns the number of stored hashes in the proof cache.
func (db *DB) TreeCacheLen() int { return db.treeCache.Load().Len() }

// SetTreeCache replaces the proof cache with one of the stored hashes at
// levels >= minLevel holding at most maxHashes (0: no cache). For
// benchmarks and tests; the default is set by Open (see TreeCacheLevel).
// Safe while proofs are read: they use the old cache or the new.
func (db *DB) SetTreeCache(minLevel, maxHashes int) {
	db.treeCache.Store(merkle.NewCache(minLevel, maxHashes))
}

// readTreeHashes reads the stored hashes at indexes from the database.
func (db *DB) readTreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	var nodes, seqs []int64
	for _, idx := range indexes {
		if level, n := tlog.SplitStoredHashIndex(idx); level == 0 {
			seqs = append(seqs, n+1)
		} else {
			nodes = append(nodes, idx)
		}
	}
	if len(nodes) > treeReadMax || len(seqs) > treeReadMax {
		return merkle.ReadHashes(indexes,
			func(idx []int64) ([]tlog.Hash, error) { return readHashes(ctx, db.rdb.QueryContext, idx) },
			func(seqs []int64) ([][]byte, error) { return readBodies(ctx, db.rdb.QueryContext, seqs) })
	}
	pad := func(n int) int {
		p := 1
		for p < n {
			p *= 2
		}
		return p
	}
	pn, ps := pad(len(nodes)), pad(len(seqs))
	var q strings.Builder
	args := make([]any, 0, pn+ps)
	if len(nodes) > 0 {
		q.WriteString("SELECT idx, hash FROM tree_hashes WHERE idx IN (?" + strings.Repeat(",?", pn-1) + ")")
		for i := range pn {
			args = append(args, nodes[min(i, len(nodes)-1)])
		}
	}
	if len(seqs) > 0 {
		if len(nodes) > 0 {
			q.WriteString(" UNION ALL ")
		}
		// A leaf's row: its stored-hash index as -1-seq, its body.
		q.WriteString("SELECT -1-seq, body FROM events WHERE seq IN (?" + strings.Repeat(",?", ps-1) + ")")
		for i := range ps {
			args = append(args, seqs[min(i, len(seqs)-1)])
		}
	}
	out := make([]tlog.Hash, len(indexes))
	if len(args) == 0 {
		return out, nil
	}
	st, err := db.treeStmts.get(ctx, q.String())
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make([]bool, len(indexes))
	var key int64
	var blob []byte
	for rows.Next() {
		if err := rows.Scan(&key, &blob); err != nil {
			return nil, err
		}
		var h tlog.Hash
		if key < 0 { // a leaf: event -key-1
			key = tlog.StoredHashIndex(0, -key-2)
			h = tlog.RecordHash(blob)
		} else {
			if len(blob) != tlog.HashSize {
				return nil, fmt.Errorf("tree hash %d has %d bytes", key, len(blob))
			}
			copy(h[:], blob)
		}
		for i, idx := range indexes {
			if idx == key {
				out[i], found[i] = h, true
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, ok := range found {
		if !ok {
			if level, n := tlog.SplitStoredHashIndex(indexes[i]); level == 0 {
				return nil, fmt.Errorf("event %d is missing", n+1)
			}
			return nil, fmt.Errorf("the tree is missing the stored hash %d", indexes[i])
		}
	}
	return out, nil
}

// EventBodies calls fn with the stored canonical body of every event with
// after < seq <= upTo, in order: the leaves of the tree, as stored.
func (db *DB) EventBodies(ctx context.Context, after, upTo int64, fn func(seq int64, body []byte) error) error {
	return storecore.EventBodies(ctx, connQuerier{db.rdb}, after, upTo, fn, func(err error) error {
		return internal("EventBodies", err)
	})
}

// The proof cache (see treeHashes) holds the stored hashes at tlog levels
// >= TreeCacheLevel (nodes over 2^TreeCacheLevel events): an inclusion
// proof reads its TreeCacheLevel lowest hashes, clustered near its leaf
// in tree_hashes, from the database, the rest from memory. At most
// TreeCacheMax hashes (~13 MB): the whole of levels >= 10 of a tree of
// 100 M events is about 195,000.
const (
	TreeCacheLevel = 10
	TreeCacheMax   = 1 << 18
)
