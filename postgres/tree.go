package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"credo/internal/merkle"
	"credo/internal/storecore"
)

// addLeaf adds the event of sequence number seq, whose canonical body is
// body, to the tree; its stored hashes are queued by flushTree.
func (w *writer) addLeaf(seq int64, body []byte) error {
	first, hs, err := w.tree.Add(seq-1, body)
	if err != nil {
		return err
	}
	for i := 1; i < len(hs); i++ { // the leaf is the body's hash: not stored
		h := hs[i]
		w.treeIdx = append(w.treeIdx, first+int64(i))
		w.treeHash = append(w.treeHash, h[:])
	}
	return nil
}

// flushTree queues the insert of the pending stored hashes.
func (w *writer) flushTree() {
	if len(w.treeIdx) == 0 {
		return
	}
	w.queue("INSERT INTO tree_hashes (idx, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])", w.treeIdx, w.treeHash)
	w.treeIdx, w.treeHash = nil, nil
}

// dropTree forgets the pending stored hashes of a failed call.
func (w *writer) dropTree() { w.treeIdx, w.treeHash = nil, nil }

// readTree reads stored hashes in the writer's transaction.
func (w *writer) readTree(indexes []int64) ([]tlog.Hash, error) {
	w.flushTree()
	if err := w.flush(); err != nil {
		return nil, err
	}
	return readTree(bg, w.conn, indexes)
}

// readTree reads stored hashes: interior nodes from tree_hashes, leaves
// by hashing their events' bodies.
func readTree(ctx context.Context, q querier, indexes []int64) ([]tlog.Hash, error) {
	return merkle.ReadHashes(indexes,
		func(idx []int64) ([]tlog.Hash, error) { return readHashes(ctx, q, idx) },
		func(seqs []int64) ([][]byte, error) { return readBodies(ctx, q, seqs) })
}

// readBodies reads the bodies of events seqs, in their order.
func readBodies(ctx context.Context, q querier, seqs []int64) ([][]byte, error) {
	rows, err := q.Query(ctx, "SELECT seq, body FROM events WHERE seq = ANY($1)", seqs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := make(map[int64][]byte, len(seqs))
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, err
		}
		got[seq] = body
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([][]byte, len(seqs))
	for i, s := range seqs {
		b, ok := got[s]
		if !ok {
			return nil, fmt.Errorf("event %d is missing", s)
		}
		out[i] = b
	}
	return out, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readHashes reads the stored hashes at indexes, in their order.
func readHashes(ctx context.Context, q querier, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, "SELECT idx, hash FROM tree_hashes WHERE idx = ANY($1)", indexes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := make(map[int64]tlog.Hash, len(indexes))
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			return nil, err
		}
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("tree hash %d has %d bytes", idx, len(h))
		}
		got[idx] = tlog.Hash(h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, idx := range indexes {
		h, ok := got[idx]
		if !ok {
			return nil, fmt.Errorf("the tree is missing stored hash %d", idx)
		}
		out[i] = h
	}
	return out, nil
}

// buildTree brings the tree up to the log under the log lock: the tree of
// a log written before the tree existed is built from its events, and
// stored hashes beyond the log's end are dropped. It runs when the store
// opens; on a node that finds the tree up to date it costs one query.
func (db *DB) buildTree(ctx context.Context) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	var seq, maxIdx int64
	if err := tx.QueryRow(ctx, "SELECT seq FROM log_head WHERE id = 1 FOR UPDATE").Scan(&seq); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, "SELECT COALESCE(max(idx), -1) FROM tree_hashes").Scan(&maxIdx); err != nil {
		return err
	}
	covered := merkle.RecordsCovered(maxIdx)
	if covered == seq || covered+1 == seq {
		// (The record after the last with a stored node has none.)
		return nil
	}
	if covered > seq {
		if _, err := tx.Exec(ctx, "DELETE FROM tree_hashes WHERE idx >= $1", merkle.FirstIndex(seq)); err != nil {
			return err
		}
		covered = seq
	}
	var tree merkle.Tree
	tree.Read = func(indexes []int64) ([]tlog.Hash, error) { return readTree(ctx, tx, indexes) }
	for next := covered + 1; next <= seq; {
		// Read a batch first: the tree may read the connection too.
		rows, err := tx.Query(ctx, "SELECT seq, body FROM events WHERE seq >= $1 ORDER BY seq LIMIT 4096", next)
		if err != nil {
			return err
		}
		var seqs []int64
		var bodies [][]byte
		for rows.Next() {
			var s int64
			var body []byte
			if err := rows.Scan(&s, &body); err != nil {
				rows.Close()
				return err
			}
			seqs, bodies = append(seqs, s), append(bodies, body)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(seqs) == 0 {
			return fmt.Errorf("event %d is missing: the tree cannot be built", next)
		}
		var idxs []int64
		var hashes [][]byte
		for i, s := range seqs {
			if s != next {
				return fmt.Errorf("event %d is missing: the tree cannot be built", next)
			}
			first, hs, err := tree.Add(s-1, bodies[i])
			if err != nil {
				return err
			}
			for i := 1; i < len(hs); i++ {
				h := hs[i]
				idxs = append(idxs, first+int64(i))
				hashes = append(hashes, h[:])
			}
			next++
		}
		if _, err := tx.Exec(ctx, "INSERT INTO tree_hashes (idx, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])", idxs, hashes); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// TreeHashes returns the stored hashes of the log's Merkle tree at the
// given stored-hash indexes (golang.org/x/mod/sumdb/tlog's numbering),
// for the proofs and checkpoints of package transparency.
func (db *DB) TreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	h, err := readTree(ctx, db.pool, indexes)
	if err != nil {
		return nil, internal("TreeHashes", err)
	}
	return h, nil
}

// EventBodies calls fn with the stored canonical body of every event with
// after < seq <= upTo, in order: the leaves of the tree, as stored.
func (db *DB) EventBodies(ctx context.Context, after, upTo int64, fn func(seq int64, body []byte) error) error {
	return storecore.EventBodies(ctx, pgQuerier{db.pool}, after, upTo, fn, func(err error) error {
		return internal("EventBodies", err)
	})
}
