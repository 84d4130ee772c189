package synth

import (
	"cmp"
	"math"
	"slices"

	"credo/ident"
)

// districtPopulation is the resident population of each Beijing district in
// tens of thousands (Seventh National Census, 2020): 21.89 million in all.
var districtPopulation = map[string]float64{
	"110101": 70.9,  // Dongcheng
	"110102": 110.6, // Xicheng
	"110105": 345.2, // Chaoyang
	"110106": 201.9, // Fengtai
	"110107": 56.8,  // Shijingshan
	"110108": 313.3, // Haidian
	"110109": 39.3,  // Mentougou
	"110111": 131.3, // Fangshan
	"110112": 184.0, // Tongzhou
	"110113": 132.4, // Shunyi
	"110114": 226.9, // Changping
	"110115": 199.4, // Daxing
	"110116": 44.1,  // Huairou
	"110117": 45.7,  // Pinggu
	"110118": 52.8,  // Miyun
	"110119": 34.6,  // Yanqing
}

// districtChinese names each district in Chinese, for organisation names.
var districtChinese = map[string]string{
	"110101": "东城", "110102": "西城", "110105": "朝阳", "110106": "丰台",
	"110107": "石景山", "110108": "海淀", "110109": "门头沟", "110111": "房山",
	"110112": "通州", "110113": "顺义", "110114": "昌平", "110115": "大兴",
	"110116": "怀柔", "110117": "平谷", "110118": "密云", "110119": "延庆",
}

// maxAge is the oldest age generated.
const maxAge = 100

// ageWeight is the relative size of the cohort aged a (completed years at
// the end of the window): a pyramid shaped after Beijing's 2020 census and
// later estimates, with about 17% minors (under 18), a bulge at 30-39 and
// about a fifth aged 60 or more.
func ageWeight(a int) float64 {
	switch {
	case a < 5:
		return 0.85 // falling births
	case a < 18:
		return 1.03
	case a < 23:
		return 1.05
	case a < 30:
		return 1.45
	case a < 40:
		return 1.75
	case a < 60:
		return 1.45
	case a < 70:
		return 1.30
	case a < 80:
		return 0.75
	case a < 90:
		return 0.35
	}
	return 0.06
}

// maleShare is the share of men in the cohort aged a: about 51% overall
// (Beijing 2020: 104.7 men per 100 women), fewer among the old.
func maleShare(a int) float64 {
	switch {
	case a < 60:
		return 0.515
	case a < 80:
		return 0.49
	}
	return 0.44
}

// cell is one stratum of the population: the people of one district, born
// in one year, of one sex. Within a cell, the k-th person gets day-of-year
// (k·211 + off) mod days and sequence number 2⌊k/days⌋+1 (men) or +2
// (women): distinct k give distinct (birth date, sequence) pairs, and
// distinct cells differ in region, year or sequence parity, so every
// identifier is unique by construction.
type cell struct {
	district int // index into ident.BeijingDistricts
	year     int
	male     bool
	days     int // days in year
	off      int
}

// peopleModel maps a person's index to a RIC without generating the others.
type peopleModel struct {
	n     int
	perm  feistel
	cells []cell
	cum   []int64 // cum[c] is the first slot of cell c; cum[len(cells)] == n
}

func newPeopleModel(n int, seed uint64, endYear int) (*peopleModel, error) {
	m := &peopleModel{n: n}
	if n == 0 {
		return m, nil
	}
	m.perm = newFeistel(uint64(n), seed, tagPersonPerm)
	var dw []float64
	for _, code := range ident.BeijingDistricts {
		w, ok := districtPopulation[code]
		if !ok {
			w = 50
		}
		dw = append(dw, w)
	}
	sumD := 0.0
	for _, w := range dw {
		sumD += w
	}
	sumA := 0.0
	for a := 0; a <= maxAge; a++ {
		sumA += ageWeight(a)
	}
	type share struct {
		c     cell
		count int64
		frac  float64
		idx   int
	}
	var shares []share
	total := int64(0)
	for d := range dw {
		for a := 0; a <= maxAge; a++ {
			for _, male := range []bool{true, false} {
				w := dw[d] / sumD * ageWeight(a) / sumA
				if male {
					w *= maleShare(a)
				} else {
					w *= 1 - maleShare(a)
				}
				e := w * float64(n)
				fl := math.Floor(e)
				y := endYear - 1 - a
				days := 365
				if isLeap(y) {
					days = 366
				}
				idx := len(shares)
				c := cell{district: d, year: y, male: male, days: days,
					off: int(hash3(seed, tagPersonCell, uint64(idx)) % uint64(days))}
				shares = append(shares, share{c: c, count: int64(fl), frac: e - fl, idx: idx})
				total += int64(fl)
			}
		}
	}
	// Largest remainders get the people that flooring left over.
	order := make([]int, len(shares))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(shares[b].frac, shares[a].frac) })
	for i := 0; total < int64(n); i++ {
		shares[order[i%len(order)]].count++
		total++
	}
	m.cum = append(m.cum, 0)
	for _, s := range shares {
		if s.count == 0 {
			continue
		}
		capacity := int64(s.c.days) * 499
		if s.c.male {
			capacity = int64(s.c.days) * 500
		}
		if s.count > capacity {
			return nil, invalidf("%d people are too many for Beijing's identity numbers: %d men or women of one district born in one year exceed the %d sequence numbers available; use at most about %d people",
				n, s.count, capacity, int64(float64(n)*float64(capacity)/float64(s.count)))
		}
		m.cells = append(m.cells, s.c)
		m.cum = append(m.cum, m.cum[len(m.cum)-1]+s.count)
	}
	return m, nil
}

// personAttrs are what the generator needs to know about a person.
type personAttrs struct {
	cell  *cell
	doy   int // day of year, 0-based
	seq   int // 1-999
	month int
	day   int
	adult int64 // civil day number of the 18th birthday
}

// attrs computes person i's attributes (0 <= i < n).
func (m *peopleModel) attrs(i int) personAttrs {
	x := int64(m.perm.perm(uint64(i)))
	c, _ := slices.BinarySearch(m.cum, x+1) // first cum > x is c+1
	c--
	cl := &m.cells[c]
	k := int(x - m.cum[c])
	doy := (k*211 + cl.off) % cl.days
	s := k / cl.days
	seq := 2*s + 2
	if cl.male {
		seq = 2*s + 1
	}
	month, day := monthDay(cl.year, doy)
	return personAttrs{cell: cl, doy: doy, seq: seq, month: month, day: day,
		adult: daysFromCivil(cl.year+18, month, day)}
}

// ric formats the person's 18-character RIC.
func (a *personAttrs) ric() string {
	var b [18]byte
	copy(b[:6], ident.BeijingDistricts[a.cell.district])
	put := func(at, width, v int) {
		for j := at + width - 1; j >= at; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(6, 4, a.cell.year)
	put(10, 2, a.month)
	put(12, 2, a.day)
	put(14, 3, a.seq)
	b[17] = mustCheck(ident.RICCheck(b[:17]))
	return string(b[:])
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var monthStarts = [2][13]int{
	{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
	{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
}

// monthDay converts a 0-based day of year to month and day.
func monthDay(y, doy int) (int, int) {
	t := &monthStarts[0]
	if isLeap(y) {
		t = &monthStarts[1]
	}
	m := 1
	for doy >= t[m] {
		m++
	}
	return m, doy - t[m-1] + 1
}

// daysFromCivil returns the number of days from 1970-01-01 to the proleptic
// Gregorian date y-m-d (H. Hinnant's algorithm). A day past the end of the
// month rolls over, so 29 February of a common year is 1 March.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
