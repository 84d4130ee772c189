package merkle

import (
	"encoding/binary"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// hashMap is a tlog.HashReader over every stored hash, leaves included.
type hashMap map[int64]tlog.Hash

func (m hashMap) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		out[i] = m[idx]
	}
	return out, nil
}

// TestTTreeMatchesTlog: the writer's tree (its cached right edge, the
// leaf hash computed without tlog.RecordHash, the reused read slice)
// gives exactly the stored hashes and roots of tlog.StoredHashes.
func TestTTreeMatchesTlog(t *testing.T) {
	want := hashMap{}
	var tree Tree // no Read: every hash must come from the edge
	var mem Memory
	for n := int64(0); n < 1100; n++ {
		data := make([]byte, 8+n%700)
		binary.BigEndian.PutUint64(data[len(data)-8:], uint64(n))
		if tree.LeafHash(data) != tlog.RecordHash(data) {
			t.Fatalf("record %d: leaf hash differs from tlog.RecordHash", n)
		}
		hs, err := tlog.StoredHashes(n, data, want)
		if err != nil {
			t.Fatal(err)
		}
		first, got, err := tree.Add(n, data)
		if err != nil {
			t.Fatalf("record %d: %v", n, err)
		}
		if first != tlog.StoredHashIndex(0, n) || len(got) != len(hs) {
			t.Fatalf("record %d: first %d, %d hashes; want %d, %d", n, first, len(got), tlog.StoredHashIndex(0, n), len(hs))
		}
		for i := range hs {
			if got[i] != hs[i] {
				t.Fatalf("record %d: stored hash %d differs", n, i)
			}
			want[first+int64(i)] = hs[i]
		}
		if err := mem.Add(data); err != nil {
			t.Fatal(err)
		}
		root, err := mem.Root()
		if err != nil {
			t.Fatal(err)
		}
		wantRoot, _ := tlog.TreeHash(n+1, want)
		if root != wantRoot {
			t.Fatalf("size %d: root differs", n+1)
		}
	}
}
