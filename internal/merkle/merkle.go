// Package merkle keeps the Merkle tree over the event log (RFC 6962
// hashing, as in Certificate Transparency and the Go checksum database),
// incrementally, in the stores' transactions.
//
// The tree is stored as the Go checksum database stores it
// (golang.org/x/mod/sumdb/tlog): for record n (the event of sequence
// number n+1) the hashes tlog.StoredHashes returns, at the consecutive
// stored-hash indexes from tlog.StoredHashIndex(0, n) on: on average two
// 32-byte hashes per event, in a table tree_hashes(idx, hash). Every proof
// and tree hash is computed by the upstream functions (tlog.TreeHash,
// tlog.ProveRecord, tlog.ProveTree) over those stored hashes; this package
// only feeds them.
//
// The leaf of an event is its canonical encoding exactly as the stores
// seal it (the body column, whose SHA-256 is the event's hash).
package merkle

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// Tree is a writer's view of the tree: the last stored hash of every
// level (the right edge, which is all that adding a record reads), and a
// fallback that reads stored hashes from the database when the edge does
// not hold one (after a rollback, or when another writer appended).
//
// A Tree is safe across savepoint rollbacks within one writer: a record
// added again overwrites every node it completes before any later record
// reads it. After a failed transaction, or when the log grew behind the
// writer's back, call Reset.
type Tree struct {
	// Read reads stored hashes the edge does not hold (in the writer's
	// transaction).
	Read func(indexes []int64) ([]tlog.Hash, error)

	edge [64]struct {
		idx int64
		ok  bool
		h   tlog.Hash
	}
	miss []int64
	out  []tlog.Hash
	buf  []byte // LeafHash's input
}

// Reset forgets the edge: the next record reads it from the database.
func (t *Tree) Reset() {
	for i := range t.edge {
		t.edge[i].ok = false
	}
}

// ReadHashes implements tlog.HashReader from the edge, falling back to Read.
func (t *Tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	return t.readHashes(indexes, make([]tlog.Hash, len(indexes)))
}

// adding is the tree as the HashReader of tlog.StoredHashesForRecordHash,
// which uses the hashes read before its next read: it reuses one slice.
type adding Tree

func (a *adding) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	t := (*Tree)(a)
	if cap(t.out) < len(indexes) {
		t.out = make([]tlog.Hash, len(indexes), 64)
	}
	return t.readHashes(indexes, t.out[:len(indexes)])
}

func (t *Tree) readHashes(indexes []int64, out []tlog.Hash) ([]tlog.Hash, error) {
	t.miss = t.miss[:0]
	for i, idx := range indexes {
		level, _ := tlog.SplitStoredHashIndex(idx)
		if e := &t.edge[level]; e.ok && e.idx == idx {
			out[i] = e.h
			continue
		}
		t.miss = append(t.miss, idx)
	}
	if len(t.miss) == 0 {
		return out, nil
	}
	if t.Read == nil {
		return nil, fmt.Errorf("merkle: stored hashes %v are not known", t.miss)
	}
	got, err := t.Read(t.miss)
	if err != nil {
		return nil, err
	}
	if len(got) != len(t.miss) {
		return nil, fmt.Errorf("merkle: read %d stored hashes, want %d", len(got), len(t.miss))
	}
	j := 0
	for i, idx := range indexes {
		if j < len(t.miss) && t.miss[j] == idx {
			out[i] = got[j]
			j++
		}
	}
	return out, nil
}

// Add adds record n (data is its leaf: the event's canonical body) and
// returns the index of its first stored hash and the hashes to store, at
// consecutive indexes from there. The slice is reused by the next call.
func (t *Tree) Add(n int64, data []byte) (first int64, hashes []tlog.Hash, err error) {
	return t.AddHash(n, t.LeafHash(data))
}

// LeafHash is tlog.RecordHash(data) (SHA-256 of 0x00 and data), without
// allocating.
func (t *Tree) LeafHash(data []byte) tlog.Hash {
	t.buf = append(append(t.buf[:0], 0), data...)
	return sha256.Sum256(t.buf)
}

// AddHash adds record n by its leaf hash h (as Add).
func (t *Tree) AddHash(n int64, h tlog.Hash) (first int64, hashes []tlog.Hash, err error) {
	hs, err := tlog.StoredHashesForRecordHash(n, h, (*adding)(t))
	if err != nil {
		return 0, nil, err
	}
	first = tlog.StoredHashIndex(0, n)
	for level, h := range hs {
		e := &t.edge[level]
		e.idx, e.h, e.ok = first+int64(level), h, true
	}
	return first, hs, nil
}

// RecordsCovered returns the number of records whose hashes are stored
// when maxIdx is the largest stored index (-1: none).
func RecordsCovered(maxIdx int64) int64 {
	if maxIdx < 0 {
		return 0
	}
	level, k := tlog.SplitStoredHashIndex(maxIdx)
	// The largest index of a record is its top node, at level l of
	// index k: the record is the last leaf under that node.
	return (k + 1) << uint(level)
}

// FirstIndex returns the first stored-hash index of record n: every
// stored hash of records before n is below it, every one of n and later
// at or above it.
func FirstIndex(n int64) int64 { return tlog.StoredHashIndex(0, n) }

// Memory is a tree held in memory, for verifiers that rebuild the tree
// from event bodies: it keeps only the right edge, so it can give the
// root of every size as it grows.
type Memory struct {
	t    Tree
	size int64
}

// Size is the number of records added.
func (m *Memory) Size() int64 { return m.size }

// Add adds the next record.
func (m *Memory) Add(data []byte) error {
	_, _, err := m.t.Add(m.size, data)
	if err == nil {
		m.size++
	}
	return err
}

// AddHash adds the next record by its leaf hash and returns the index of
// its first stored hash and its stored hashes (as Tree.Add).
func (m *Memory) AddHash(h tlog.Hash) (int64, []tlog.Hash, error) {
	first, hs, err := m.t.AddHash(m.size, h)
	if err == nil {
		m.size++
	}
	return first, hs, err
}

// Root returns the tree hash of the records added so far.
func (m *Memory) Root() (tlog.Hash, error) {
	if m.size == 0 {
		return tlog.TreeHash(0, nil)
	}
	return tlog.TreeHash(m.size, &m.t)
}

// Stored reports whether a stored hash at level is kept in the database.
// Leaves (level 0) are not: a leaf is the hash of the event's body, which
// the log keeps anyway, so only the interior nodes are stored (about one
// per event).
func Stored(level int) bool { return level > 0 }

// ReadHashes reads stored hashes at indexes: the interior nodes with
// nodes, the leaves by hashing the bodies of their events (sequence
// numbers) that bodies returns, in order.
func ReadHashes(indexes []int64, nodes func([]int64) ([]tlog.Hash, error), bodies func(seqs []int64) ([][]byte, error)) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var nodeIdx, seqs []int64
	var nodePos, leafPos []int
	for i, idx := range indexes {
		level, n := tlog.SplitStoredHashIndex(idx)
		if level == 0 {
			seqs = append(seqs, n+1)
			leafPos = append(leafPos, i)
		} else {
			nodeIdx = append(nodeIdx, idx)
			nodePos = append(nodePos, i)
		}
	}
	if len(nodeIdx) > 0 {
		hs, err := nodes(nodeIdx)
		if err != nil {
			return nil, err
		}
		for j, h := range hs {
			out[nodePos[j]] = h
		}
	}
	if len(seqs) > 0 {
		bs, err := bodies(seqs)
		if err != nil {
			return nil, err
		}
		if len(bs) != len(seqs) {
			return nil, fmt.Errorf("merkle: read %d event bodies, want %d", len(bs), len(seqs))
		}
		for j, b := range bs {
			out[leafPos[j]] = tlog.RecordHash(b)
		}
	}
	return out, nil
}

// Cache is a bounded, read-through cache of the stored hashes at tlog
// levels >= MinLevel: the upper levels of the tree, which every proof
// crosses and which are scattered over the stored-hash table, so that a
// proof reads only its few lower-level hashes (clustered near its leaf)
// from the database. A stored hash never changes once committed (an
// append only adds hashes at new indexes), so a hash read from committed
// data stays valid for the life of the store (the stores cut their tree
// back only when they open, before they make their cache). It holds at most Max hashes: when full, it stops
// adding (the highest levels, crossed by every proof, are read first and
// stay). It is safe for concurrent use.
type Cache struct {
	minLevel int
	max      int
	mu       sync.RWMutex
	m        map[int64]tlog.Hash
}

// NewCache returns a cache of the stored hashes at levels >= minLevel
// (at least 1: leaves are the event bodies, not stored hashes), holding
// at most maxHashes of them. A nil *Cache (maxHashes <= 0) caches nothing.
func NewCache(minLevel, maxHashes int) *Cache {
	if maxHashes <= 0 {
		return nil
	}
	return &Cache{minLevel: min(max(minLevel, 1), 63), max: maxHashes, m: map[int64]tlog.Hash{}}
}

// Cacheable reports whether the stored hash at idx belongs in the cache.
func (c *Cache) Cacheable(idx int64) bool {
	if c == nil {
		return false
	}
	level, _ := tlog.SplitStoredHashIndex(idx)
	return level >= c.minLevel
}

// Get returns the cached hash at idx.
func (c *Cache) Get(idx int64) (tlog.Hash, bool) {
	if c == nil {
		return tlog.Hash{}, false
	}
	c.mu.RLock()
	h, ok := c.m[idx]
	c.mu.RUnlock()
	return h, ok
}

// Put caches the hash at idx, read from committed data, if it is
// cacheable and the cache is not full.
func (c *Cache) Put(idx int64, h tlog.Hash) {
	if !c.Cacheable(idx) {
		return
	}
	c.mu.Lock()
	if len(c.m) < c.max {
		c.m[idx] = h
	}
	c.mu.Unlock()
}

// Len returns the number of cached hashes.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

type uncachedKey struct{}

// Uncached returns ctx marked so that the stores read stored hashes from
// the database itself, bypassing (and not filling) their caches: the
// scrub and verify compare what is stored, not what was read before.
func Uncached(ctx context.Context) context.Context {
	return context.WithValue(ctx, uncachedKey{}, true)
}

// IsUncached reports whether ctx was marked by Uncached.
func IsUncached(ctx context.Context) bool {
	v, _ := ctx.Value(uncachedKey{}).(bool)
	return v
}
