package portal_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"credo/policies"
)

// simDraft is the Beijing policy with late utility fees costing 400
// points (were 20): alice, who consents to the civic score and owes the
// waterworks, drops tiers; nobody else changes.
func simDraft(t *testing.T) string {
	t.Helper()
	src := string(policies.Beijing)
	i := strings.Index(src, "code: LATE_UTILITY_FEES")
	j := strings.Index(src[i:], "points: {civic: -20}")
	if i < 0 || j < 0 {
		t.Fatal("the Beijing policy changed: update the draft")
	}
	return src[:i+j] + "points: {civic: -400}" + src[i+j+len("points: {civic: -20}"):]
}

// postMultipart submits the simulation form as a browser does (multipart,
// with the CSRF token of the form page), with an optional file.
func (b *browser) postMultipart(t *testing.T, fields map[string]string, fileName, file string) *page {
	t.Helper()
	pg := b.get("/dashboard/simulate")
	m := csrfField.FindStringSubmatch(pg.body)
	if m == nil {
		t.Fatalf("no CSRF field on the simulation page (status %d)", pg.status)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", m[1])
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("policy_file", fileName)
	io.WriteString(fw, file)
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.ts.URL+"/dashboard/simulate", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	all, _ := io.ReadAll(resp.Body)
	return &page{status: resp.StatusCode, header: resp.Header, body: string(all)}
}

func TestSimulatePageAccess(t *testing.T) {
	e := newEnv(t)
	if pg := e.visitor().get("/dashboard/simulate"); pg.status != http.StatusSeeOther ||
		pg.header.Get("Location") != "/signin?next="+url.QueryEscape("/dashboard/simulate") {
		t.Errorf("anonymous: status %d, Location %q", pg.status, pg.header.Get("Location"))
	}
	for _, tok := range []string{"tok-alice", "tok-chaoyang"} {
		b := e.signedIn(tok)
		if pg := b.get("/dashboard/simulate"); pg.status != http.StatusForbidden {
			t.Errorf("%s GET: status %d", tok, pg.status)
		}
		// Not even a well-formed POST runs anything.
		pg := b.post("/", "/dashboard/simulate", url.Values{"policy": {simDraft(t)}})
		if pg.status != http.StatusForbidden || strings.Contains(pg.body, "<svg") {
			t.Errorf("%s POST: status %d", tok, pg.status)
		}
	}
	for _, tok := range []string{"tok-admin", "tok-auditor"} {
		pg := e.signedIn(tok).get("/dashboard/simulate")
		if pg.status != http.StatusOK {
			t.Fatalf("%s: status %d", tok, pg.status)
		}
		pg.mustContain(t, `enctype="multipart/form-data"`, `<textarea id="policy"`, `type="file"`, `name="csrf"`)
	}
	// The dashboard links to it.
	e.signedIn("tok-admin").get("/dashboard").mustContain(t, `href="/dashboard/simulate"`)
	// Without the CSRF token: refused.
	b := e.signedIn("tok-admin")
	if pg := b.do("POST", "/dashboard/simulate", url.Values{"policy": {simDraft(t)}}); pg.status != http.StatusForbidden {
		t.Errorf("no CSRF token: status %d", pg.status)
	}
}

func TestSimulatePageBadInput(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("tok-admin")
	draft := simDraft(t)

	// Lint errors: a 400 page with FILE:LINE messages next to the
	// textarea, which keeps what was typed.
	bad := strings.Replace(draft, "lifetime: 5y", "lifetime: forever", 1)
	pg := b.post("/dashboard/simulate", "/dashboard/simulate", url.Values{"policy": {bad}, "threshold": {"0.7"}})
	if pg.status != http.StatusBadRequest {
		t.Fatalf("lint errors: status %d", pg.status)
	}
	pg.mustContain(t, `id="policy-problems"`, "draft.yaml:", "lifetime: forever", `value="0.7"`)
	if pg.fieldError("policy") == "" {
		t.Error("no message at the policy field")
	}
	if strings.Contains(pg.body, "<svg") {
		t.Error("a report was shown for a draft with errors")
	}

	// Not YAML at all.
	pg = b.post("/dashboard/simulate", "/dashboard/simulate", url.Values{"policy": {"name: [unclosed"}})
	if pg.status != http.StatusBadRequest || pg.fieldError("policy") == "" && !strings.Contains(pg.body, "policy-problems") {
		t.Errorf("not YAML: status %d", pg.status)
	}
	pg.mustContain(t, "name: [unclosed")

	for _, tc := range []struct {
		name, field string
		form        url.Values
	}{
		{"empty", "policy", url.Values{"policy": {"  \n"}}},
		{"bad threshold", "threshold", url.Values{"policy": {draft}, "threshold": {"1.5"}}},
		{"threshold not a number", "threshold", url.Values{"policy": {draft}, "threshold": {"abc"}}},
		{"bad min_group", "min_group", url.Values{"policy": {draft}, "min_group": {"0"}}},
		{"bad instant", "at", url.Values{"policy": {draft}, "at": {"yesterday"}}},
		{"no policy in force", "at", url.Values{"policy": {draft}, "at": {"1990-01-01"}}},
	} {
		pg := b.post("/dashboard/simulate", "/dashboard/simulate", tc.form)
		if pg.status != http.StatusBadRequest {
			t.Errorf("%s: status %d", tc.name, pg.status)
			continue
		}
		if pg.fieldError(tc.field) == "" {
			t.Errorf("%s: no message at %s", tc.name, tc.field)
		}
		if strings.Contains(pg.body, "<svg") {
			t.Errorf("%s: a report was shown", tc.name)
		}
	}
}

func TestSimulatePageReport(t *testing.T) {
	e := newEnv(t)
	draft := simDraft(t)

	// The administrator sees the report, with alice among the most
	// affected, and the way back.
	pg := e.signedIn("tok-admin").post("/dashboard/simulate", "/dashboard/simulate",
		url.Values{"policy": {draft}, "min_group": {"1"}, "threshold": {"0.8"}})
	if pg.status != http.StatusOK {
		t.Fatalf("status %d: %.400s", pg.status, pg.body)
	}
	pg.mustContain(t, `<b id="n-changed">1</b>`, `<svg id=`, `id="affected"`, "<code>"+alice+"</code>", `id="sim-back"`, `href="/dashboard/simulate"`)
	pg.mustNotContain(t, "<code>"+bob+"</code>")
	if csp := pg.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}

	// The auditor's report: the same counts, no subject identifier.
	pg = e.signedIn("tok-auditor").post("/dashboard/simulate", "/dashboard/simulate",
		url.Values{"policy": {draft}, "min_group": {"1"}})
	if pg.status != http.StatusOK {
		t.Fatalf("auditor: status %d: %.400s", pg.status, pg.body)
	}
	pg.mustContain(t, `<b id="n-changed">1</b>`, `<svg id=`)
	pg.mustNotContain(t, alice, bob, company, `id="affected"`)

	// Uploaded as a file (the textarea left empty), in Chinese.
	b := e.signedIn("tok-admin")
	b.lang = "zh-CN"
	pg = b.postMultipart(t, map[string]string{"policy": "", "min_group": "1"}, "draft.yaml", draft)
	if pg.status != http.StatusOK {
		t.Fatalf("upload: status %d: %.400s", pg.status, pg.body)
	}
	pg.mustContain(t, `<b id="n-changed">1</b>`, "政策影响模拟", "模拟其他草案")

	// An uploaded file with errors comes back in the textarea.
	pg = b.postMultipart(t, nil, "draft.yaml", strings.Replace(draft, "lifetime: 5y", "lifetime: forever", 1))
	if pg.status != http.StatusBadRequest {
		t.Fatalf("bad upload: status %d", pg.status)
	}
	pg.mustContain(t, "draft.yaml:", "lifetime: forever")
}
