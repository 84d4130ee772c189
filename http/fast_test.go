package http

// Internal tests of the hot path's hand-written JSON: it must agree
// exactly with encoding/json.

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func FuzzParseCheckFast(f *testing.F) {
	for _, s := range []string{
		`{"subject":"110105198001010011","sector":"aviation"}`,
		` { "sector" : "rail" , "subject":"x" } `,
		`{}`, `{"subject":"a"}`, `{"subject":"a","subject":"b"}`, `{"subject":"a",}`,
		`{"subject":"a\"b"}`, `{"x":"y"}`, `{"subject":1}`, `[]`, `{"subject":"a"} x`, "{\"subject\":\"\xff\"}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var fast CheckRequest
		if !parseCheckFast([]byte(body), &fast) {
			return
		}
		var slow CheckRequest
		if err := unmarshalStrict([]byte(body), &slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", body, err)
		}
		if fast != slow {
			t.Fatalf("%q: fast %+v, encoding/json %+v", body, fast, slow)
		}
	})
}

func TestAppendAllow(t *testing.T) {
	for _, c := range []CheckResult{
		{CheckID: "01abc", Subject: "110105198001010011", Sector: "aviation", Decision: "allow", Reasons: noReasons, Policy: "ab12", At: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), LogPosition: 1234567},
		{CheckID: "x", Subject: "P:CHN:E1<2>&", Sector: "航空\"\\\n", Decision: "allow", Reasons: noReasons, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 8*3600))},
	} {
		var want bytes.Buffer
		json.NewEncoder(&want).Encode(&c)
		if got := appendAllow(nil, &c); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendAllow:\n%s\nencoding/json:\n%s", got, want.Bytes())
		}
	}
}
