package portal

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"credo"
)

// The keys built at run time from a prefix and a value, with every value
// they can take.
var dynamicKeys = func() []string {
	var out []string
	add := func(prefix string, vs ...string) {
		for _, v := range vs {
			out = append(out, prefix+v)
		}
	}
	add("status.", "allow", "limit", "deny", "grant", "black", "red", "watch", "pending", "active", "expired", "revoked", "fulfilled",
		"repaired", "disputed", "suspended", "no_rule", "open", "decided", "upheld", "corrected", "approved", "refused",
		"no_consent", "under_min_age", "suspend", "in_force")
	add("decide.outcome.", credo.OutcomeUpheld, credo.OutcomeCorrected, credo.OutcomeRevoked, credo.RepairApproved, credo.RepairRefused)
	add("field.", "name", "identifier", "sex", "age", "region", "obligation", "conduct", "case_ref", "authority", "since", "until")
	add("sex.", "male", "female")
	add("dash.", "checks", "denials", "checks.desc", "denials.desc")
	add("dur.", "d", "d.one", "wd", "wd.one", "mo", "mo.one", "y", "y.one")
	for _, f := range fileFields {
		out = append(out, "file."+f)
		if f != "rule" {
			out = append(out, "file."+f+".hint")
		}
	}
	for _, f := range []string{"at", "threshold", "min_group"} { // the "simfield" template
		out = append(out, "sim."+f, "sim."+f+".hint")
	}
	return out
}()

func TestCatalogueComplete(t *testing.T) {
	for _, lang := range languages {
		if catalogue[lang] == nil {
			t.Fatalf("no catalogue for %s", lang)
		}
	}
	for _, a := range languages {
		for _, b := range languages {
			for k := range catalogue[a] {
				if _, ok := catalogue[b][k]; !ok {
					t.Errorf("%q is in %s but not in %s", k, a, b)
				}
			}
		}
	}
	for lang, m := range catalogue {
		for k, v := range m {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %q is empty", lang, k)
			}
		}
	}
}

// keyUses finds catalogue keys in templates (.T "k", .Tf "k") and in Go
// code (tr(lang, "k"), T("k"), fail("k"), c.Tf("k")).
var keyUses = []*regexp.Regexp{
	regexp.MustCompile(`\.Tf? "([a-zA-Z0-9._]+)"`),
	regexp.MustCompile(`\btr\([a-zA-Z.]+, "([a-zA-Z0-9._]+)"\)`),
	regexp.MustCompile(`\bT\("([a-zA-Z0-9._]+)"\)`),
	regexp.MustCompile(`\bTf\("([a-zA-Z0-9._]+)"`),
	regexp.MustCompile(`\bfail\("([a-zA-Z0-9._]+)"\)`),
	regexp.MustCompile(`render\([^)]*"[a-z]+", "([a-zA-Z0-9._]+)"`),
}

func TestEveryKeyInCatalogue(t *testing.T) {
	srcs, err := templateSources()
	if err != nil {
		t.Fatal(err)
	}
	gofiles, _ := filepath.Glob("*.go")
	for _, f := range gofiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs[f] = string(b)
	}
	used := map[string]bool{}
	for name, src := range srcs {
		for _, re := range keyUses {
			for _, m := range re.FindAllStringSubmatch(src, -1) {
				used[m[1]] = true
				if _, ok := catalogue["en"][m[1]]; !ok {
					t.Errorf("%s uses %q, which is not in the catalogue", name, m[1])
				}
			}
		}
	}
	for _, k := range dynamicKeys {
		used[k] = true
		if _, ok := catalogue["en"][k]; !ok {
			t.Errorf("dynamic key %q is not in the catalogue", k)
		}
	}
	if len(used) < 200 {
		t.Fatalf("found only %d keys in use: the scan is broken", len(used))
	}
	for k := range catalogue["en"] {
		if !used[k] {
			t.Errorf("catalogue key %q is never used", k)
		}
	}
}

func TestPanicIsAPlainErrorPage(t *testing.T) {
	p := newBare(t)
	p.handle("GET /boom", anyone, func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		var m map[string]int
		//lint:ignore SA5000 the test needs a runtime panic, and a nil map write is one
		m["x"]++ // a nil map write: a runtime panic
		return nil
	})
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	id := rec.Header().Get("X-Request-Id")
	if id == "" || !strings.Contains(body, id) {
		t.Fatalf("no request id on the page: %q", id)
	}
	for _, leak := range []string{"goroutine", "panic", "nil map", ".go:"} {
		if strings.Contains(body, leak) {
			t.Errorf("the error page shows %q", leak)
		}
	}
	// An internal error is not shown either.
	p.handle("GET /fail", anyone, func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		return &credo.Error{Code: credo.EINTERNAL, Message: "database file /secret/path is corrupt"}
	})
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/fail", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "/secret/path") {
		t.Fatalf("status %d, body shows the internal message", rec.Code)
	}
}
