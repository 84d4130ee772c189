package registry

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// checkIDs makes check ids: unique, and sortable by time of issue as
// strings. An id is 16 characters of lowercase Crockford base32 over 10
// bytes: 6 bytes of Unix milliseconds, 2 of a per-process counter (so ids
// stay unique and increasing beyond 65,536 checks per millisecond by
// borrowing from the next millisecond), and 2 random bytes per process, so
// that servers sharing one check log do not collide; then 10 characters
// (50 bits) drawn at random for each id, so that knowing one id tells
// nothing of the others (a check id is not a capability, but it must not
// be guessable either).
type checkIDs struct {
	last     atomic.Uint64 // ms<<16 | counter
	instance [2]byte

	// Random bytes for the ids' suffixes, drawn from crypto/rand 640 at
	// a time (a draw per id would cost 200 ns on the hot path).
	rmu   sync.Mutex
	rpool [640]byte
	rused int
}

// random fills b with random bytes from the pool.
func (g *checkIDs) random(b []byte) {
	g.rmu.Lock()
	if g.rused+len(b) > len(g.rpool) {
		if _, err := rand.Read(g.rpool[:]); err != nil {
			panic("credo: crypto/rand failed: " + err.Error())
		}
		g.rused = 0
	}
	copy(b, g.rpool[g.rused:])
	g.rused += len(b)
	g.rmu.Unlock()
}

func newCheckIDs() *checkIDs {
	g := &checkIDs{}
	g.rused = len(g.rpool)
	if _, err := rand.Read(g.instance[:]); err != nil {
		panic("credo: crypto/rand failed: " + err.Error())
	}
	return g
}

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// next returns a new id issued at instant now.
func (g *checkIDs) next(now time.Time) string {
	ms := uint64(now.UnixMilli())
	var v uint64
	for {
		last := g.last.Load()
		v = max(last+1, ms<<16)
		if g.last.CompareAndSwap(last, v) {
			break
		}
	}
	var raw [10]byte
	binary.BigEndian.PutUint64(raw[:8], v)
	raw[8], raw[9] = g.instance[0], g.instance[1]
	// 80 bits = 16 groups of 5 bits, then 10 random characters (50 bits)
	// so that ids cannot be enumerated from one seen.
	var out [checkIDLen]byte
	var rnd [10]byte
	g.random(rnd[:])
	for i, b := range rnd {
		out[16+i] = crockford[b&31]
	}
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := uint64(raw[8])<<8 | uint64(raw[9])
	for i := 15; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | (hi&31)<<11
		hi >>= 5
	}
	return string(out[:])
}

// checkIDLen is the length of a check id; ids issued before the random
// suffix was added have 16 characters and are still read.
const checkIDLen = 26

// ValidCheckID reports whether s has the form of a check id.
func ValidCheckID(s string) bool {
	if len(s) != checkIDLen && len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u') {
			return false
		}
	}
	return true
}
