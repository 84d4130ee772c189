package credo_test

// The house rules of the repository itself (issue 16, "the house"): a clone
// alone explains the system, every package says what it is for, and the
// packages depend on each other only the way docs/architecture.md says.

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// outsideRef matches a reference to a file outside the repository: the
// steering folder's design documents (whose in-repo copies live under docs/
// in lower case), a sibling checkout, or an absolute path of the machine the
// project was built on. The pattern is written so that it does not match
// its own source.
var outsideRef = regexp.MustCompile(`\.\./shared|shared/doc[s]\b|/wor[k]/|\b(DESIGN|DOMAIN|STYLE)(\.md\b|\s*§)`)

// scanned reports whether a file is text the repository ships and a reader
// follows references in: source, documentation, policies, schemas, scripts,
// pages.
func scanned(p string) bool {
	switch path.Base(p) {
	case "Makefile", "run":
		return true
	}
	switch path.Ext(p) {
	case ".go", ".md", ".yaml", ".yml", ".sql", ".sh", ".lua", ".html", ".css", ".json", ".mod":
		return true
	}
	return false
}

// repoFiles returns the slash paths, relative to the repository root, of
// the files under it that scanned accepts, leaving out .git and anything
// a build or a test leaves behind in a working tree (untracked files named
// in .gitignore are not the repository's, but the test cannot ask git).
func repoFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (d.Name() == ".git" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if p = filepath.ToSlash(p); scanned(p) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestH01NoReferenceOutsideRepo(t *testing.T) {
	files := repoFiles(t)
	if !slices.Contains(files, "README.md") || !slices.Contains(files, "docs/architecture.md") {
		t.Fatalf("walked %d files without README.md and docs/architecture.md: not at the repository root?", len(files))
	}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for n := 1; sc.Scan(); n++ {
			if m := outsideRef.FindString(sc.Text()); m != "" {
				t.Errorf("%s:%d: %q refers to a file outside the repository; point it at docs/ (design.md, domain.md, architecture.md, policy.md)", p, n, m)
			}
		}
		if err := sc.Err(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		f.Close()
	}
}

func TestH01OutsideRefPattern(t *testing.T) {
	// Escaped so that this file does not match the pattern itself.
	for _, s := range []string{
		"See [DESIGN](..\u002fshared\u002fdocs/DESIGN\u002emd).",
		"// Roles a bearer token can hold (DESIGN\u0020§6).",
		"built from Credo's DOMAIN\u002emd.",
		"# every semantic of DESIGN\u0020§4",
		"see /work\u002fnotes",
		"STYLE\u002emd says so",
	} {
		if !outsideRef.MatchString(s) {
			t.Errorf("%q is not caught", s)
		}
	}
	for _, s := range []string{
		"// Roles a bearer token can hold (docs/design.md §6).",
		"built from Credo's docs/domain.md.",
		"See [docs/architecture.md](docs/architecture.md).",
		"the policy's DESIGNATED authority",
	} {
		if outsideRef.MatchString(s) {
			t.Errorf("%q is caught", s)
		}
	}
}

// goPackage is one directory's non-test Go files, parsed up to their
// imports with comments.
type goPackage struct {
	dir, name string // slash path relative to the root; package name
	files     map[string]*ast.File
}

// importPath returns the package's import path in module credo.
func (p *goPackage) importPath() string {
	if p.dir == "." {
		return "credo"
	}
	return "credo/" + p.dir
}

// goPackages parses every package of the module (testdata and hidden
// directories aside, as the go command does).
func goPackages(t *testing.T) []*goPackage {
	t.Helper()
	var pkgs []*goPackage
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); p != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		var byName map[string]*goPackage
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(p, n), nil, parser.ImportsOnly|parser.ParseComments)
			if err != nil {
				return err
			}
			if ignored(f) {
				continue
			}
			if byName == nil {
				byName = map[string]*goPackage{}
			}
			pkg := byName[f.Name.Name]
			if pkg == nil {
				pkg = &goPackage{dir: filepath.ToSlash(p), name: f.Name.Name, files: map[string]*ast.File{}}
				byName[f.Name.Name] = pkg
				pkgs = append(pkgs, pkg)
			}
			pkg.files[n] = f
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("found %d packages: not at the repository root?", len(pkgs))
	}
	return pkgs
}

// ignored reports whether a file is excluded from every build by a
// "//go:build ignore" line (a generator run with go run, not a package file).
func ignored(f *ast.File) bool {
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		for _, c := range cg.List {
			if strings.TrimSpace(c.Text) == "//go:build ignore" {
				return true
			}
		}
	}
	return false
}

func TestH01PackageDocs(t *testing.T) {
	for _, pkg := range goPackages(t) {
		var docFiles []string
		for n, f := range pkg.files {
			if f.Doc != nil {
				docFiles = append(docFiles, n)
			}
		}
		sort.Strings(docFiles)
		want, where := "Package "+pkg.name+" ", []string{"doc.go", pkg.name + ".go"}
		if pkg.name == "main" {
			want, where = "Command "+path.Base(pkg.dir)+" ", []string{"doc.go", "main.go"}
		}
		switch len(docFiles) {
		case 0:
			t.Errorf("%s: no package doc comment: add one, starting %q, in %s", pkg.dir, want, strings.Join(where, " or "))
			continue
		case 1:
		default:
			t.Errorf("%s: package doc comments in %s: keep one, in %s", pkg.dir, strings.Join(docFiles, ", "), strings.Join(where, " or "))
			continue
		}
		n := docFiles[0]
		if !slices.Contains(where, n) {
			t.Errorf("%s: the package doc comment is in %s: move it to %s", pkg.dir, n, strings.Join(where, " or "))
		}
		text := pkg.files[n].Doc.Text()
		if !strings.HasPrefix(text, want) {
			t.Errorf("%s/%s: the package doc starts %q, want %q (go doc shows it first: say what the package is for)", pkg.dir, n, firstLine(text), want)
			continue
		}
		// The first paragraph says what the package is for: more than a name.
		para, _, _ := strings.Cut(text, "\n\n")
		if words := len(strings.Fields(para)); words < 6 {
			t.Errorf("%s/%s: the package doc's first paragraph has %d words: say what the package is for", pkg.dir, n, words)
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// importRule is one dependency rule of docs/architecture.md ("Packages and
// what each may import"): a package either lists all it may import of the
// project (allow, plus any credo/internal/ package, except for the root), or
// what it must not (deny), directly or through another package of the
// project (denyDeps).
type importRule struct {
	pkg      string
	allow    []string // nil: no allow-list
	deny     []string
	denyDeps []string
	why      string
}

var importRules = []importRule{
	{pkg: "credo", allow: []string{}, why: "the root package is the domain: every package imports it and it imports none of them"},
	{pkg: "credo/ident", allow: []string{"credo"}, why: "identifiers are the lowest layer"},
	{pkg: "credo/policy", allow: []string{"credo", "credo/ident"}, why: "the policy format knows the domain and identifiers, nothing that runs"},
	{pkg: "credo/engine", allow: []string{"credo", "credo/ident", "credo/policy"}, why: "the engine is pure: no store, no service, no I/O"},
	{pkg: "credo/sqlite", deny: storeDeny, why: "a store keeps the log and does not interpret the policy"},
	{pkg: "credo/postgres", deny: storeDeny, why: "a store keeps the log and does not interpret the policy"},
	{pkg: "credo/storetest", deny: storeDeny, why: "the conformance suite speaks the store interfaces only"},
	{pkg: "credo/registry", deny: []string{"credo/http", "credo/http/portal", "credo/sqlite", "credo/postgres", "credo/cmd/credo", "credo/storetest"}, why: "the service layer knows neither the transport nor a concrete store"},
	{pkg: "credo/http/portal", denyDeps: []string{"credo/http", "credo/cmd/credo"}, why: "the portal depends on the services (registry, simulate, the store interfaces), not on the API package"},
}

var storeDeny = []string{"credo/policy", "credo/engine", "credo/registry", "credo/http", "credo/http/portal", "credo/simulate", "credo/synth", "credo/cmd/credo"}

// importChain returns a chain of imports from one package of the project to
// another (from first, to last), or nil if from does not depend on to.
func importChain(imports map[string][]string, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range imports[p] {
			if _, seen := prev[imp]; seen {
				continue
			}
			prev[imp] = p
			if imp == to {
				chain := []string{to}
				for q := p; q != ""; q = prev[q] {
					chain = append([]string{q}, chain...)
				}
				return chain
			}
			queue = append(queue, imp)
		}
	}
	return nil
}

func TestH03ImportChain(t *testing.T) {
	imports := map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d", "e"}, "e": {"a"}}
	if got := strings.Join(importChain(imports, "a", "e"), " "); got != "a c e" {
		t.Errorf("a to e: %q", got)
	}
	if got := strings.Join(importChain(imports, "b", "d"), " "); got != "b d" {
		t.Errorf("b to d: %q", got)
	}
	if got := importChain(imports, "b", "a"); got != nil {
		t.Errorf("b to a: %q", got)
	}
}

func TestH01ImportRules(t *testing.T) {
	pkgs := goPackages(t)
	imports := map[string][]string{}
	for _, pkg := range pkgs {
		seen := map[string]bool{}
		for _, f := range pkg.files {
			for _, is := range f.Imports {
				p, err := strconv.Unquote(is.Path.Value)
				if err != nil {
					t.Fatal(err)
				}
				if (p == "credo" || strings.HasPrefix(p, "credo/")) && !seen[p] {
					seen[p] = true
					imports[pkg.importPath()] = append(imports[pkg.importPath()], p)
				}
			}
		}
	}
	for _, r := range importRules {
		found := false
		for _, pkg := range pkgs {
			found = found || pkg.importPath() == r.pkg
		}
		if !found {
			t.Errorf("%s: no such package: update importRules and docs/architecture.md", r.pkg)
			continue
		}
		for _, imp := range imports[r.pkg] {
			bad := false
			if r.allow != nil {
				internal := strings.HasPrefix(imp, "credo/internal/") && r.pkg != "credo"
				bad = !internal && !slices.Contains(r.allow, imp)
			}
			bad = bad || slices.Contains(r.deny, imp)
			if bad {
				t.Errorf("%s imports %s: %s (docs/architecture.md)", r.pkg, imp, r.why)
			}
		}
		for _, dep := range r.denyDeps {
			if via := importChain(imports, r.pkg, dep); via != nil {
				t.Errorf("%s depends on %s (%s): %s (docs/architecture.md)", r.pkg, dep, strings.Join(via, " -> "), r.why)
			}
		}
	}
	// Only the wiring (cmd/) and the benchmark tools choose a concrete store.
	for _, pkg := range pkgs {
		ip := pkg.importPath()
		if strings.HasPrefix(ip, "credo/cmd/") || strings.HasPrefix(ip, "credo/bench/") {
			continue
		}
		for _, imp := range imports[ip] {
			if imp == "credo/sqlite" || imp == "credo/postgres" {
				t.Errorf("%s imports %s: only cmd/ wires a concrete store; depend on the credo store interfaces (docs/architecture.md)", ip, imp)
			}
		}
	}
}

// TestH03TransportOnly: package http is transport (handlers, encoding, the
// client, the forwarding between shards). What answers and logs checks
// (the check-log batcher, check ids), mints token secrets and holds the
// province shard map is the service's (registry, the root package): no
// file of package http declares it, nor writes the check log or creates
// tokens itself.
func TestH03TransportOnly(t *testing.T) {
	banned := map[string]string{
		"checkBatcher":   "the check-log batcher is registry/checklog.go",
		"commitGroup":    "the check-log batcher is registry/checklog.go",
		"checkIDs":       "check ids are registry/checkid.go",
		"ShardMap":       "the shard map is registry/shardmap.go",
		"Shard":          "the shard map is registry/shardmap.go",
		"ParseShardMap":  "the shard map is registry/shardmap.go",
		"LoadShardMap":   "the shard map is registry/shardmap.go",
		"NewTokenSecret": "token secrets are minted by credo.NewTokenSecret (tokensecret.go)",
		"TokenPrefix":    "token secrets are minted by credo.NewTokenSecret (tokensecret.go)",
		"secretSum":      "a token secret's hash is credo.TokenSecretSum",
	}
	calls := map[string]string{
		"LogChecks":   "only the registry's check service writes the check log (registry.Checks)",
		"CreateToken": "tokens are issued by the registry (Registry.IssueToken)",
	}
	files, err := filepath.Glob("http/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in http/: %v", err)
	}
	fset := token.NewFileSet()
	for _, p := range files {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if why, ok := banned[d.Name.Name]; ok && d.Recv == nil {
					t.Errorf("%s declares func %s: %s", p, d.Name.Name, why)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					var names []*ast.Ident
					switch s := s.(type) {
					case *ast.TypeSpec:
						names = []*ast.Ident{s.Name}
					case *ast.ValueSpec:
						names = s.Names
					}
					for _, n := range names {
						if why, ok := banned[n.Name]; ok {
							t.Errorf("%s declares %s: %s", p, n.Name, why)
						}
					}
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if why, ok := calls[sel.Sel.Name]; ok {
					t.Errorf("%s: calls %s: %s", fset.Position(sel.Pos()), sel.Sel.Name, why)
				}
			}
			return true
		})
	}
}

// TestH04NoStoreCapabilityAssertions: the registry takes one store
// interface, composed statically (credo.RegistryStore), so nothing
// discovers what its store can do by a run-time type assertion. The two
// truly optional behaviours (registry.Notifier, a replica's PrimaryHead)
// are the only ones left asserted.
func TestH04NoStoreCapabilityAssertions(t *testing.T) {
	composed := []string{"NoticeStore", "DueProcessStore", "ProjectionVerifier", "EventReader", "RegistryStore", "typedEventReader", "Ping"}
	fset := token.NewFileSet()
	for _, dir := range []string{"registry", "http", "http/portal", "cmd/credo", "simulate"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no files in %s: %v", dir, err)
		}
		for _, p := range files {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, p, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				ta, ok := n.(*ast.TypeAssertExpr)
				if !ok || ta.Type == nil {
					return true
				}
				var names []string
				ast.Inspect(ta.Type, func(n ast.Node) bool {
					if id, ok := n.(*ast.Ident); ok {
						names = append(names, id.Name)
					}
					return true
				})
				for _, c := range composed {
					if slices.Contains(names, c) {
						t.Errorf("%s: a run-time assertion of %s on a store: it is part of credo.RegistryStore, call it", fset.Position(ta.Pos()), c)
					}
				}
				return true
			})
		}
	}
}
