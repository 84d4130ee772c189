package postgres

import (
	"bytes"
	"encoding/binary"
	"time"
)

// copyBuf builds a COPY ... FROM STDIN WITH (FORMAT binary) stream by hand:
// for the few column types of the bulk path this is several times cheaper
// than encoding each value through pgx's type map, and bulk filing is
// bound by CPU.
type copyBuf struct {
	b bytes.Buffer
}

// copyHeader is the signature, flags and header extension length of the
// binary COPY format.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// reset starts a new stream in c (allocated if nil), keeping its memory.
func (c *copyBuf) reset(size int) *copyBuf {
	if c == nil {
		c = &copyBuf{}
	}
	c.b.Reset()
	c.b.Grow(size)
	c.b.Write(copyHeader)
	return c
}

// row starts a row of n fields.
func (c *copyBuf) row(n int) {
	c.b.Write(binary.BigEndian.AppendUint16(nil, uint16(n)))
}

func (c *copyBuf) int64(v int64) {
	var a [12]byte
	binary.BigEndian.PutUint32(a[:4], 8)
	binary.BigEndian.PutUint64(a[4:], uint64(v))
	c.b.Write(a[:])
}

func (c *copyBuf) text(s string) {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], uint32(len(s)))
	c.b.Write(a[:])
	c.b.WriteString(s)
}

func (c *copyBuf) bytes(p []byte) {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], uint32(len(p)))
	c.b.Write(a[:])
	c.b.Write(p)
}

// pgEpochMicros is 2000-01-01T00:00:00Z in microseconds since the Unix
// epoch: the origin of PostgreSQL's binary timestamps.
const pgEpochMicros = 946684800 * 1000000

// timestamptz writes t in microseconds (truncated) since 2000-01-01 UTC.
func (c *copyBuf) timestamptz(t time.Time) {
	c.int64(t.Unix()*1000000 + int64(t.Nanosecond()/1000) - pgEpochMicros)
}

// done ends the stream and returns it.
func (c *copyBuf) done() *bytes.Buffer {
	c.b.Write([]byte{0xff, 0xff})
	return &c.b
}
