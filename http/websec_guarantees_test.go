package http_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"credo"
	"math/big"
	"net/http"
	"reflect"
	"strings"
	"testing"

	credohttp "credo/http"
)

// head returns the log's sequence number.
func (e *env) head(t *testing.T) int64 {
	t.Helper()
	seq, _, err := e.db.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func TestG16RepeatedRequestAppendsNothing(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	give := map[string]any{"scheme": "green", "given": true}
	if r := e.do("POST", "/v1/consents", "alice", give); r.status != http.StatusCreated {
		t.Fatalf("consent: %d %s", r.status, r.body)
	}
	before := e.head(t)
	for range 5 {
		if r := e.do("POST", "/v1/consents", "alice", give); r.status != http.StatusOK {
			t.Errorf("the same consent again: %d %s", r.status, r.body)
		}
	}
	if after := e.head(t); after != before {
		t.Errorf("the same consent five times more appended %d events", after-before)
	}
	// Withdrawing a consent never given changes nothing either.
	if r := e.do("POST", "/v1/consents", "bob", map[string]any{"scheme": "green", "given": false}); r.status != http.StatusConflict {
		t.Errorf("withdrawing a consent never given: %d %s", r.status, r.body)
	}
	// A change is appended, once.
	withdraw := map[string]any{"scheme": "green", "given": false}
	if r := e.do("POST", "/v1/consents", "alice", withdraw); r.status != http.StatusCreated {
		t.Errorf("withdrawal: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/consents", "alice", withdraw); r.status != http.StatusOK {
		t.Errorf("withdrawal again: %d %s", r.status, r.body)
	}
	if after := e.head(t); after != before+1 {
		t.Errorf("a withdrawal, twice, appended %d events, want 1", after-before)
	}
}

// sameAnswer fails unless two refusals are alike but for the id they name.
func sameAnswer(t *testing.T, what string, a, b *response, idA, idB string) {
	t.Helper()
	pa, pb := a.problem(t), b.problem(t)
	pb.Detail = strings.ReplaceAll(pb.Detail, idB, idA)
	if !reflect.DeepEqual(pa, pb) {
		t.Errorf("%s: someone else's answers %+v, a missing one %+v", what, pa, pb)
	}
}

func TestG14NoOracleInErrors(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	rec := e.file(alice, "(2025)O-1")
	const missing = 999999
	ids, idm := itoa(rec.ID), itoa(missing)

	// A subject asking about someone else's record: as if it did not exist.
	for _, path := range []string{"/v1/disputes", "/v1/repairs"} {
		body := func(id int64) map[string]any {
			return map[string]any{"record_id": id, "grounds": "x", "statement": "x", "commitment": true}
		}
		if path == "/v1/disputes" {
			body = func(id int64) map[string]any { return map[string]any{"record_id": id, "grounds": "x"} }
		}
		other := e.do("POST", path, "bob", body(rec.ID))
		none := e.do("POST", path, "bob", body(missing))
		if other.status != none.status {
			t.Errorf("POST %s on someone else's record: %d, on a missing one: %d", path, other.status, none.status)
		}
		sameAnswer(t, "POST "+path, other, none, ids, idm)
	}

	// A subject asking for someone else's check: as if it did not exist.
	chk := e.check("airline", alice, "aviation")
	fake := chk.CheckID[:len(chk.CheckID)-1] + string("01"[map[bool]int{true: 1}[chk.CheckID[len(chk.CheckID)-1] == '0']])
	other := e.do("GET", "/v1/checks/"+chk.CheckID, "bob", nil)
	none := e.do("GET", "/v1/checks/"+fake, "bob", nil)
	if other.status != http.StatusNotFound || none.status != http.StatusNotFound {
		t.Errorf("GET someone else's check: %d, a missing one: %d", other.status, none.status)
	}
	sameAnswer(t, "GET /v1/checks/{id}", other, none, chk.CheckID, fake)

	// An authority's refusals do not name who filed the record.
	d := e.openDispute(alice, "(2025)O-2")
	a := e.applyRepair(alice, "(2025)O-3")
	for _, c := range []struct {
		path string
		body any
	}{
		{"/v1/records/" + ids + "/revoke", map[string]string{"reason": "x"}},
		{"/v1/records/" + ids + "/fulfil", map[string]string{"reason": "x"}},
		{"/v1/disputes/" + itoa(d.ID) + "/decision", map[string]string{"outcome": "upheld", "reason": "x"}},
		{"/v1/repairs/" + itoa(a.ID) + "/decision", map[string]string{"outcome": "approved"}},
	} {
		r := e.do("POST", c.path, "water", c.body)
		if r.status != http.StatusForbidden {
			t.Errorf("POST %s as another authority: %d %s", c.path, r.status, r.body)
			continue
		}
		if p := r.problem(t); strings.Contains(p.Detail, "court.test") || strings.Contains(p.Detail, "People's Court") {
			t.Errorf("POST %s: the 403 names who filed the record: %s", c.path, p.Detail)
		}
	}
}

// Check ids are not enumerable: knowing one's own check id says nothing
// of the id of the next check, on somebody else.
func TestG14CheckIDsNotEnumerable(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	decode := func(s string) *big.Int {
		n := new(big.Int)
		for _, c := range s {
			n.Mul(n, big.NewInt(32))
			n.Add(n, big.NewInt(int64(strings.IndexRune(alphabet, c))))
		}
		return n
	}
	encode := func(n *big.Int, width int) string {
		out := make([]byte, width)
		n = new(big.Int).Set(n)
		m := new(big.Int)
		for i := width - 1; i >= 0; i-- {
			n.DivMod(n, big.NewInt(32), m)
			out[i] = alphabet[m.Int64()]
		}
		return string(out)
	}
	for round := range 20 {
		mine := e.check("airline", alice, "aviation").CheckID
		theirs := e.check("airline", bob, "aviation").CheckID
		// The attacker reads its own id (80 bits: milliseconds, a counter,
		// the server's instance) and tries the ids of the next 50 ms,
		// keeping any suffix it does not understand.
		v := decode(mine[:16])
		inst := new(big.Int).And(v, big.NewInt(0xffff))
		ms := new(big.Int).Rsh(v, 32)
		found := false
		for dt := int64(0); dt < 50 && !found; dt++ {
			for ctr := int64(0); ctr < 64 && !found; ctr++ {
				g := new(big.Int).Add(ms, big.NewInt(dt))
				g.Lsh(g, 16).Or(g, big.NewInt(ctr)).Lsh(g, 16).Or(g, inst)
				found = encode(g, 16)+mine[16:] == theirs
			}
		}
		if found {
			t.Fatalf("round %d: check id %s found from %s by counting", round, theirs, mine)
		}
	}
}

func TestG13FailedAuthenticationsAreRateLimited(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1, AuthFailures: 10})
	bad := "Bearer credo_" + strings.Repeat("x", 43)
	get := func(auth string) *response {
		req, _ := http.NewRequest("GET", e.ts.URL+"/v1/subjects/"+alice, nil)
		req.Header.Set("Authorization", auth)
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return &response{status: resp.StatusCode, header: resp.Header, body: b}
	}
	for i := range 10 {
		if r := get(bad); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := get(bad)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("11th failed attempt: %d %s", r.status, r.body)
	}
	// Not even a right guess is looked at until the bucket refills.
	if r := get(e.auth("alice")); r.status != http.StatusTooManyRequests {
		t.Errorf("a valid token from the same address: %d", r.status)
	}
	// Public requests are not affected.
	if r := e.do("GET", "/v1/policies", "", nil); r.status != http.StatusOK {
		t.Errorf("a public request: %d", r.status)
	}
}

func TestG13LiveOneTimeCodeAnsweredAsUnknown(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	const code = "ABCD1234EFGH5678"
	if err := e.tokens.CreateToken(context.Background(), &credo.Token{ID: "tok-code", Hash: credo.HashBytes([]byte(code)), Role: credo.RoleSubject,
		Name: credo.OneTimeCodeName, Subject: alice, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e.secret["code"], e.secret["nothing"] = code, "ABCD1234EFGH5679"
	live := e.do("GET", "/v1/subjects/"+alice, "code", nil)
	unknown := e.do("GET", "/v1/subjects/"+alice, "nothing", nil)
	if live.status != http.StatusUnauthorized {
		t.Fatalf("a live one-time code: %d %s", live.status, live.body)
	}
	sameAnswer(t, "a live one-time code and an unknown one", live, unknown, "", "")
}

// candidates returns every valid Resident Identity Card number consistent
// with a masked one ('*' for a hidden character) and the other published
// fields (age at asOf, sex), up to limit (-1: more than limit).
func candidates(masked string, entry map[string]any, asOf time.Time, limit int) []string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	var out []string
	seqs := []string{masked[14:17]}
	if strings.Contains(masked[14:17], "*") {
		seqs = nil
		for n := range 1000 {
			s := fmt.Sprintf("%03d", n)
			ok := true
			for i := range 3 {
				ok = ok && (masked[14+i] == '*' || masked[14+i] == s[i])
			}
			if ok {
				seqs = append(seqs, s)
			}
		}
	}
	for d := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); d.Before(asOf); d = d.AddDate(0, 0, 1) {
		if age, ok := entry["age"].(float64); ok {
			a := asOf.Year() - d.Year()
			if asOf.YearDay() < d.YearDay() {
				a--
			}
			if a != int(age) {
				continue
			}
		}
		for _, seq := range seqs {
			if sex, ok := entry["sex"].(string); ok && (seq[2]-'0')%2 == map[string]byte{"male": 1, "female": 0}[sex] == false {
				continue
			}
			base := masked[:6] + d.Format("20060102") + seq
			sum := 0
			for i, w := range weights {
				sum += int(base[i]-'0') * w
			}
			n := base + string("10X98765432"[sum%11])
			if masked[17] != '*' && masked[17] != n[17] {
				continue
			}
			if len(out) == limit {
				return append(out, "more")
			}
			out = append(out, n)
		}
	}
	return out
}

// An attacker with no token tries to recover a listed person's number
// from what the public list shows, and to confirm guesses by lookup.
func TestG10MaskedIdentifiersAreNotRecoverable(t *testing.T) {
	e := newEnv(t, credohttp.Options{})
	// The list publishes what the example policy publishes.
	src := strings.Replace(readFile(t, testPolicy), "    notice: 0d\n", "    notice: 0d\n    publish: [name, identifier, sex, age, obligation, case_ref, authority]\n", 1)
	if _, _, err := e.reg.Publish(context.Background(), "policy.yaml", []byte(src), e.reg.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.file(alice, "(2025)M-1")
	var pl credohttp.PublicList
	e.publicList("/v1/lists/debtors").decode(t, &pl)
	if len(pl.Entries) != 1 {
		t.Fatalf("public list: %+v", pl)
	}
	entry := pl.Entries[0]
	masked, _ := entry["identifier"].(string)
	if len(masked) != 18 || masked == alice {
		t.Fatalf("published identifier %q", masked)
	}
	// Offline: the numbers the published fields leave possible.
	const budget = 5000
	cands := candidates(masked, entry, pl.AsOf, budget)
	if len(cands) <= budget {
		t.Errorf("the published fields %v leave %d candidate numbers: %v", entry, len(cands), cands[:min(len(cands), 5)])
	}
	// Online: the lookup answers the right number exactly as it answers
	// any other number with the same mask.
	truth := e.do("GET", "/v1/lists/debtors?q="+alice, "", nil)
	if truth.status != http.StatusOK {
		t.Fatalf("lookup: %d %s", truth.status, truth.body)
	}
	tried := 0
	for _, c := range cands {
		if c == alice || c == "more" {
			continue
		}
		r := e.do("GET", "/v1/lists/debtors?q="+c, "", nil)
		var a, b credohttp.PublicList
		r.decode(t, &a)
		truth.decode(t, &b)
		a.AsOf, b.AsOf = time.Time{}, time.Time{}
		if r.status != truth.status || !reflect.DeepEqual(a, b) {
			t.Fatalf("the lookup tells %s (the listed person) from %s: %s vs %s", alice, c, truth.body, r.body)
		}
		if tried++; tried == 10 {
			break
		}
	}
	// And anonymous lookups are rate limited.
	limited := false
	for range 100 {
		if r := e.do("GET", "/v1/lists/debtors?q=Test", "", nil); r.status == http.StatusTooManyRequests {
			limited = r.header.Get("Retry-After") != ""
			break
		}
	}
	if !limited {
		t.Error("100 anonymous lookups in a row were all answered")
	}
}

// publicList asks for a public list anonymously, as anybody would, waiting
// (by polling) while the census behind it is being built in the
// background.
func (e *env) publicList(path string) *response {
	e.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r := e.do("GET", path, "", nil)
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return r
		}
	}
}

// Anonymous requests never scan the log: until a census exists they are
// told to come back, and a stale census is answered while a new one is
// built in the background.
func TestG15PublicListsNeverScanOnTheRequest(t *testing.T) {
	e := newEnv(t, credohttp.Options{CensusTTL: time.Hour})
	e.file(alice, "(2025)C-1")
	r := e.do("GET", "/v1/lists/debtors", "", nil)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("the first anonymous request, before any census: %d %s", r.status, r.body)
	}
	r = e.publicList("/v1/lists/debtors")
	var pl credohttp.PublicList
	r.decode(t, &pl)
	if r.status != http.StatusOK || pl.Total != 1 {
		t.Fatalf("once built: %d %s", r.status, r.body)
	}
	// A new record: the census (fresh for an hour) is answered as it is,
	// with its as-of instant; no request rebuilds it.
	e.file(bob, "(2025)C-2")
	var again credohttp.PublicList
	e.do("GET", "/v1/lists/debtors", "", nil).decode(t, &again)
	if again.Total != 1 || !again.AsOf.Equal(pl.AsOf) {
		t.Errorf("an anonymous request rebuilt the census: %+v", again)
	}
}

func TestG16RepeatedRecordChangeAppendsNothing(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	for _, path := range []string{"/revoke", "/fulfil"} {
		rec := e.file(alice, "(2025)A"+path)
		url := "/v1/records/" + itoa(rec.ID) + path
		first := e.do("POST", url, "court", map[string]string{"reason": "paid", "at": "2026-01-01"})
		if first.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, first.status, first.body)
		}
		before := e.head(t)
		for _, at := range []string{"2026-01-01", "2026-02-01", ""} {
			r := e.do("POST", url, "court", map[string]string{"reason": "paid", "at": at})
			if r.status != http.StatusOK || string(r.body) != string(first.body) {
				t.Errorf("%s again (at %q): %d %s", path, at, r.status, r.body)
			}
		}
		if after := e.head(t); after != before {
			t.Errorf("%s repeated three times appended %d events", path, after-before)
		}
		// An earlier instant does change something.
		if r := e.do("POST", url, "court", map[string]string{"reason": "paid earlier", "at": "2025-12-01"}); r.status != http.StatusOK || e.head(t) != before+1 {
			t.Errorf("%s at an earlier instant: %d, %d events", path, r.status, e.head(t)-before)
		}
	}
	// A void revocation after a plain one changes something too.
	rec := e.file(alice, "(2025)A-void")
	url := "/v1/records/" + itoa(rec.ID) + "/revoke"
	e.do("POST", url, "court", map[string]any{"reason": "error"})
	before := e.head(t)
	if r := e.do("POST", url, "court", map[string]any{"reason": "error", "void": true}); r.status != http.StatusOK || e.head(t) != before+1 {
		t.Errorf("a void revocation after a plain one: %d, %d events", r.status, e.head(t)-before)
	}
}
