package canon

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"credo"
)

// The fast encoder must produce exactly credo.CanonicalEncoding.

func checkEncoding(t *testing.T, r *credo.Record, recorded time.Time, prev string) {
	t.Helper()
	want, werr := credo.CanonicalEncoding(recordFiledEvent(r, recorded, prev))
	got, gerr := appendRecordFiledFast([]byte("prefix"), r, recorded, prev)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("errors differ: reflective %v, fast %v (record %+v)", werr, gerr, *r)
	}
	if werr != nil {
		return
	}
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("fast encoder lost the buffer's prefix")
	}
	if got = got[len("prefix"):]; !bytes.Equal(got, want) {
		t.Fatalf("encodings differ\n  fast %x\n  want %x", got, want)
	}
}

func TestFastEncodingSamples(t *testing.T) {
	if !fastEncodingOK() {
		t.Fatal("fastEncodingOK is false: the fast path is disabled")
	}
}

var tricky = []string{
	"", "a", "plain ASCII", "quote\"", `back\slash`, "<html>", "a&b", "tab\there", "nl\n", "\x00", "\x1f", "\x7f",
	"中文", "(2025)京0101执1234号", "\u2028", "\u2029", "x\u2028y", "\xff", "a\xc3", "\xed\xa0\x80", "😀", "\ufffd",
	"é", "\u00a0", "\x08\x0c", "</script>",
}

var times = []time.Time{
	{},
	time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CST", 8*3600)),
	time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
	time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -(9*3600+30*60))),
	time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), // cannot be encoded
	time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),    // cannot be encoded
	time.Date(2025, 6, 1, 0, 0, 0, 0, time.FixedZone("odd", 5*3600+45*60+30)),
	time.Unix(1700000000, 5).In(time.Local),
}

var floats = []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 12.5, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789012345678901234.0,
	math.MaxFloat64, math.SmallestNonzeroFloat64, -1e-9, 3.0000000000000004, math.Inf(1), math.NaN()}

func TestFastEncodingTricky(t *testing.T) {
	base := credo.Record{ID: 42, Subject: "11010519491231002X", Rule: "R", Authority: "court", CaseRef: "c",
		DecidedAt: times[1], EvidenceSHA256: "ab", FiledAt: times[1]}
	for _, s := range tricky {
		for field := range 7 {
			r := base
			switch field {
			case 0:
				r.Subject = s
			case 1:
				r.Rule = s
			case 2:
				r.Authority = s
			case 3:
				r.CaseRef = s
			case 4:
				r.EvidenceSHA256 = s
			case 5:
				r.EvidenceURI = s
			case 6:
				r.SubjectName = s
			}
			checkEncoding(t, &r, r.FiledAt, s)
		}
	}
	for _, tm := range times {
		for field := range 4 {
			r := base
			recorded := r.FiledAt
			switch field {
			case 0:
				r.DecidedAt = tm
			case 1:
				r.NotifiedAt = tm
			case 2:
				r.FiledAt = tm
			case 3:
				recorded = tm
			}
			checkEncoding(t, &r, recorded, "")
		}
	}
	for _, f := range floats {
		r := base
		r.Quantity = f
		checkEncoding(t, &r, r.FiledAt, "")
	}
	for _, id := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64} {
		r := base
		r.ID = id
		checkEncoding(t, &r, r.FiledAt, "")
	}
}

func TestFastEncodingRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		if rng.IntN(3) == 0 {
			return tricky[rng.IntN(len(tricky))]
		}
		b := make([]byte, rng.IntN(20))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return string(b)
	}
	tm := func() time.Time {
		if rng.IntN(4) == 0 {
			return times[rng.IntN(len(times))]
		}
		return time.Unix(rng.Int64N(1<<35)-1<<34, rng.Int64N(1e9)).In(time.FixedZone("", (rng.IntN(48)-24)*1800))
	}
	for range 20000 {
		r := credo.Record{ID: rng.Int64(), Subject: str(), Rule: str(), Authority: str(), CaseRef: str(),
			DecidedAt: tm(), NotifiedAt: tm(), EvidenceSHA256: str(), EvidenceURI: str(), SubjectName: str(), FiledAt: tm()}
		if rng.IntN(2) == 0 {
			r.Quantity = floats[rng.IntN(len(floats))]
		} else {
			r.Quantity = math.Float64frombits(rng.Uint64())
		}
		checkEncoding(t, &r, tm(), str())
	}
}

func FuzzFastEncoding(f *testing.F) {
	f.Add("11010519491231002X", "R", "court", "(2025)京0101执1号", "https://x/?a=1&b=2", "张三", 12.5, int64(1700000000), int64(5))
	f.Add("\u2028", "<", ">", "&", "\xff", "\x00", math.Inf(1), int64(-62135596800), int64(0))
	f.Fuzz(func(t *testing.T, subject, rule, authority, caseRef, uri, name string, q float64, sec, nsec int64) {
		tm := time.Unix(sec, nsec)
		r := credo.Record{ID: sec, Subject: subject, Rule: rule, Authority: authority, CaseRef: caseRef,
			DecidedAt: tm, EvidenceSHA256: name, EvidenceURI: uri, SubjectName: name, Quantity: q, FiledAt: tm.UTC()}
		checkEncoding(t, &r, tm, caseRef)
	})
}

// BenchmarkRecordFiled encodes a generated city's typical record (sealed
// fields, an evidence digest, a quantity) with the fast encoder and with
// the reflective one it must equal.
func BenchmarkRecordFiled(b *testing.B) {
	cst := time.FixedZone("CST", 8*3600)
	r := &credo.Record{ID: 123456789, Subject: "vp~gz7omss2pkbsjxzgz4xp", Rule: "VOLUNTEER_SERVICE", Authority: "volunteer.beijing",
		CaseRef: "c~vqvth722q5ihbosf", DecidedAt: time.Date(2024, 5, 1, 0, 0, 0, 0, cst), Quantity: 4,
		EvidenceSHA256: "7aa616eac0694119b3475066da11699ca420387e9eb53f2b46830d4cc0457099", Sealed: make([]byte, 72),
		FiledAt: time.Date(2024, 5, 3, 9, 0, 0, 0, time.UTC)}
	prev := "2b7af95def7ef26e61acadc9917d830450042b5fd5eb81ce9ffcde52378e4502"
	for _, path := range []string{"fast", "reflective"} {
		b.Run("path="+path, func(b *testing.B) {
			var buf []byte
			var err error
			for b.Loop() {
				if path == "fast" {
					buf, err = appendRecordFiledFast(buf[:0], r, r.FiledAt, prev)
				} else {
					buf, err = appendCanonical(buf[:0], recordFiledEvent(r, r.FiledAt, prev))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
