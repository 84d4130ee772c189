package synth

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// mix64 is the SplitMix64 finaliser: a fast bijective mixer of 64 bits.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash3 derives a well-mixed value from a seed, a stream tag and an index.
func hash3(seed, tag, i uint64) uint64 {
	return mix64(mix64(seed^tag*0xd1b54a32d192ed03) ^ i)
}

// Stream tags: every independent use of randomness has its own tag, so
// changing one use never shifts another.
const (
	tagPersonPerm uint64 = iota + 1
	tagPersonCell
	tagPersonName
	tagPersonRecords
	tagOrgPerm
	tagOrgAttr
	tagOrgName
	tagOrgRecords
	tagOrgRep
	tagEvidence
)

// rng is a per-subject random stream: a PCG reseeded for each subject, so
// that any subject's records can be generated without generating the
// others (and ranges of subjects in parallel).
type rng struct{ pcg rand.PCG }

func (r *rng) seed(seed, tag, i uint64) {
	h := hash3(seed, tag, i)
	r.pcg.Seed(h, mix64(h^0x6a09e667f3bcc909))
}

// float returns a uniform float64 in [0, 1).
func (r *rng) float() float64 { return float64(r.pcg.Uint64()>>11) * 0x1p-53 }

// intn returns a uniform int in [0, n) for n > 0 (Lemire's method without
// the rejection step: the bias is below 2^-40 for every n used here).
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.pcg.Uint64(), uint64(n))
	return int(hi)
}

// geometric returns a count ≥ 0 with the given mean (geometric distribution:
// a long tail, most values small).
func (r *rng) geometric(mean float64) int {
	if mean <= 0 {
		return 0
	}
	q := 1 / (1 + mean) // success probability
	u := r.float()
	if u == 0 {
		u = 0x1p-53
	}
	n := math.Floor(math.Log(u) / math.Log1p(-q))
	if n > 1e6 {
		return 1e6
	}
	return int(n)
}

// pick returns an index into a cumulative weight table (last entry the total).
func pick(cum []float64, u float64) int {
	x := u * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// cumulative turns weights into a cumulative table for pick.
func cumulative(w []float64) []float64 {
	c := make([]float64, len(w))
	s := 0.0
	for i, x := range w {
		s += x
		c[i] = s
	}
	return c
}

// feistel is a keyed pseudo-random permutation of [0, n): a balanced
// Feistel network over the smallest even number of bits that covers n,
// with cycle walking to stay in range. It maps subject indexes to slots so
// that consecutive subjects are unrelated, while staying a bijection (no
// two subjects share a slot, which is what makes identifiers unique).
type feistel struct {
	n    uint64
	half uint
	mask uint64
	keys [4]uint64
}

func newFeistel(n uint64, seed, tag uint64) feistel {
	b := uint(bits.Len64(n - 1))
	if n <= 1 {
		b = 2
	}
	if b%2 == 1 {
		b++
	}
	if b < 2 {
		b = 2
	}
	f := feistel{n: n, half: b / 2, mask: 1<<(b/2) - 1}
	for r := range f.keys {
		f.keys[r] = hash3(seed, tag, uint64(r))
	}
	return f
}

func (f *feistel) perm(x uint64) uint64 {
	for {
		l, r := x>>f.half, x&f.mask
		for _, k := range f.keys {
			l, r = r, l^(mix64(r^k)&f.mask)
		}
		x = l<<f.half | r
		if x < f.n {
			return x
		}
	}
}
