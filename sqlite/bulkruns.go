package sqlite

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"credo"
	"credo/internal/storecore"
)

// DefaultBulkRunBytes is the default bound of the rows a bulk load keeps in
// memory (Options.BulkRunBytes) before it writes them to a sorted run file.
const DefaultBulkRunBytes = 256 << 20

// bulkTxRows is the number of rows EndBulk inserts per transaction (at a
// subject's end): the write-ahead log stays small, and is checkpointed
// between transactions.
var bulkTxRows = 1 << 18

// bulkFault, if set (tests), is called after each commit of EndBulk but
// the last; an error stops it there.
var bulkFault func() error

// bulkRow is a buffered row: the subject (arena[off:off+slen]) and the
// body of its facts row (the next flen bytes; none if flen is 0) of the
// event seq.
type bulkRow struct {
	seq        int64
	off        int
	slen, flen uint32
}

// bulkRowSize is what a row costs in memory besides its bytes.
const bulkRowSize = 24

// bulkRows holds the rows of subject_events, facts and subjects that
// the records of a bulk load project: in memory, in log order, up to a
// bound, then sorted by (subject, seq) into a run file in dir.
type bulkRows struct {
	dir   string // where run files go (created on the first one)
	bound int
	arena []byte
	rows  []bulkRow
	runs  []string
}

func newBulkRows(dir string, bound int) *bulkRows {
	return &bulkRows{dir: dir, bound: bound}
}

// bulkDir is the directory of a bulk load's run files: beside the
// database, or under Options.BulkDir.
func (db *DB) bulkDir() string {
	if db.opts.BulkDir != "" {
		return filepath.Join(db.opts.BulkDir, filepath.Base(db.path)+".bulk")
	}
	return db.path + ".bulk"
}

// addRecord buffers the rows of a record filed with seq r.ID.
func (b *bulkRows) addRecord(r *credo.Record) {
	off := len(b.arena)
	b.arena = append(b.arena, r.Subject...)
	b.arena = storecore.RecordFact(b.arena, r)
	b.rows = append(b.rows, bulkRow{seq: r.ID, off: off, slen: uint32(len(r.Subject)), flen: uint32(len(b.arena) - off - len(r.Subject))})
}

// bulkable reports whether a bulk load may keep the rows of subject_events,
// facts and subjects that ev projects for EndBulk to write, as it does a
// record's: whether the subjects rows EndBulk derives (each subject's kind
// from its identifier, storecore.SubjectKind) are those Append writes.
// They are unless the event names the kind of a subject whose identifier
// does not say it (storecore.SubjectSet.Add); such an event's rows are
// written at once.
func bulkable(ev *credo.Event) bool {
	for _, c := range storecore.Concerned(ev) {
		if c.Kind != "" && storecore.SubjectKind(c.Subject) == "unknown" {
			return false
		}
	}
	return true
}

// addEvent buffers the rows of a sealed event (Seq set) as Append writes
// them: a subject_events row for each subject it concerns, with the
// subject's facts row if the event has facts (storecore.FactRows).
func (b *bulkRows) addEvent(ev *credo.Event) {
	facts := storecore.FactRows(ev)
	for i, c := range storecore.Concerned(ev) {
		var fact []byte
		if i < len(facts) && facts[i].Subject == c.Subject {
			fact = facts[i].Body
		}
		b.add(c.Subject, ev.Seq, fact)
	}
}

// add buffers a row (fact may be empty: no facts row).
func (b *bulkRows) add(subject string, seq int64, fact []byte) {
	off := len(b.arena)
	b.arena = append(b.arena, subject...)
	b.arena = append(b.arena, fact...)
	b.rows = append(b.rows, bulkRow{seq: seq, off: off, slen: uint32(len(subject)), flen: uint32(len(fact))})
}

// trim drops the buffered rows of events after seq: those of a
// transaction (or savepoint) rolled back. The rows in memory are in log
// order until they are sorted, which only happens to committed rows.
func (b *bulkRows) trim(seq int64) {
	n := len(b.rows)
	for n > 0 && b.rows[n-1].seq > seq {
		n--
	}
	if n < len(b.rows) {
		b.arena = b.arena[:b.rows[n].off]
		b.rows = b.rows[:n]
	}
}

// full reports whether the buffered rows have reached the bound.
func (b *bulkRows) full() bool {
	return len(b.arena)+bulkRowSize*len(b.rows) >= b.bound
}

func (b *bulkRows) subject(r *bulkRow) []byte { return b.arena[r.off : r.off+int(r.slen)] }
func (b *bulkRows) fact(r *bulkRow) []byte {
	s := r.off + int(r.slen)
	return b.arena[s : s+int(r.flen)]
}

// sort orders the rows in memory by (subject, seq).
func (b *bulkRows) sort() {
	slices.SortFunc(b.rows, func(x, y bulkRow) int {
		if c := bytes.Compare(b.subject(&x), b.subject(&y)); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
}

// spill sorts the rows in memory and writes them to a new run file: per
// row, the subject's length (uvarint), the subject, seq (varint), the
// fact's length (uvarint) and the fact. Nothing is synced: after a crash
// the runs are discarded and rebuilt from the log (recoverBulk). On error
// the rows stay in memory.
func (b *bulkRows) spill() (err error) {
	if len(b.rows) == 0 {
		return nil
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return err
	}
	name := filepath.Join(b.dir, fmt.Sprintf("run-%06d", len(b.runs)+1))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(name)
		}
	}()
	b.sort()
	bw := bufio.NewWriterSize(f, 1<<20)
	var hdr [3 * binary.MaxVarintLen64]byte
	for i := range b.rows {
		r := &b.rows[i]
		h := binary.AppendUvarint(hdr[:0], uint64(r.slen))
		if _, err := bw.Write(h); err != nil {
			return err
		}
		bw.Write(b.subject(r))
		h = binary.AppendVarint(hdr[:0], r.seq)
		h = binary.AppendUvarint(h, uint64(r.flen))
		bw.Write(h)
		if _, err := bw.Write(b.fact(r)); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	b.runs = append(b.runs, name)
	b.arena, b.rows = b.arena[:0], b.rows[:0]
	return nil
}

// discard removes the run files and forgets the rows.
func (b *bulkRows) discard() error {
	b.arena, b.rows, b.runs = nil, nil, nil
	return removeBulkDir(b.dir)
}

// removeBulkDir removes a bulk load's run files and their directory.
func removeBulkDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// A source is one sorted sequence of rows of a merge: a run file or the
// rows in memory.
type source struct {
	// the current row
	subject, fact []byte
	seq           int64

	f  *os.File
	r  *bufio.Reader
	b  *bulkRows // the rows in memory (sorted), from i
	i  int
	sb []byte // the run's row buffer
}

// next reads the source's next row; false at its end.
func (s *source) next() (bool, error) {
	if s.b != nil {
		if s.i == len(s.b.rows) {
			return false, nil
		}
		r := &s.b.rows[s.i]
		s.i++
		s.subject, s.seq, s.fact = s.b.subject(r), r.seq, s.b.fact(r)
		return true, nil
	}
	slen, err := binary.ReadUvarint(s.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.sb = slices.Grow(s.sb[:0], int(slen))[:slen]
	if _, err := io.ReadFull(s.r, s.sb); err != nil {
		return false, err
	}
	if s.seq, err = binary.ReadVarint(s.r); err != nil {
		return false, err
	}
	flen, err := binary.ReadUvarint(s.r)
	if err != nil {
		return false, err
	}
	s.sb = slices.Grow(s.sb, int(flen))[:int(slen+flen)]
	if _, err := io.ReadFull(s.r, s.sb[slen:]); err != nil {
		return false, err
	}
	s.subject, s.fact = s.sb[:slen], s.sb[slen:]
	return true, nil
}

func less(a, b *source) bool {
	if c := bytes.Compare(a.subject, b.subject); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

// merger is the k-way merge of the runs and the rows in memory.
type merger []*source

func (m merger) Len() int           { return len(m) }
func (m merger) Less(i, j int) bool { return less(m[i], m[j]) }
func (m merger) Swap(i, j int)      { m[i], m[j] = m[j], m[i] }
func (m *merger) Push(x any)        { *m = append(*m, x.(*source)) }
func (m *merger) Pop() any {
	old := *m
	x := old[len(old)-1]
	*m = old[:len(old)-1]
	return x
}

// merge calls fn with every row of b, runs and memory, in (subject, seq)
// order. The slices passed are valid until fn returns.
func (b *bulkRows) merge(fn func(subject []byte, seq int64, fact []byte) error) (err error) {
	b.sort()
	srcs := []*source{{b: b}}
	defer func() {
		for _, s := range srcs {
			if s.f != nil {
				s.f.Close()
			}
		}
	}()
	for _, name := range b.runs {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		srcs = append(srcs, &source{f: f, r: bufio.NewReaderSize(f, 256<<10)})
	}
	m := make(merger, 0, len(srcs))
	for _, s := range srcs {
		ok, err := s.next()
		if err != nil {
			return err
		}
		if ok {
			m = append(m, s)
		}
	}
	heap.Init(&m)
	for len(m) > 0 {
		s := m[0]
		if err := fn(s.subject, s.seq, s.fact); err != nil {
			return err
		}
		ok, err := s.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&m, 0)
		} else {
			heap.Pop(&m)
		}
	}
	return nil
}
