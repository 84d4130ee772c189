package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"credo/internal/merkle"
	"credo/internal/storecore"
)

// TreeStoredLevel is the lowest level of the tree whose nodes are stored
// in tree_hashes: a node at level l covers 2^l events, so one node is
// stored per 2^TreeStoredLevel events at that level, and ~2 /
// 2^TreeStoredLevel per event over all levels. The nodes below it are
// computed when read, from the bodies of the events under them: a proof
// reads at most 2^TreeStoredLevel - 1 neighbouring bodies (one range of
// the events table) instead of TreeStoredLevel stored hashes.
//
// A registry written when every interior node was stored (levels >= 1)
// keeps its rows below this level; they are not read.
const TreeStoredLevel = 3

// addLeaf adds the event of sequence number seq, whose canonical body is
// body, to the tree: its stored hashes at levels >= TreeStoredLevel are
// queued in treeArgs, written by flushTree in the same transaction.
func (w *writer) addLeaf(seq int64, body []byte) error {
	if w.noTree {
		return nil
	}
	first, hs, err := w.tree.Add(seq-1, body)
	if err != nil {
		return err
	}
	for i := TreeStoredLevel; i < len(hs); i++ { // the lower levels: from the bodies
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
	return readTreeFrom(indexes,
		func(idx []int64) ([]tlog.Hash, error) { return readHashes(bg, w.conn.QueryContext, idx) },
		func(r seqRange, fn func(int64, []byte)) error { return readBodyRange(bg, w.conn.QueryContext, r, fn) })
}

// seqRange is the events lo..hi (sequence numbers, inclusive).
type seqRange struct{ lo, hi int64 }

// nodeEvents returns the level of the stored hash at idx and the events
// under it.
func nodeEvents(idx int64) (int, seqRange) {
	level, n := tlog.SplitStoredHashIndex(idx)
	return level, seqRange{n<<uint(level) + 1, (n + 1) << uint(level)}
}

// lowRanges returns the events under the stored hashes at indexes below
// TreeStoredLevel, as ranges in order, merged where they touch.
func lowRanges(indexes []int64) []seqRange {
	var rs []seqRange
	for _, idx := range indexes {
		if level, r := nodeEvents(idx); level < TreeStoredLevel {
			rs = append(rs, r)
		}
	}
	if len(rs) < 2 {
		return rs
	}
	slices.SortFunc(rs, func(a, b seqRange) int { return cmp.Compare(a.lo, b.lo) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.lo <= last.hi+1 {
			last.hi = max(last.hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// fillLow sets out[i] for every index below TreeStoredLevel, from the leaf
// hashes of the events under it.
func fillLow(indexes []int64, out []tlog.Hash, leaves map[int64]tlog.Hash) error {
	var buf [1 << TreeStoredLevel]tlog.Hash
	for i, idx := range indexes {
		level, r := nodeEvents(idx)
		if level >= TreeStoredLevel {
			continue
		}
		hs := buf[:1<<uint(level)]
		for j := range hs {
			h, ok := leaves[r.lo+int64(j)]
			if !ok {
				return fmt.Errorf("event %d is missing", r.lo+int64(j))
			}
			hs[j] = h
		}
		for n := len(hs); n > 1; n /= 2 {
			for j := 0; j < n/2; j++ {
				hs[j] = tlog.NodeHash(hs[2*j], hs[2*j+1])
			}
		}
		out[i] = hs[0]
	}
	return nil
}

// readTreeFrom reads the stored hashes at indexes: those at levels >=
// TreeStoredLevel with nodes, the lower ones from the bodies of the
// events under them, read range by range with bodies.
func readTreeFrom(indexes []int64, nodes func([]int64) ([]tlog.Hash, error), bodies func(seqRange, func(int64, []byte)) error) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var high []int64
	var highAt []int
	for i, idx := range indexes {
		if level, _ := tlog.SplitStoredHashIndex(idx); level >= TreeStoredLevel {
			high, highAt = append(high, idx), append(highAt, i)
		}
	}
	if len(high) > 0 {
		hs, err := nodes(high)
		if err != nil {
			return nil, err
		}
		for j, h := range hs {
			out[highAt[j]] = h
		}
	}
	ranges := lowRanges(indexes)
	if len(ranges) == 0 {
		return out, nil
	}
	leaves := map[int64]tlog.Hash{}
	for _, r := range ranges {
		if err := bodies(r, func(seq int64, body []byte) { leaves[seq] = tlog.RecordHash(body) }); err != nil {
			return nil, err
		}
	}
	return out, fillLow(indexes, out, leaves)
}

// readBodyRange calls fn with the body of every event of r, in order.
func readBodyRange[R interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}](ctx context.Context, query func(context.Context, string, ...any) (R, error), r seqRange, fn func(int64, []byte)) error {
	rows, err := query(ctx, "SELECT seq, body FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq", r.lo, r.hi)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			return err
		}
		fn(seq, body)
	}
	return rows.Err()
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

// treeCovered returns the number of events whose stored hashes are all
// in tree_hashes, dropping the stored hashes beyond the log's end (left
// by a log cut short) and those of an event whose stored hashes were cut
// short: the tree is built again from there. It runs when the store
// opens, before any proof is read: the proof cache, made after it, holds
// nothing to forget.
func (w *writer) treeCovered() (int64, error) {
	var maxIdx int64
	if err := w.conn.QueryRowContext(bg, "SELECT COALESCE(MAX(idx), -1) FROM tree_hashes").Scan(&maxIdx); err != nil {
		return 0, err
	}
	covered := merkle.RecordsCovered(maxIdx)
	cut := false
	if maxIdx >= 0 && maxIdx != merkle.FirstIndex(covered)-1 {
		// The largest index is not the top node of its event.
		covered, cut = covered-1, true
	}
	if covered > w.seq {
		covered, cut = w.seq, true
	}
	if cut {
		if _, err := w.conn.ExecContext(bg, "DELETE FROM tree_hashes WHERE idx >= ?", merkle.FirstIndex(covered)); err != nil {
			return 0, err
		}
	}
	return covered, nil
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
	covered, err := w.treeCovered()
	if err != nil {
		return err
	}
	if covered>>TreeStoredLevel == w.seq>>TreeStoredLevel {
		// No event after the last with stored nodes completes one.
		_, err := w.conn.ExecContext(bg, "COMMIT")
		return err
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
// query: the nodes of levels >= TreeStoredLevel from tree_hashes, and the
// bodies of the events under the lower ones (a range of at most
// 2^TreeStoredLevel events), hashed here.
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

// readTreeHashes reads the stored hashes at indexes from the database:
// the nodes at levels >= TreeStoredLevel from tree_hashes, the lower ones
// computed from the bodies of the events under them, all with one
// prepared statement when they are few (a proof, a tree hash).
func (db *DB) readTreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	var nodes []int64
	for _, idx := range indexes {
		if level, _ := tlog.SplitStoredHashIndex(idx); level >= TreeStoredLevel {
			nodes = append(nodes, idx)
		}
	}
	ranges := lowRanges(indexes)
	if len(nodes) > treeReadMax || len(ranges) > treeRangesMax {
		return readTreeFrom(indexes,
			func(idx []int64) ([]tlog.Hash, error) { return readHashes(ctx, db.rdb.QueryContext, idx) },
			func(r seqRange, fn func(int64, []byte)) error {
				return readBodyRange(ctx, db.rdb.QueryContext, r, fn)
			})
	}
	out := make([]tlog.Hash, len(indexes))
	if len(nodes) == 0 && len(ranges) == 0 {
		return out, nil
	}
	q, args := treeQuery(nodes, ranges)
	st, err := db.treeStmts.get(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make([]bool, len(indexes))
	var leaves map[int64]tlog.Hash
	if len(ranges) > 0 {
		leaves = make(map[int64]tlog.Hash, 1<<TreeStoredLevel)
	}
	var key int64
	var blob sql.RawBytes // valid until the next row: hashed or copied at once
	for rows.Next() {
		if err := rows.Scan(&key, &blob); err != nil {
			return nil, err
		}
		if key < 0 { // a leaf: event -key-1
			leaves[-key-1] = tlog.RecordHash(blob)
			continue
		}
		if len(blob) != tlog.HashSize {
			return nil, fmt.Errorf("tree hash %d has %d bytes", key, len(blob))
		}
		for i, idx := range indexes {
			if idx == key {
				copy(out[i][:], blob)
				found[i] = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, ok := range found {
		if level, _ := tlog.SplitStoredHashIndex(indexes[i]); !ok && level >= TreeStoredLevel {
			return nil, fmt.Errorf("the tree is missing the stored hash %d", indexes[i])
		}
	}
	return out, fillLow(indexes, out, leaves)
}

// treeRangesMax is the largest number of ranges of events read by one
// statement (padded to a power of two).
const treeRangesMax = 4

// treeQuery returns the statement that reads the stored nodes and the
// bodies of the events of ranges, and its arguments: a node's row is its
// index and hash, an event's its sequence number as -1-seq and its body.
// The lists are padded to powers of two so that few statements are
// prepared.
func treeQuery(nodes []int64, ranges []seqRange) (string, []any) {
	pad := func(n int) int {
		p := 1
		for p < n {
			p *= 2
		}
		return p
	}
	var q strings.Builder
	var args []any
	if len(nodes) > 0 {
		pn := pad(len(nodes))
		q.WriteString("SELECT idx, hash FROM tree_hashes WHERE idx IN (?" + strings.Repeat(",?", pn-1) + ")")
		for i := range pn {
			args = append(args, nodes[min(i, len(nodes)-1)])
		}
	}
	if len(ranges) > 0 {
		for i := range pad(len(ranges)) {
			if q.Len() > 0 {
				q.WriteString(" UNION ALL ")
			}
			q.WriteString("SELECT -1-seq, body FROM events WHERE seq BETWEEN ? AND ?")
			r := seqRange{1, 0} // padding: no event
			if i < len(ranges) {
				r = ranges[i]
			}
			args = append(args, r.lo, r.hi)
		}
	}
	return q.String(), args
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
// proof reads its TreeCacheLevel lowest hashes from the database (those
// of levels >= TreeStoredLevel clustered near its leaf in tree_hashes,
// the lower ones computed from the neighbouring event bodies), the rest
// from memory. At most
// TreeCacheMax hashes (~13 MB): the whole of levels >= 10 of a tree of
// 100 M events is about 195,000.
const (
	TreeCacheLevel = 10
	TreeCacheMax   = 1 << 18
)
