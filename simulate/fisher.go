package simulate

import "math"

// fisherExact returns the two-sided p-value of Fisher's exact test on the
// 2×2 table [[a, n1-a], [b, n2-b]]: affected and unaffected members of two
// groups. The two-sided p sums the probabilities of every table with the
// same margins that is no more likely than the observed one. It sums over
// at most a+b+1 tables, so it stays cheap for groups of millions when few
// are affected.
func fisherExact(a, n1, b, n2 int) float64 {
	k := a + b // affected in both groups
	n := n1 + n2
	if k == 0 || k == n {
		return 1
	}
	lo, hi := max(0, k-n2), min(k, n1)
	logp := func(x int) float64 {
		return lchoose(n1, x) + lchoose(n2, k-x) - lchoose(n, k)
	}
	obs := logp(a)
	p := 0.0
	for x := lo; x <= hi; x++ {
		if lp := logp(x); lp <= obs+1e-9 {
			p += math.Exp(lp)
		}
	}
	return min(p, 1)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
