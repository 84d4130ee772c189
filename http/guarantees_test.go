package http_test

import (
	"strings"
	"testing"

	credohttp "credo/http"
)

// TestG04KindOfSubject holds issue 14 item 4 in the API: eighteen digits
// that read both as an ID card number and as a credit code need a "kind"
// in records (JSON and NDJSON) and checks (the fast path, the strict
// decoder and batches); without it they are refused with a 400 that says
// so.
func TestG04KindOfSubject(t *testing.T) {
	e := newEnv(t, credohttp.Options{})
	const amb = "331101196109044709" // a valid ID card number; as a USCC only its check character is wrong
	rec := func(kind, ref string) string {
		k := ""
		if kind != "" {
			k = `,"kind":"` + kind + `"`
		}
		return `{"subject":"` + amb + `","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"` + ref + `","decided_at":"2025-01-01","evidence_sha256":"` + digest("x") + `"` + k + `}`
	}
	r := e.do("POST", "/v1/records", "court", rec("", "G04-1"))
	if p := r.problem(t); r.status != 400 || p.Field != "subject" || !strings.Contains(p.Detail, `"kind"`) {
		t.Fatalf("record without kind: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1/records", "court", rec("person", "G04-1"))
	if r.status != 201 || !strings.Contains(string(r.body), `"subject":"RIC:`+amb+`"`) || strings.Contains(string(r.body), `"kind"`) {
		t.Fatalf("record with kind: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1/records/batch", "court", rec("person", "G04-2")+"\n")
	if r.status >= 300 {
		t.Fatalf("NDJSON line with kind: %d %s", r.status, r.body)
	}

	for _, body := range []string{
		`{"subject":"` + amb + `","sector":"aviation"}`,           // fast path
		`{"subject": "` + amb + `", "sector": "aviation"}`,        // fast path, spaced
		`{"sector":"aviation","subject":"` + amb + `","kind":""}`, // explicit empty kind
	} {
		r = e.do("POST", "/v1/checks", "airline", body)
		if p := r.problem(t); r.status != 400 || p.Field != "subject" || !strings.Contains(p.Detail, "person or org") {
			t.Fatalf("check %s: %d %s", body, r.status, r.body)
		}
	}
	for _, body := range []string{
		`{"subject":"` + amb + `","sector":"aviation","kind":"person"}`,
		`{"kind":"person","sector":"aviation","subject":"` + amb + `"}`,
		`{"subject":"RIC:` + amb + `","sector":"aviation"}`,
		"{\"subject\":\"" + amb + "\",\"sector\":\"aviation\",\"kind\":\"pers\\u006fn\"}", // escaped: the strict decoder
	} {
		r = e.do("POST", "/v1/checks", "airline", body)
		if r.status != 200 || !strings.Contains(string(r.body), `"decision":"deny"`) || !strings.Contains(string(r.body), `"subject":"RIC:`+amb+`"`) {
			t.Fatalf("check %s: %d %s", body, r.status, r.body)
		}
	}
	r = e.do("POST", "/v1/checks", "airline", `{"subject":"`+amb+`","sector":"aviation","kind":"company"}`)
	if p := r.problem(t); r.status != 400 || p.Field != "kind" {
		t.Fatalf("check with a bad kind: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1/checks/batch", "airline", `{"sector":"aviation","kind":"person","subjects":["`+amb+`"]}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"decision":"deny"`) {
		t.Fatalf("batch with kind: %d %s", r.status, r.body)
	}
}
