package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // policies name IANA zones; don't depend on the host's zoneinfo

	"go.yaml.in/yaml/v3"

	"credo"
)

// Diagnostic is one finding about a policy, located by file and line.
type Diagnostic struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Warning bool   `json:"warning,omitempty"`
	Message string `json:"message"`
}

func (d Diagnostic) String() string {
	w := ""
	if d.Warning {
		w = "warning: "
	}
	return fmt.Sprintf("%s:%d: %s%s", d.File, d.Line, w, d.Message)
}

// Errors is the error Parse returns for a policy with errors: every error
// diagnostic, in line order.
type Errors []Diagnostic

func (e Errors) Error() string {
	var b strings.Builder
	for i, d := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// Messages returns the "FILE:LINE: message" lines of a policy that does
// not lint (err is, or wraps, Parse's Errors); ok is false for any other
// error.
func Messages(err error) (msgs []string, ok bool) {
	var perrs Errors
	if !errors.As(err, &perrs) {
		return nil, false
	}
	msgs = make([]string, len(perrs))
	for i, d := range perrs {
		msgs[i] = d.String()
	}
	return msgs, true
}

// Load reads and parses a policy file.
func Load(filename string) (*Policy, error) {
	src, err := os.ReadFile(filename)
	if err != nil {
		return nil, &credo.Error{Code: credo.EINVALID, Op: "policy.Load", Message: err.Error(), Err: err}
	}
	return Parse(filename, src)
}

// Hash returns the content hash that identifies a policy version.
func Hash(src []byte) string {
	h := sha256.Sum256(src)
	return hex.EncodeToString(h[:])
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Parse parses, validates, lints and compiles a policy. On errors it returns
// Errors (warnings are in Policy.Warnings when there are no errors).
func Parse(filename string, src []byte) (*Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, Errors{clampLine(yamlDiag(filename, err.Error()), src)}
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, Errors{{File: filename, Line: 1, Message: "empty policy document"}}
	}
	if errs := precheck(filename, root.Content[0]); errs != nil {
		return nil, errs
	}
	p := &Policy{File: filename}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var errs Errors
			for _, e := range te.Errors {
				errs = append(errs, clampLine(yamlDiag(filename, e), src))
			}
			sortDiags(errs)
			return nil, errs
		}
		return nil, Errors{clampLine(yamlDiag(filename, err.Error()), src)}
	}
	c := &checker{p: p, file: filename, lines: map[string]int{}}
	if n := mapValue(root.Content[0], "effective"); n != nil && n.Kind == yaml.ScalarNode {
		c.effective = n.Value
	}
	c.index(root.Content[0], "")
	c.validate()
	var errs Errors
	for _, d := range c.diags {
		if d.Warning {
			p.Warnings = append(p.Warnings, d)
		} else {
			errs = append(errs, d)
		}
	}
	sortDiags(p.Warnings)
	if errs != nil {
		sortDiags(errs)
		return nil, errs
	}
	return p, nil
}

// precheck reports the values the decoder would reject with a message
// that has no line and stops at: scheme bounds that are not a pair, and an
// effective instant that is neither an RFC 3339 instant nor a YAML date.
func precheck(filename string, doc *yaml.Node) Errors {
	var errs Errors
	if n := mapValue(doc, "effective"); n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" && n.ShortTag() != "!!timestamp" {
		if _, err := time.Parse(time.RFC3339Nano, n.Value); err != nil {
			errs = append(errs, Diagnostic{File: filename, Line: n.Line, Message: fmt.Sprintf("effective %q is not an instant: write an RFC 3339 instant (e.g. 2026-01-01T00:00:00+08:00) or an unquoted date (2026-01-01)", n.Value)})
		}
	}
	for _, sc := range seqItems(mapValue(doc, "schemes")) {
		b := mapValue(sc, "bounds")
		if b != nil && b.Kind == yaml.SequenceNode && len(b.Content) != 2 {
			errs = append(errs, Diagnostic{File: filename, Line: b.Line, Message: fmt.Sprintf("bounds must be [LOW, HIGH], not %d numbers", len(b.Content))})
		}
	}
	return errs
}

// mapValue returns the value of a key in a mapping node, following aliases,
// or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			for v != nil && v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

// seqItems returns the items of a sequence node, or nil.
func seqItems(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func sortDiags(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Line < ds[j].Line })
}

// clampLine keeps a diagnostic within the file: at the end of the input the
// yaml library reports the line after the last one.
func clampLine(d Diagnostic, src []byte) Diagnostic {
	if n := lineCount(src); d.Line > n {
		d.Line = max(n, 1)
	}
	return d
}

// lineCount counts the lines of src as YAML does: a line ends at CR LF, CR,
// LF, NEL, LS or PS; a final line without a break counts.
func lineCount(src []byte) int {
	s := string(src)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	n := 0
	last := rune(-1)
	for _, r := range s {
		switch r {
		case '\n', '\r', '\u0085', '\u2028', '\u2029':
			n++
		}
		last = r
	}
	switch last {
	case -1, '\n', '\r', '\u0085', '\u2028', '\u2029':
		return n
	}
	return n + 1
}

// parserProblems are the messages of the yaml library's parser errors,
// whose line numbers it reports counted from 0.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

var typeNameRE = regexp.MustCompile(`in type (?:\*?policy\.|\[\]\*?policy\.)?(\w+)`)

// yamlDiag turns a yaml library message into a diagnostic with the message
// reworded for a policy author.
func yamlDiag(file, msg string) Diagnostic {
	msg = strings.TrimPrefix(strings.TrimSpace(msg), "yaml: unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	d := Diagnostic{File: file, Line: 1, Message: msg}
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		d.Line, _ = strconv.Atoi(m[1])
		d.Message = m[2]
		if parserProblems[d.Message] {
			// yaml v3 numbers the lines of parser (not scanner)
			// errors from 0.
			d.Line++
		}
	}
	if strings.HasPrefix(d.Message, "field ") && strings.Contains(d.Message, " not found in type ") {
		name := strings.TrimPrefix(d.Message, "field ")
		name = name[:strings.Index(name, " ")]
		what := "policy"
		if m := typeNameRE.FindStringSubmatch(d.Message); m != nil && m[1] != "Policy" {
			what = strings.ToLower(m[1])
		}
		d.Message = fmt.Sprintf("unknown field %q in %s", name, what)
	}
	d.Message = strings.TrimPrefix(d.Message, "yaml: ")
	d.Message = strings.ReplaceAll(d.Message, "!!str", "text")
	d.Message = strings.ReplaceAll(d.Message, "!!int", "number")
	d.Message = strings.ReplaceAll(d.Message, "!!seq", "list")
	d.Message = strings.ReplaceAll(d.Message, "!!map", "mapping")
	return d
}

// localTime parses the YAML timestamps that carry no zone ("2026-01-01",
// "2026-01-01 08:00:00") as wall clock time in the policy's zone: a date
// alone means the start of that day where the policy applies, not UTC.
func localTime(s string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{"2006-1-2", "2006-1-2 15:4:5.999999999"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// checker validates a decoded policy, locating each finding by the YAML
// path of the offending value.
type checker struct {
	p     *Policy
	file  string
	lines map[string]int
	diags []Diagnostic

	effective string // the effective instant as written
	cost      uint64 // the summed worst-case cost of the conditions compiled
}

func (c *checker) index(n *yaml.Node, path string) {
	c.lines[path] = n.Line
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := k.Value
			if path != "" {
				sub = path + "." + k.Value
			}
			c.lines[sub+"#key"] = k.Line
			c.index(v, sub)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			c.index(v, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// line finds the line of a path, falling back to its nearest ancestor.
func (c *checker) line(path string) int {
	for path != "" {
		if l, ok := c.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 1
}

func (c *checker) errorf(path, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{File: c.file, Line: c.line(path), Message: fmt.Sprintf(format, args...)})
}

func (c *checker) warnf(path, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{File: c.file, Line: c.line(path), Warning: true, Message: fmt.Sprintf(format, args...)})
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*$`)

func (c *checker) checkID(path, what, id string, seen map[string]bool) bool {
	switch {
	case id == "":
		c.errorf(path, "%s: id is required", what)
		return false
	case !idRE.MatchString(id):
		c.errorf(path, "%s %q: ids use letters, digits, '.', '_' and '-'", what, id)
		return false
	case seen[id]:
		c.errorf(path, "%s %q is declared twice", what, id)
		return false
	}
	seen[id] = true
	return true
}

func (c *checker) checkSubjects(path, what string, subjects []string, required bool) {
	if len(subjects) == 0 && required {
		c.errorf(path, "%s: subjects is required (person, org or both)", what)
	}
	for i, s := range subjects {
		if _, ok := credo.ParseSubjectKind(s); !ok {
			c.errorf(fmt.Sprintf("%s[%d]", path, i), "%s: unknown subject kind %q (want person or org)", what, s)
		}
	}
}

// emptyEntries reports the entries of the policy's lists that are empty
// (a bare "-" or null): they decode to nothing that could be validated.
func (c *checker) emptyEntries() bool {
	p := c.p
	found := false
	check := func(section string, n int, isNil func(int) bool) {
		for i := 0; i < n; i++ {
			if isNil(i) {
				c.errorf(fmt.Sprintf("%s[%d]", section, i), "%s: entry %d is empty", section, i+1)
				found = true
			}
		}
	}
	check("authorities", len(p.Authorities), func(i int) bool { return p.Authorities[i] == nil })
	check("sectors", len(p.Sectors), func(i int) bool { return p.Sectors[i] == nil })
	check("schemes", len(p.Schemes), func(i int) bool { return p.Schemes[i] == nil })
	check("lists", len(p.Lists), func(i int) bool { return p.Lists[i] == nil })
	check("rules", len(p.Rules), func(i int) bool { return p.Rules[i] == nil })
	check("measures", len(p.Measures), func(i int) bool { return p.Measures[i] == nil })
	return found
}

func (c *checker) validate() {
	p := c.p
	if c.emptyEntries() {
		return
	}
	c.validateHeader()
	c.validateLanguages()
	if t, ok := localTime(c.effective, p.Calendar.Loc); ok {
		p.Effective = t
	}
	c.validateAuthorities()
	c.validateSectors()
	p.schemeByID = map[string]*Scheme{}
	seen := map[string]bool{}
	for i, s := range p.Schemes {
		c.validateScheme(fmt.Sprintf("schemes[%d]", i), s, seen)
		s.index = i
	}
	c.validateProcedures()
	env, ok := c.validateLists()
	if !ok {
		return
	}
	c.validateRules()
	c.validateMeasures(env)
	c.validateRetention()
	if c.cost > MaxPolicyCost {
		c.errorf("", "the policy's conditions may together cost up to %d units to evaluate for one subject, more than the %d allowed: simplify them", c.cost, MaxPolicyCost)
	}
}

// validateHeader checks the name, the effective instant and the time zone,
// and builds the calendar from the zone, holidays and workdays.
func (c *checker) validateHeader() {
	p := c.p
	if p.Name == "" {
		c.errorf("name", "name is required")
	}
	if p.Effective.IsZero() {
		c.errorf("effective", "effective is required (an RFC 3339 instant, e.g. 2026-01-01T00:00:00+08:00)")
	}
	cal := &Calendar{Loc: time.UTC, Holidays: map[Date]bool{}, Workdays: map[Date]bool{}}
	if p.Timezone == "" {
		c.errorf("timezone", "timezone is required (an IANA zone, e.g. Asia/Shanghai)")
	} else if loc, err := time.LoadLocation(p.Timezone); err != nil {
		c.errorf("timezone", "unknown time zone %q", p.Timezone)
	} else {
		cal.Loc = loc
	}
	c.dates("holidays", p.Holidays, cal.Holidays)
	c.dates("workdays", p.Workdays, cal.Workdays)
	p.Calendar = cal
}

// dates parses the dates of a calendar field into set.
func (c *checker) dates(field string, ss []string, set map[Date]bool) {
	for i, s := range ss {
		if d, err := ParseDate(s); err != nil {
			c.errorf(fmt.Sprintf("%s[%d]", field, i), "%s: %v", field, err)
		} else {
			set[d] = true
		}
	}
}

// validateAuthorities checks the authorities and their appeal_to.
func (c *checker) validateAuthorities() {
	p := c.p
	p.authorityByID = map[string]*Authority{}
	seen := map[string]bool{}
	for i, a := range p.Authorities {
		path := fmt.Sprintf("authorities[%d]", i)
		if c.checkID(path+".id", "authority", a.ID, seen) {
			p.authorityByID[a.ID] = a
		}
		if a.Name.IsZero() {
			c.errorf(path, "authority %s: name is required", a.ID)
		}
	}
	for i, a := range p.Authorities {
		if a.AppealTo != "" && p.authorityByID[a.AppealTo] == nil {
			c.errorf(fmt.Sprintf("authorities[%d].appeal_to", i), "authority %s: appeal_to names undeclared authority %q", a.ID, a.AppealTo)
		}
	}
}

// validateSectors checks the sectors.
func (c *checker) validateSectors() {
	p := c.p
	p.sectorByID = map[string]*Sector{}
	seen := map[string]bool{}
	for i, s := range p.Sectors {
		path := fmt.Sprintf("sectors[%d]", i)
		if c.checkID(path+".id", "sector", s.ID, seen) {
			p.sectorByID[s.ID] = s
		}
		if s.Domain == "" {
			c.errorf(path, "sector %s: domain is required (what field of life the sector belongs to)", s.ID)
		}
	}
}

// validateLists checks the lists, then compiles the conditions of derived
// lists (which may name other lists) and checks the contest texts. It
// returns the condition environment, and false if there is none.
func (c *checker) validateLists() (*celEnv, bool) {
	p := c.p
	p.listByID = map[string]*List{}
	seen := map[string]bool{}
	for i, l := range p.Lists {
		path := fmt.Sprintf("lists[%d]", i)
		if c.checkID(path+".id", "list", l.ID, seen) {
			p.listByID[l.ID] = l
		}
		l.index = i
		c.validateList(path, l)
	}
	env, err := newEnv()
	if err != nil {
		c.errorf("", "internal error: %v", err)
		return nil, false
	}
	for i, l := range p.Lists {
		if l.When != "" {
			path := fmt.Sprintf("lists[%d]", i)
			cond := c.compile(env, path+".when", "list "+l.ID, l.When, false)
			l.prg = cond.prg
			l.tierDeps = c.tierDeps(cond)
			if l.SuspendedDuringDispute() && cond.prg != nil && len(cond.schemes) == 0 && !cond.anyScheme {
				c.errorf(path+".during_dispute", "list %s: during_dispute: suspended cannot apply: the list is derived from a condition that reads no tier or score, so no objection to a record can suspend it (a list it names is suspended by its own during_dispute); remove the setting", l.ID)
			}
		}
		c.checkContest(fmt.Sprintf("lists[%d]", i), l)
	}
	return env, true
}

// validateRules checks the rules.
func (c *checker) validateRules() {
	p := c.p
	p.ruleByCode = map[string]*Rule{}
	seen := map[string]bool{}
	for i, r := range p.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if c.checkID(path+".code", "rule", r.Code, seen) {
			p.ruleByCode[r.Code] = r
		}
		c.validateRule(path, r)
	}
}

// validateMeasures checks the measures (at most MaxMeasures) and indexes
// them by sector.
func (c *checker) validateMeasures(env *celEnv) {
	p := c.p
	p.measureByID = map[string]*Measure{}
	p.sectorMeasures = map[string][]int{}
	seen := map[string]bool{}
	if len(p.Measures) > MaxMeasures {
		c.errorf("measures", "a policy may declare at most %d measures, this one has %d", MaxMeasures, len(p.Measures))
	}
	for i, m := range p.Measures {
		path := fmt.Sprintf("measures[%d]", i)
		if c.checkID(path+".id", "measure", m.ID, seen) {
			p.measureByID[m.ID] = m
		}
		m.index = i
		c.validateMeasure(env, path, m)
		if i < MaxMeasures {
			p.sectorMeasures[m.Sector] = append(p.sectorMeasures[m.Sector], i)
		}
	}
}

// tierDeps is the schemes a condition's answer is a function of, directly
// or through the derived lists it names ("*": some scheme it does not
// name).
func (c *checker) tierDeps(cond condition) []string {
	deps := append([]string(nil), cond.schemes...)
	if cond.anyScheme {
		deps = append(deps, "*")
	}
	for _, lid := range cond.lists {
		if l := c.p.listByID[lid]; l != nil {
			for _, d := range l.tierDeps {
				if !contains(deps, d) {
					deps = append(deps, d)
				}
			}
		}
	}
	sort.Strings(deps)
	return deps
}

// durationRE finds the deadlines a contest text states: "15 days", "3
// working days", "60日", "3个工作日", "2 months".
var durationRE = regexp.MustCompile(`(?i)(\d+)\s*(working days?|work ?days?|days?|months?|years?|个工作日|工作日|日|天|个月|月|年)`)

// checkContest refuses a list's contest text that states a deadline its
// dispute procedure does not have: the notice and every decision quote
// the text beside the procedure's deadlines, which are the ones the
// registry tracks, and must never give two different deadlines for one
// step.
func (c *checker) checkContest(path string, l *List) {
	if l.Contest.IsZero() {
		return
	}
	proc := c.p.DisputeProcedureFor(l)
	name := l.DisputeProcedure
	if _, ok := c.p.Procedures.Profiles[name]; !ok {
		name = "procedures.dispute"
	} else {
		name = "profile " + name
	}
	have := []Duration{proc.Review, proc.Correct, proc.AppealFile, proc.AppealDecide, proc.Extension, c.p.Procedures.Repair.Decide}
	for _, m := range durationRE.FindAllStringSubmatch(strings.Join(l.Contest.all(), "\n"), -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		u := strings.ToLower(m[2])
		if n >= 1900 && (u == "年" || strings.HasPrefix(u, "year")) {
			continue // a calendar year (2017年), not a period
		}
		var d Duration
		switch {
		case strings.Contains(u, "work") || strings.Contains(u, "工作日"):
			d = Duration{n, WorkDays}
		case strings.HasPrefix(u, "day") || u == "日" || u == "天":
			d = Duration{n, Days}
		case strings.HasPrefix(u, "month") || strings.Contains(u, "月"):
			d = Duration{n, Months}
		default:
			d = Duration{n, Years}
		}
		found := false
		for _, h := range have {
			if h == d {
				found = true
			}
		}
		if !found {
			var list []string
			for _, x := range []struct {
				k string
				d Duration
			}{{"review", proc.Review}, {"correct", proc.Correct}, {"appeal_file", proc.AppealFile}, {"appeal_decide", proc.AppealDecide}, {"extension", proc.Extension}} {
				if !x.d.IsZero() {
					list = append(list, x.k+" "+x.d.String())
				}
			}
			c.errorf(path+".contest", "list %s: contest states a deadline of %q that its dispute procedure (%s: %s) does not have: a notice would give two different deadlines for one step; set dispute_procedure to a profile with this deadline, or correct the text", l.ID, m[0], name, strings.Join(list, ", "))
		}
	}
}

// MaxMeasures is the most measures one policy may declare: decision entries
// keep the measures in force as a fixed-size bitmask.
const MaxMeasures = 128

func (c *checker) validateScheme(path string, s *Scheme, seen map[string]bool) {
	if c.checkID(path+".id", "scheme", s.ID, seen) {
		c.p.schemeByID[s.ID] = s
	}
	what := "scheme " + s.ID
	c.checkSubjects(path+".subjects", what, s.Subjects, true)
	if s.Bounds[0] >= s.Bounds[1] {
		c.errorf(path+".bounds", "%s: bounds must be [LOW, HIGH] with LOW < HIGH", what)
	} else if s.Base < s.Bounds[0] || s.Base > s.Bounds[1] {
		c.errorf(path+".base", "%s: base %d is outside the bounds [%d, %d]", what, s.Base, s.Bounds[0], s.Bounds[1])
	}
	if s.MinAge < 0 {
		c.errorf(path+".min_age", "%s: min_age must not be negative", what)
	}
	switch s.Consent {
	case "", "required", "not_required":
	default:
		c.errorf(path+".consent", "%s: consent must be required or not_required, not %q", what, s.Consent)
	}
	if len(s.Tiers) == 0 {
		c.errorf(path+".tiers", "%s: at least one tier is required", what)
	}
	names := map[string]bool{}
	for i, t := range s.Tiers {
		tp := fmt.Sprintf("%s.tiers[%d]", path, i)
		if t.Name == "" {
			c.errorf(tp, "%s: tier %d has no name", what, i+1)
		}
		if names[t.Name] {
			c.errorf(tp, "%s: tier %s is declared twice", what, t.Name)
		}
		names[t.Name] = true
		if i > 0 && t.Min >= s.Tiers[i-1].Min {
			c.errorf(tp, "%s: tiers must be listed from highest to lowest; %s (%d) is not below %s (%d)", what, t.Name, t.Min, s.Tiers[i-1].Name, s.Tiers[i-1].Min)
		}
	}
	if n := len(s.Tiers); n > 0 && s.Tiers[n-1].Min > s.Bounds[0] {
		c.errorf(path+".tiers", "%s: the lowest tier %s starts at %d, above the lower bound %d: some scores would have no tier", what, s.Tiers[n-1].Name, s.Tiers[n-1].Min, s.Bounds[0])
	}
}

func (c *checker) validateDispute(path string, d DisputeProcedure) {
	if d.Review.IsZero() {
		c.errorf(path+".review", "%s: review deadline is required", path)
	}
	switch d.Overdue {
	case "", "suspend", "in_force":
	default:
		c.errorf(path+".overdue", "%s: overdue must be suspend or in_force, not %q", path, d.Overdue)
	}
}

func (c *checker) validateProcedures() {
	pr := c.p.Procedures
	c.validateDispute("procedures.dispute", pr.Dispute)
	if pr.Repair.Decide.IsZero() {
		c.errorf("procedures.repair", "procedures.repair: decide deadline is required")
	}
	names := make([]string, 0, len(pr.Profiles))
	for n := range pr.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c.validateDispute("procedures.profiles."+n, pr.Profiles[n])
	}
}

var listKinds = []string{"black", "red", "watch"}

// PublishableFields are the fields a public list may show (docs/domain.md: the
// SPC list publishes these; never a score).
var PublishableFields = []string{"name", "identifier", "sex", "age", "region", "obligation", "conduct", "case_ref", "authority", "since", "until"}

func (c *checker) validateList(path string, l *List) {
	what := "list " + l.ID
	if !contains(listKinds, l.Kind) {
		c.errorf(path+".kind", "%s: kind must be black, red or watch, not %q", what, l.Kind)
	}
	if l.LegalBasis.IsZero() {
		c.errorf(path, "%s: legal_basis is required (principle 1: every list cites the law behind it)", what)
	}
	switch l.DuringDispute {
	case "", "in_force", "suspended":
	default:
		c.errorf(path+".during_dispute", "%s: during_dispute must be in_force or suspended, not %q", what, l.DuringDispute)
	}
	if l.DisputeProcedure != "" {
		if _, ok := c.p.Procedures.Profiles[l.DisputeProcedure]; !ok {
			c.errorf(path+".dispute_procedure", "%s: dispute_procedure %q is not among procedures.profiles", what, l.DisputeProcedure)
		}
	}
	if l.Domain == "" {
		c.errorf(path, "%s: domain is required (the field of life its legal basis concerns)", what)
	}
	for i, f := range l.Publish {
		if !contains(PublishableFields, f) {
			c.errorf(fmt.Sprintf("%s.publish[%d]", path, i), "%s: publish field %q is not one of %s", what, f, strings.Join(PublishableFields, ", "))
		}
	}
	if len(l.Publish) > 0 && !l.Public {
		c.errorf(path+".publish", "%s: publish is set but the list is not public", what)
	}
	if l.Public && len(l.Publish) == 0 {
		l.Publish = []string{"name", "identifier", "obligation", "case_ref", "authority"}
	}
}

// repairMinimum is the NDRC minimum publication period by severity (2026
// measures): minor records may be repaired at once, general after 3 months,
// serious after 1 year.
var repairMinimum = map[string]Duration{"minor": {0, Days}, "general": {3, Months}, "serious": {1, Years}}

// shorter reports whether a is shorter than b. Months and years compare
// exactly (12mo is 1y); a span in days or working days is compared in
// approximate days (a month is 30 days, a year 365, a working day 7/5).
func shorter(a, b Duration) bool {
	if months(a) >= 0 && months(b) >= 0 {
		return months(a) < months(b)
	}
	return approxDays(a) < approxDays(b)
}

// months returns a span in months, or -1 when it is in days or working
// days. The zero duration is 0 months.
func months(d Duration) int {
	switch {
	case d.IsZero() || d.N == 0:
		return 0
	case d.Unit == Months:
		return d.N
	case d.Unit == Years:
		return 12 * d.N
	}
	return -1
}

func approxDays(d Duration) int {
	switch d.Unit {
	case Days:
		return d.N
	case WorkDays:
		return d.N * 7 / 5
	case Months:
		return d.N * 30
	case Years:
		return d.N * 365
	}
	return 0
}

func (c *checker) validateRule(path string, r *Rule) {
	what := "rule " + r.Code
	if r.LegalBasis.IsZero() {
		c.errorf(path, "%s: legal_basis is required (principle 1: no record without a source)", what)
	}
	if len(r.Authorities) == 0 {
		c.errorf(path, "%s: authorities is required (who may file it)", what)
	}
	c.checkAuthorityPatterns(path, what, r.Authorities)
	c.checkSubjects(path+".subjects", what, r.Subjects, true)
	if _, ok := repairMinimum[r.Severity]; !ok {
		c.errorf(path+".severity", "%s: severity must be minor, general or serious, not %q", what, r.Severity)
	}
	if r.Lifetime.IsZero() || r.Lifetime.N == 0 {
		c.errorf(path, "%s: lifetime is required and must be more than zero (principle 3: nothing counts forever)", what)
	}
	c.validateRulePoints(path, what, r)
	c.validateRuleLists(path, what, r)
	if r.Repair.IsAllowed() {
		if minimum, ok := repairMinimum[r.Severity]; ok && shorter(r.Repair.After, minimum) {
			c.warnf(path+".repair", "%s: repair after %s is shorter than the NDRC minimum for %s records (%s)", what, orZero(r.Repair.After), r.Severity, orZero(minimum))
		}
	}
}

// checkAuthorityPatterns refuses a rule's authority pattern that matches
// no declared authority.
func (c *checker) checkAuthorityPatterns(path, what string, patterns []string) {
	for i, pat := range patterns {
		ok := false
		for _, a := range c.p.Authorities {
			if matchPattern(pat, a.ID) {
				ok = true
				break
			}
		}
		if !ok {
			c.errorf(fmt.Sprintf("%s.authorities[%d]", path, i), "%s: authority pattern %q matches no declared authority", what, pat)
		}
	}
}

// validateRulePoints checks a rule's points, scheme by scheme.
func (c *checker) validateRulePoints(path, what string, r *Rule) {
	schemes := make([]string, 0, len(r.Points))
	for s := range r.Points {
		schemes = append(schemes, s)
	}
	sort.Strings(schemes)
	for _, sid := range schemes {
		ps := r.Points[sid]
		pp := path + ".points." + sid
		sc := c.p.schemeByID[sid]
		if sc == nil {
			c.errorf(pp, "%s: points for undeclared scheme %q", what, sid)
			continue
		}
		applies := false
		for _, k := range r.Subjects {
			applies = applies || sc.Applies(k)
		}
		if !applies {
			c.errorf(pp, "%s: scheme %s scores %s, none of the rule's subjects", what, sid, strings.Join(sc.Subjects, ", "))
		}
		if (ps.Each != 0) == (ps.PerUnit != 0) {
			c.errorf(pp, "%s: points for %s need exactly one of a fixed number (each) or per_unit", what, sid)
		}
		if ps.PerUnit != 0 && ps.Unit == "" {
			c.errorf(pp, "%s: points for %s: per_unit needs a unit (e.g. hour)", what, sid)
		}
		if ps.Cap < 0 {
			c.errorf(pp+".cap", "%s: cap must not be negative", what)
		}
		if ps.Cap > 0 && ps.Per.IsZero() {
			c.errorf(pp, "%s: points for %s: cap needs a window (per: 1y)", what, sid)
		}
	}
}

// validateRuleLists checks the listings a rule enters, in list order.
func (c *checker) validateRuleLists(path, what string, r *Rule) {
	listIDs := make([]string, 0, len(r.Lists))
	for lid := range r.Lists {
		listIDs = append(listIDs, lid)
	}
	sort.Strings(listIDs)
	r.listOrder = listIDs
	for _, lid := range listIDs {
		ls := r.Lists[lid]
		lp := path + ".lists." + lid
		l := c.p.listByID[lid]
		switch {
		case l == nil:
			c.errorf(lp, "%s: enters undeclared list %q", what, lid)
			continue
		case l.Derived():
			c.errorf(lp, "%s: list %s is derived by a condition; rules cannot enter it", what, lid)
		}
		switch {
		case ls.UntilFulfilled && !ls.Period.IsZero():
			c.errorf(lp, "%s: listing on %s has both a period and until_fulfilled; choose one", what, lid)
		case ls.UntilFulfilled && ls.Max.IsZero():
			c.errorf(lp, "%s: listing on %s until_fulfilled needs a maximum ({until_fulfilled: true, max: 5y}) (principle 3)", what, lid)
		case !ls.UntilFulfilled && (ls.Period.IsZero() || ls.Period.N == 0):
			c.errorf(lp, "%s: listing on %s needs a period or until_fulfilled with a maximum (principle 3)", what, lid)
		}
	}
}

func orZero(d Duration) string {
	if d.IsZero() || d.N == 0 {
		return "0d"
	}
	return d.String()
}

var effects = []string{"deny", "limit", "grant"}

func (c *checker) validateMeasure(env *celEnv, path string, m *Measure) {
	p := c.p
	what := "measure " + m.ID
	if m.Sector == "" {
		c.errorf(path, "%s: sector is required", what)
	} else if p.sectorByID[m.Sector] == nil {
		c.errorf(path+".sector", "%s: sector %q is not declared under sectors", what, m.Sector)
	}
	if !contains(effects, m.Effect) {
		c.errorf(path+".effect", "%s: effect must be deny, limit or grant, not %q", what, m.Effect)
	}
	if m.Effect == "limit" && len(m.Params) == 0 {
		c.errorf(path, "%s: a limit needs params (e.g. {max_mbps: 2})", what)
	}
	if m.Effect != "limit" && len(m.Params) > 0 {
		c.errorf(path+".params", "%s: params only apply to limit measures", what)
	}
	if m.LegalBasis.IsZero() {
		c.errorf(path, "%s: legal_basis is required (principle 1)", what)
	}
	c.checkSubjects(path+".subjects", what, m.Subjects, false)
	for i, r := range m.ExtendsTo {
		if !contains(linkRoles, r) {
			c.errorf(fmt.Sprintf("%s.extends_to[%d]", path, i), "%s: extends_to role %q is not one of %s", what, r, strings.Join(linkRoles, ", "))
		}
	}
	if m.When == "" {
		c.errorf(path, "%s: when is required (the condition under which it applies)", what)
		return
	}
	cond := c.compile(env, path+".when", what, m.When, m.Sanction())
	m.prg = cond.prg
	m.listRef = cond.lists
	refs := cond.lists
	if m.Effect == "grant" && cond.prg != nil {
		c.checkGrantDisclosure(path, m, cond)
	}
	if m.Sanction() {
		sec := p.sectorByID[m.Sector]
		for _, lid := range refs {
			l := p.listByID[lid]
			if l == nil || sec == nil || l.Domain == "" {
				continue
			}
			if sec.Domain != l.Domain && !contains(l.RelatedDomains, sec.Domain) {
				c.warnf(path, "%s: sanction in sector %s (domain %s) uses list %s (domain %s): an unrelated context (EU AI Act Art. 5(1)(c)); add %s to the list's related_domains only if its legal basis covers it", what, m.Sector, sec.Domain, lid, l.Domain, sec.Domain)
			}
		}
	}
}

var linkRoles = []string{credo.RoleLegalRepresentative, credo.RolePrincipal, credo.RoleActualController, credo.RoleDirectlyResponsible}

// LinkRoles returns the roles a responsible person can hold.
func LinkRoles() []string { return append([]string(nil), linkRoles...) }

// checkGrantDisclosure warns of a grant whose answer is a function of a
// tier or score (directly, or through a list derived from one): the
// provider of its sector, told "grant", learns something of the subject's
// tier, which principle 7 keeps from it.
func (c *checker) checkGrantDisclosure(path string, m *Measure, cond condition) {
	deps := c.tierDeps(cond)
	if len(deps) == 0 {
		return
	}
	var via []string
	for _, lid := range cond.lists {
		if l := c.p.listByID[lid]; l != nil && len(l.tierDeps) > 0 {
			via = append(via, lid)
		}
	}
	schemes := strings.Join(deps, ", ")
	if schemes == "*" {
		schemes = "some scheme"
	}
	how := "its condition reads the tier"
	if len(via) > 0 {
		how = "list " + strings.Join(via, ", ") + " is derived from the tier"
	}
	c.warnf(path, "measure %s: grant in sector %s reveals a tier: %s (%s), so a provider told \"grant\" learns something of the subject's tier (principle 7: a provider learns allow / limit / deny, never a score); base the reward on a list a rule enters, or make the disclosure known to those who consent to the scheme", m.ID, m.Sector, how, schemes)
}
