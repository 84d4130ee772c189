package simulate

import (
	"math"
	"testing"
)

// Reference values computed exactly: the sum, in rational arithmetic, of
// C(n1,x)·C(n2,k−x)/C(n,k) over the tables no more likely than the
// observed one (as R's fisher.test does).
func TestFisherExact(t *testing.T) {
	for _, tc := range []struct {
		a, n1, b, n2 int
		want         float64
	}{
		{3, 4, 1, 4, 0.4857143},
		{10, 20, 2, 20, 0.0138141},
		{1, 2, 1, 2, 1},
		{0, 100, 0, 100, 1},
		{5, 5, 0, 5, 0.0079365},
	} {
		got := fisherExact(tc.a, tc.n1, tc.b, tc.n2)
		if math.Abs(got-tc.want) > 1e-4 {
			t.Errorf("fisherExact(%d/%d vs %d/%d) = %.6f, want %.6f", tc.a, tc.n1, tc.b, tc.n2, got, tc.want)
		}
	}
	// Large groups, few affected: cheap and sane.
	if p := fisherExact(3, 2_000_000, 1, 1_500_000); math.Abs(p-0.6401497) > 1e-4 {
		t.Errorf("3 of 2M vs 1 of 1.5M: p = %g", p)
	}
}
