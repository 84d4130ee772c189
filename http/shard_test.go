package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo"
	credohttp "credo/http"
	"credo/registry"
	"credo/sqlite"
)

// ricIn returns a valid RIC of a person born in 1980 in region, numbered n.
func ricIn(region string, n int) string {
	base := fmt.Sprintf("%s19800101%03d", region, n%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(base[i]-'0') * w
	}
	return base + string("10X98765432"[sum%11])
}

var (
	dan      = ricIn("440300", 4) // Guangdong: shard south
	erin     = ricIn("440305", 5)
	traveler = "P:CHN:E12345678" // a passport: the default shard, west
)

// node is one shard's server.
type node struct {
	name string
	db   *sqlite.DB
	reg  *registry.Registry
	ts   *httptest.Server
}

// cluster is three shard nodes (north: Beijing; south: Guangdong; west:
// Sichuan and the default) with the same tokens.
type shardCluster struct {
	t      *testing.T
	nodes  map[string]*node
	secret map[string]string
	m      *registry.ShardMap
}

func newShardCluster(t *testing.T, forward bool) *shardCluster {
	t.Helper()
	ctx := context.Background()
	c := &shardCluster{t: t, nodes: map[string]*node{}, secret: map[string]string{}}
	provinces := map[string]string{"north": `["11", "12"]`, "south": `["44"]`, "west": `["51"]`}
	var doc strings.Builder
	doc.WriteString("default: west\nshards:\n")
	for _, n := range []string{"north", "south", "west"} {
		ts := httptest.NewUnstartedServer(nil)
		c.nodes[n] = &node{name: n, ts: ts}
		fmt.Fprintf(&doc, "  %s:\n    provinces: %s\n    url: http://%s/\n", n, provinces[n], ts.Listener.Addr())
	}
	m, err := registry.ParseShardMap("shards.yaml", []byte(doc.String()))
	if err != nil {
		t.Fatal(err)
	}
	c.m = m
	hashes := map[string]string{}
	for _, tk := range testTokens {
		c.secret[tk.Name], hashes[tk.Name] = credo.NewTokenSecret()
	}
	src, err := os.ReadFile(testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	for name, nd := range c.nodes {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), name+".db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		local := []string{name}
		reg, err := registry.Open(ctx, db, registry.Options{Accept: m.Refuser(local)})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := reg.Publish(ctx, "policy.yaml", src, time.Time{}); err != nil {
			t.Fatal(err)
		}
		for _, tk := range testTokens {
			tk.Hash, tk.Created = hashes[tk.Name], time.Now()
			if err := db.CreateToken(ctx, &tk); err != nil {
				t.Fatal(err)
			}
		}
		tokens, checks := stores(db)
		srv := credohttp.NewServer(reg, tokens, checks, credohttp.Options{RateLimit: -1,
			Shards: &credohttp.ShardOptions{Map: m, Local: local, Forward: forward}})
		nd.db, nd.reg = db, reg
		nd.ts.Config.Handler = srv.Handler()
		nd.ts.Start()
		t.Cleanup(func() {
			nd.ts.Close()
			srv.Close()
		})
	}
	return c
}

// do sends a request to a node.
func (c *shardCluster) do(node, method, path, token string, body any) *response {
	c.t.Helper()
	e := &env{t: c.t, ts: c.nodes[node].ts, secret: c.secret}
	return e.do(method, path, token, body)
}

func (c *shardCluster) check(node, subject string) (*response, credohttp.CheckResult) {
	c.t.Helper()
	r := c.do(node, "POST", "/v1/checks", "airline", map[string]string{"subject": subject, "sector": "aviation"})
	var res credohttp.CheckResult
	if r.status == http.StatusOK {
		r.decode(c.t, &res)
	}
	return r, res
}

func TestShardMapErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"default: a\nshards:\n  a: {provinces: [\"11\"], url: \"http://a\"}\n  b: {provinces: [\"11\"], url: \"http://b\"}\n", "province 11 (Beijing) is already in shard a"},
		{"default: a\nshards:\n  a: {provinces: [\"99\"], url: \"http://a\"}\n", `shards.a.provinces[0]: "99" is not a two-digit province code`},
		{"default: z\nshards:\n  a: {provinces: [\"11\"], url: \"http://a\"}\n", `default: "z" is not one of the shards (a)`},
		{"shards:\n  a: {provinces: [\"11\"], url: \"http://a\"}\n", "default: is required"},
		{"default: a\nshards:\n  a: {provinces: [\"11\"], url: \"a.example\"}\n", `shards.a.url: "a.example" is not an absolute http(s) base URL`},
		{"default: a\nshards:\n  a: {provinces: [\"11\"], url: \"http://a\", weight: 2}\n", "line 3: field weight not found"},
		{"default: a\nshards:\n  a: {provinces: [\"11\"], url: \"http://a\"}\n  b: {url: \"http://b\"}\n", "shards.b.provinces: at least one province code is required"},
	} {
		_, err := registry.ParseShardMap("shards.yaml", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(credo.ErrorMessage(err), "shards.yaml: ") {
			t.Errorf("%q: error %v, want one containing %q", tc.doc, err, tc.want)
		}
	}
	m, err := registry.ParseShardMap("shards.json", []byte(`{"default":"a","shards":{"a":{"provinces":["11"],"url":"http://a:1"},"b":{"provinces":["44","45"],"url":"https://b/credo/"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate([]string{"c"}); err == nil {
		t.Error("a node of an unknown shard was accepted")
	}
}

// TestShardForwarding: any node answers about any subject, from the
// owning shard's registry.
func TestShardForwarding(t *testing.T) {
	c := newShardCluster(t, true)
	// A record about dan (south), filed through north, lands in south.
	r := c.do("north", "POST", "/v1/records", "court", judgment(dan, "(2025)S-1"))
	if r.status != http.StatusCreated || r.header.Get(credohttp.ShardHeader) != "south" {
		t.Fatalf("filing through north: %d %q %s", r.status, r.header.Get(credohttp.ShardHeader), r.body)
	}
	for name, want := range map[string]int{"north": 0, "south": 1, "west": 0} {
		n := 0
		c.nodes[name].db.Subjects(context.Background(), func(string) error { n++; return nil })
		if n != want {
			t.Errorf("%s holds %d subjects, want %d", name, n, want)
		}
	}
	c.do("north", "POST", "/v1/records", "court", judgment(alice, "(2025)N-1"))
	for _, from := range []string{"north", "south", "west"} {
		for subject, want := range map[string]string{dan: "deny", alice: "deny", erin: "allow", traveler: "allow"} {
			r, res := c.check(from, subject)
			if r.status != http.StatusOK || res.Decision != want {
				t.Errorf("check %s on %s: %d %s, want %s", subject, from, r.status, r.body, want)
			}
		}
	}
	// A state read by the subject herself, through another shard.
	r = c.do("south", "GET", "/v1/subjects/"+alice, "alice", nil)
	if r.status != http.StatusOK || r.header.Get(credohttp.ShardHeader) != "north" || !strings.Contains(string(r.body), "(2025)N-1") {
		t.Errorf("alice's state through south: %d %q %s", r.status, r.header.Get(credohttp.ShardHeader), r.body)
	}
	// Forwarding keeps the caller's token: a token the owner refuses is
	// refused.
	r = c.do("south", "GET", "/v1/subjects/"+alice, "bob", nil)
	if r.status != http.StatusForbidden && r.status != http.StatusNotFound {
		t.Errorf("bob reading alice through south: %d %s", r.status, r.body)
	}

	t.Run("batch fans out and keeps the order", func(t *testing.T) {
		subjects := []string{dan, alice, "bad", traveler, erin, bob, dan}
		r := c.do("west", "POST", "/v1/checks/batch", "airline", map[string]any{"sector": "aviation", "subjects": subjects})
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var out credohttp.CheckBatchResponse
		r.decode(t, &out)
		want := []string{"deny", "deny", "", "allow", "allow", "allow", "deny"}
		if len(out.Decisions) != len(want) {
			t.Fatalf("%d decisions for %d subjects", len(out.Decisions), len(want))
		}
		for i, d := range out.Decisions {
			switch {
			case want[i] == "":
				if d.Error == nil || d.Error.Field != fmt.Sprintf("subjects[%d]", i) {
					t.Errorf("item %d: %+v, want an error on subjects[%d]", i, d, i)
				}
			case d.CheckResult == nil || d.Decision != want[i] || d.Subject != subjects[i]:
				t.Errorf("item %d (%s): %+v, want %s", i, subjects[i], d, want[i])
			}
		}
	})
	t.Run("a refusal of the whole batch is relayed", func(t *testing.T) {
		r := c.do("west", "POST", "/v1/checks/batch", "airline", map[string]any{"sector": "internet", "subjects": []string{dan, alice}})
		if r.status != http.StatusForbidden || r.problem(t).Field != "sector" {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
	batchLine := func(subject, rule, caseRef string) string {
		return fmt.Sprintf(`{"subject":%q,"rule":%q,"authority":"court.test","case_ref":%q,"decided_at":"2025-01-01","evidence_sha256":%q}`+"\n",
			subject, rule, caseRef, digest(caseRef))
	}
	recordsAt := func(node, subject string) int {
		evs, err := c.nodes[node].db.SubjectEvents(context.Background(), subject)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Type == credo.EventRecordFiled {
				n++
			}
		}
		return n
	}
	t.Run("a batch's lines are filed at their shards", func(t *testing.T) {
		lines := batchLine(bob, "JUDGMENT_DEFAULT", "B-1") + // north, here
			batchLine(erin, "JUDGMENT_DEFAULT", "B-2") + // south
			`{"subject":"oops"}` + "\n" + // bad here
			batchLine(traveler, "JUDGMENT_DEFAULT", "B-4") + // west
			batchLine(erin, "NO_SUCH_RULE", "B-5") + // south refuses it
			batchLine(dan, "JUDGMENT_DEFAULT", "B-6") // south
		r := c.do("north", "POST", "/v1/records/batch", "court", lines)
		var res credohttp.BatchResult
		r.decode(t, &res)
		if r.status != http.StatusOK || res.Lines != 6 || res.Filed != 4 || res.Present != 0 || res.RejectedTotal != 2 || len(res.Rejected) != 2 {
			t.Fatalf("mixed batch through north: %d %s", r.status, r.body)
		}
		if res.Rejected[0].Line != 3 || res.Rejected[1].Line != 5 || res.Rejected[1].Field != "rule" || !strings.Contains(res.Rejected[1].Reason, "NO_SUCH_RULE") {
			t.Errorf("rejected lines keep their numbers in the batch sent: %+v", res.Rejected)
		}
		for _, at := range []struct {
			node, subject string
			want          int
		}{{"north", bob, 1}, {"south", erin, 1}, {"west", traveler, 1}, {"south", dan, 2}, {"north", erin, 0}, {"north", dan, 0}} {
			if got := recordsAt(at.node, at.subject); got != at.want {
				t.Errorf("%s holds %d records of %s, want %d", at.node, got, at.subject, at.want)
			}
		}
		// Sent again: every line is already filed, wherever it was.
		r = c.do("north", "POST", "/v1/records/batch", "court", lines)
		r.decode(t, &res)
		if res.Filed != 0 || res.Present != 4 || res.RejectedTotal != 2 {
			t.Errorf("the same batch again: %s", r.body)
		}
	})
	t.Run("a shard refuses forwarded lines it does not serve", func(t *testing.T) {
		e := &env{t: t, ts: c.nodes["north"].ts, secret: c.secret}
		req, _ := http.NewRequest("POST", e.ts.URL+"/v1/records/batch", strings.NewReader(batchLine(bob, "JUDGMENT_DEFAULT", "B-7")+batchLine(erin, "JUDGMENT_DEFAULT", "B-8")))
		req.Header.Set("Authorization", e.auth("court"))
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set(credohttp.ForwardedHeader, "west")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var res credohttp.BatchResult
		json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if res.Filed != 1 || len(res.Rejected) != 1 || res.Rejected[0].Line != 2 || !strings.Contains(res.Rejected[0].Reason, "belongs to shard south") {
			t.Errorf("a forwarded batch with a foreign line: %+v", res)
		}
	})
	t.Run("a shard that does not answer", func(t *testing.T) {
		c.nodes["west"].ts.Close()
		r, _ := c.check("north", traveler)
		if r.status != http.StatusBadGateway || r.header.Get("Retry-After") == "" || !strings.Contains(r.problem(t).Detail, "shard west") {
			t.Errorf("check of a west subject with west down: %d %s", r.status, r.body)
		}
		r = c.do("north", "POST", "/v1/checks/batch", "airline", map[string]any{"sector": "aviation", "subjects": []string{alice, traveler}})
		var out credohttp.CheckBatchResponse
		r.decode(t, &out)
		if r.status != http.StatusOK || len(out.Decisions) != 2 || out.Decisions[0].CheckResult == nil || out.Decisions[0].Decision != "deny" ||
			out.Decisions[1].Error == nil || out.Decisions[1].Error.Status != http.StatusBadGateway {
			t.Errorf("batch with west down: %d %s", r.status, r.body)
		}
		lines := batchLine(alice, "JUDGMENT_DEFAULT", "W-1") + batchLine(traveler, "JUDGMENT_DEFAULT", "W-2") + batchLine(dan, "JUDGMENT_DEFAULT", "W-3")
		r = c.do("north", "POST", "/v1/records/batch", "court", lines)
		var res credohttp.BatchResult
		r.decode(t, &res)
		if r.status != http.StatusOK || res.Filed != 2 || len(res.Rejected) != 1 || res.Rejected[0].Line != 2 ||
			!strings.Contains(res.Rejected[0].Reason, "shard west") || !strings.Contains(res.Rejected[0].Reason, "re-send") {
			t.Errorf("filing a batch with west down: %d %s", r.status, r.body)
		}
	})
}

// TestShardMisdirected: with forwarding off, a request about another
// shard's subject is refused with 421 naming the shard.
func TestShardMisdirected(t *testing.T) {
	c := newShardCluster(t, false)
	r, _ := c.check("north", dan)
	if r.status != http.StatusMisdirectedRequest {
		t.Fatalf("check of a south subject on north: %d %s", r.status, r.body)
	}
	p := r.problem(t)
	if r.header.Get(credohttp.ShardHeader) != "south" || !strings.Contains(p.Detail, "belongs to shard south at "+c.m.Shards["south"].URL) || !strings.Contains(p.Detail, "44 Guangdong") {
		t.Errorf("421: %q %+v", r.header.Get(credohttp.ShardHeader), p)
	}
	r = c.do("north", "POST", "/v1/records", "court", judgment(dan, "(2025)S-2"))
	if r.status != http.StatusMisdirectedRequest {
		t.Errorf("filing a south record on north: %d %s", r.status, r.body)
	}
	r, res := c.check("north", alice)
	if r.status != http.StatusOK || res.Decision != "allow" {
		t.Errorf("own subject: %d %s", r.status, r.body)
	}
	r = c.do("north", "POST", "/v1/checks/batch", "airline", map[string]any{"sector": "aviation", "subjects": []string{alice, dan}})
	var out credohttp.CheckBatchResponse
	r.decode(t, &out)
	if len(out.Decisions) != 2 || out.Decisions[0].CheckResult == nil || out.Decisions[1].Error == nil || out.Decisions[1].Error.Status != http.StatusMisdirectedRequest {
		t.Errorf("batch: %s", r.body)
	}
	lines := fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"M-1","decided_at":"2025-01-01","evidence_sha256":%q}`+"\n"+
		`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"M-2","decided_at":"2025-01-01","evidence_sha256":%q}`+"\n",
		bob, digest("M-1"), erin, digest("M-2"))
	r = c.do("north", "POST", "/v1/records/batch", "court", lines)
	var br credohttp.BatchResult
	r.decode(t, &br)
	if br.Filed != 1 || len(br.Rejected) != 1 || br.Rejected[0].Line != 2 || !strings.Contains(br.Rejected[0].Reason, "belongs to shard south") {
		t.Errorf("batch with a foreign line, forwarding off: %d %s", r.status, r.body)
	}
	// A forwarded request is never forwarded again.
	c2 := newShardCluster(t, true)
	e := &env{t: t, ts: c2.nodes["north"].ts, secret: c2.secret}
	req, _ := http.NewRequest("GET", e.ts.URL+"/v1/subjects/"+dan, nil)
	req.Header.Set("Authorization", e.auth("admin"))
	req.Header.Set(credohttp.ForwardedHeader, "south")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("a forwarded request about a foreign subject: %d", resp.StatusCode)
	}
}
