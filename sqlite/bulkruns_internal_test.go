package sqlite

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBulkRowsTrimSpillMerge: rows of a rolled-back transaction are
// trimmed off the end of the buffer, runs are written sorted, and the
// merge of the runs and the rows in memory yields every kept row once, in
// (subject, seq) order, with its fact (or none).
func TestBulkRowsTrimSpillMerge(t *testing.T) {
	b := newBulkRows(filepath.Join(t.TempDir(), "x.db.bulk"), 1<<20)
	add := func(from, to int64) {
		for seq := from; seq <= to; seq++ {
			var fact []byte
			if seq%4 != 0 {
				fact = []byte(fmt.Sprintf("fact %d", seq))
			}
			b.add(fmt.Sprintf("S%d", seq%3), seq, fact)
		}
	}
	add(1, 10)
	b.trim(6) // 7..10 rolled back
	if err := b.spill(); err != nil {
		t.Fatal(err)
	}
	add(7, 12)
	b.trim(11)
	if err := b.spill(); err != nil {
		t.Fatal(err)
	}
	add(12, 20)
	b.trim(15)
	var got []string
	if err := b.merge(func(subject []byte, seq int64, fact []byte) error {
		got = append(got, fmt.Sprintf("%s %02d %s", subject, seq, fact))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for seq := int64(1); seq <= 15; seq++ {
		fact := ""
		if seq%4 != 0 {
			fact = fmt.Sprintf("fact %d", seq)
		}
		want = append(want, fmt.Sprintf("S%d %02d %s", seq%3, seq, fact))
	}
	slices.Sort(want)
	if len(b.runs) != 2 || !slices.Equal(got, want) {
		t.Fatalf("%d runs; merged:\n%s\nwant:\n%s", len(b.runs), strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
