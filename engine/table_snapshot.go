package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"credo/policy"
)

// The table's binary form, written by WriteTo and read by ReadTable:
//
//	magic "CREDOTB1"
//	uvarint len, policy hash
//	uvarint shard count
//	per shard: uvarint ric entries, uvarint string entries, then blocks
//	block: uvarint entries (0 ends the shard), uvarint payload length,
//	       payload, CRC-32C of the payload (4 bytes, little endian)
//	entry: kind byte (0: RIC key, 1: string key), key (8 bytes LE, or
//	       uvarint length and bytes), flags byte (1: InForce[0] present,
//	       2: InForce[1] present, 4: Next present, 8: rule mask present),
//	       the present fields as uvarints (the measure words), 8 bytes LE
//	       (Next) and a uvarint (the rule mask, table_rules.go).
//	trailer: "END!"
//
// Every block carries its own checksum and the trailer marks the end, so a
// corrupt or truncated file is refused rather than half loaded.
const (
	tableMagic   = "CREDOTB1"
	tableTrailer = "END!"
	blockEntries = 4096
	maxBlock     = 1 << 24
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrBadSnapshot is wrapped by every error ReadTable returns for a file that
// is not a complete, intact table.
var ErrBadSnapshot = errors.New("not a complete decision table")

// WriteTo writes the table's entries of their own in its binary form. It
// holds one shard's lock at a time, while encoding that shard, so checks
// and refreshes go on meanwhile; an entry refreshed during the write may
// be written before or after the change (reapply the events after the
// log position the caller records).
func (t *Table) WriteTo(w io.Writer) (int64, error) {
	n, _, err := t.WriteEntries(w)
	return n, err
}

// WriteEntries is WriteTo that also returns the number of entries it
// wrote (entries added by refreshes during the write may or may not be
// among them), for a header that must state what its body holds.
func (t *Table) WriteEntries(w io.Writer) (int64, int, error) {
	entries := 0
	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<20)}
	var hdr []byte
	hdr = append(hdr, tableMagic...)
	hdr = binary.AppendUvarint(hdr, uint64(len(t.hash)))
	hdr = append(hdr, t.hash...)
	hdr = binary.AppendUvarint(hdr, shardCount)
	if _, err := cw.Write(hdr); err != nil {
		return cw.n, entries, err
	}
	var buf, block []byte
	for i := range t.shards {
		sh := &t.shards[i]
		buf = buf[:0]
		sh.mu.RLock()
		buf = binary.AppendUvarint(buf, uint64(len(sh.ric)))
		buf = binary.AppendUvarint(buf, uint64(len(sh.str)))
		entries += len(sh.ric) + len(sh.str)
		n := 0
		flush := func() {
			buf = binary.AppendUvarint(buf, uint64(n))
			buf = binary.AppendUvarint(buf, uint64(len(block)))
			buf = append(buf, block...)
			buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(block, crcTable))
			block, n = block[:0], 0
		}
		for k, sl := range sh.ric {
			block = append(block, 0)
			block = binary.LittleEndian.AppendUint64(block, k)
			block = appendEntry(block, sl)
			if n++; n == blockEntries {
				flush()
			}
		}
		for k, sl := range sh.str {
			block = append(block, 1)
			block = binary.AppendUvarint(block, uint64(len(k)))
			block = append(block, k...)
			block = appendEntry(block, sl)
			if n++; n == blockEntries {
				flush()
			}
		}
		sh.mu.RUnlock()
		if n > 0 {
			flush()
		}
		buf = binary.AppendUvarint(buf, 0)
		if _, err := cw.Write(buf); err != nil {
			return cw.n, entries, err
		}
	}
	if _, err := cw.Write([]byte(tableTrailer)); err != nil {
		return cw.n, entries, err
	}
	return cw.n, entries, cw.w.(*bufio.Writer).Flush()
}

func appendEntry(b []byte, sl slot) []byte {
	e := sl.e
	var flags byte
	if sl.rules != anyRule {
		flags |= 8
	}
	if e.InForce[0] != 0 {
		flags |= 1
	}
	if e.InForce[1] != 0 {
		flags |= 2
	}
	if e.Next != never {
		flags |= 4
	}
	b = append(b, flags)
	if flags&1 != 0 {
		b = binary.AppendUvarint(b, e.InForce[0])
	}
	if flags&2 != 0 {
		b = binary.AppendUvarint(b, e.InForce[1])
	}
	if flags&4 != 0 {
		b = binary.LittleEndian.AppendUint64(b, uint64(e.Next))
	}
	if sl.rules != anyRule {
		b = binary.AppendUvarint(b, sl.rules)
	}
	return b
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func readTableHeader(br *bufio.Reader) (string, error) {
	magic := make([]byte, len(tableMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != tableMagic {
		return "", fmt.Errorf("%w: no table header", ErrBadSnapshot)
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n > 1024 {
		return "", fmt.Errorf("%w: bad policy hash", ErrBadSnapshot)
	}
	hash := make([]byte, n)
	if _, err := io.ReadFull(br, hash); err != nil {
		return "", fmt.Errorf("%w: bad policy hash", ErrBadSnapshot)
	}
	return string(hash), nil
}

// ReadTable reads a table written by WriteTo and returns it under pol,
// which must be the policy version whose hash the table was written under
// (else an error). Entries keep their next-change instants: one that has
// passed by the time of a check is recomputed then, as in a table built
// in memory. The per-kind defaults are computed at now.
func ReadTable(r io.Reader, pol *policy.Policy, hash string, load Loader, now time.Time) (*Table, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	got, err := readTableHeader(br)
	if err != nil {
		return nil, err
	}
	if got != hash {
		return nil, fmt.Errorf("the table was built under policy %s, not %s", got, hash)
	}
	shards, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, fmt.Errorf("%w: no shard count", ErrBadSnapshot)
	}
	t := NewTable(pol, hash, load, now)
	var block []byte
	for s := uint64(0); s < shards; s++ {
		nric, err1 := binary.ReadUvarint(br)
		nstr, err2 := binary.ReadUvarint(br)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: truncated at shard %d", ErrBadSnapshot, s)
		}
		if shards == shardCount && nric < 1<<32 && nstr < 1<<32 {
			// Same layout: size the maps once.
			t.shards[s].ric = make(map[uint64]slot, nric)
			t.shards[s].str = make(map[string]slot, nstr)
		}
		for {
			n, err := binary.ReadUvarint(br)
			if err != nil {
				return nil, fmt.Errorf("%w: truncated at shard %d", ErrBadSnapshot, s)
			}
			if n == 0 {
				break
			}
			size, err := binary.ReadUvarint(br)
			if err != nil || size > maxBlock {
				return nil, fmt.Errorf("%w: bad block in shard %d", ErrBadSnapshot, s)
			}
			if cap(block) < int(size)+4 {
				block = make([]byte, size+4)
			}
			block = block[:size+4]
			if _, err := io.ReadFull(br, block); err != nil {
				return nil, fmt.Errorf("%w: truncated in shard %d", ErrBadSnapshot, s)
			}
			payload := block[:size]
			if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(block[size:]) {
				return nil, fmt.Errorf("%w: checksum mismatch in shard %d", ErrBadSnapshot, s)
			}
			if err := t.decodeBlock(payload, n); err != nil {
				return nil, fmt.Errorf("%w: shard %d: %v", ErrBadSnapshot, s, err)
			}
		}
	}
	end := make([]byte, len(tableTrailer))
	if _, err := io.ReadFull(br, end); err != nil || string(end) != tableTrailer {
		return nil, fmt.Errorf("%w: no end marker", ErrBadSnapshot)
	}
	return t, nil
}

// decodeBlock puts the n entries of a checked block into the table. Keys
// are routed as Put routes them, so a file written with another shard
// count still reads correctly. The table is not shared yet: no locks.
func (t *Table) decodeBlock(p []byte, n uint64) error {
	for ; n > 0; n-- {
		if len(p) < 2 {
			return errors.New("short entry")
		}
		kind := p[0]
		p = p[1:]
		var key uint64
		var skey string
		switch kind {
		case 0:
			if len(p) < 8 {
				return errors.New("short key")
			}
			key = binary.LittleEndian.Uint64(p)
			p = p[8:]
		case 1:
			l, k := binary.Uvarint(p)
			if k <= 0 || uint64(len(p)-k) < l {
				return errors.New("bad key")
			}
			skey = string(p[k : k+int(l)])
			p = p[k+int(l):]
		default:
			return fmt.Errorf("bad entry kind %d", kind)
		}
		if len(p) < 1 {
			return errors.New("short entry")
		}
		flags := p[0]
		p = p[1:]
		e := Entry{Next: never}
		for i := range 2 {
			if flags&(1<<i) != 0 {
				v, k := binary.Uvarint(p)
				if k <= 0 {
					return errors.New("bad measure set")
				}
				e.InForce[i] = v
				p = p[k:]
			}
		}
		if flags&4 != 0 {
			if len(p) < 8 {
				return errors.New("short next change")
			}
			e.Next = int64(binary.LittleEndian.Uint64(p))
			p = p[8:]
		}
		rules := uint64(anyRule)
		if flags&8 != 0 {
			v, k := binary.Uvarint(p)
			if k <= 0 {
				return errors.New("bad rule mask")
			}
			rules, p = v, p[k:]
		}
		if kind == 0 {
			t.shards[key%shardCount].ric[key] = slot{e, rules}
		} else {
			t.shardFor(skey, 0, false).str[skey] = slot{e, rules}
		}
	}
	if len(p) != 0 {
		return errors.New("trailing bytes in block")
	}
	return nil
}
