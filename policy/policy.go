// Package policy loads, validates, lints and compiles Credo policy documents:
// the versioned YAML that says which authorities may file what, how records
// turn into points, tiers and listings, and which measures follow from them.
package policy

import (
	"time"

	"cel.dev/cel-go/cel"
)

// Policy is a loaded, validated and compiled policy document.
type Policy struct {
	Name        string       `yaml:"name"`
	Version     string       `yaml:"version"`
	Source      string       `yaml:"source"`
	Effective   time.Time    `yaml:"effective"`
	Timezone    string       `yaml:"timezone"`
	Languages   []string     `yaml:"languages"` // the languages its texts are written in, first the one of plain strings
	Holidays    []string     `yaml:"holidays"`  // YYYY-MM-DD
	Workdays    []string     `yaml:"workdays"`  // make-up working days on weekends
	Authorities []*Authority `yaml:"authorities"`
	Sectors     []*Sector    `yaml:"sectors"`
	Schemes     []*Scheme    `yaml:"schemes"`
	Lists       []*List      `yaml:"lists"`
	Rules       []*Rule      `yaml:"rules"`
	Measures    []*Measure   `yaml:"measures"`
	Procedures  Procedures   `yaml:"procedures"`
	// CheckLog says how long the log of checks run on a subject is kept
	// after each check (policy/retention.go).
	CheckLog Retention `yaml:"check_log"`

	// Filled by Parse.
	File     string       `yaml:"-"` // the file it was loaded from, for messages
	Calendar *Calendar    `yaml:"-"`
	Warnings []Diagnostic `yaml:"-"`

	authorityByID  map[string]*Authority
	sectorByID     map[string]*Sector
	schemeByID     map[string]*Scheme
	listByID       map[string]*List
	ruleByCode     map[string]*Rule
	measureByID    map[string]*Measure
	sectorMeasures map[string][]int
	usesSubject    bool
}

// Authority is a body that files records: a court, a bureau, a regulator.
type Authority struct {
	ID       string `yaml:"id"`
	Name     Text   `yaml:"name"`
	Kind     string `yaml:"kind"`
	AppealTo string `yaml:"appeal_to"` // the authority that hears appeals against its dispute decisions
}

// Sector is a field of service in which measures apply (aviation, rail...).
// Its domain is what the lint compares with the domains of lists to warn of
// sanctions in unrelated contexts (EU AI Act Art. 5(1)(c)).
type Sector struct {
	ID     string `yaml:"id"`
	Title  Text   `yaml:"title"`
	Domain string `yaml:"domain"`
}

// Scheme is a points account: base, bounds, tiers and who is scored.
type Scheme struct {
	ID       string   `yaml:"id"`
	Title    Text     `yaml:"title"`
	Subjects []string `yaml:"subjects"` // person, org
	Base     int      `yaml:"base"`
	Bounds   [2]int   `yaml:"bounds"`
	MinAge   int      `yaml:"min_age"`
	Consent  string   `yaml:"consent"` // required | not_required
	Tiers    []Tier   `yaml:"tiers"`   // highest first
	Source   string   `yaml:"source"`

	index int
}

// Tier is a named band of a scheme's score: the tier applies from Min up to
// the next tier's minimum.
type Tier struct {
	Name    string
	Min     int
	Meaning Text
}

// ConsentRequired reports whether the scheme scores only subjects who opted in.
func (s *Scheme) ConsentRequired() bool { return s.Consent == "required" }

// Index is the scheme's position in the policy.
func (s *Scheme) Index() int { return s.index }

// Applies reports whether the scheme scores subjects of the given kind ("person" or "org").
func (s *Scheme) Applies(kind string) bool { return contains(s.Subjects, kind) }

// TierOf returns the tier of a score.
func (s *Scheme) TierOf(score int) string {
	for _, t := range s.Tiers {
		if score >= t.Min {
			return t.Name
		}
	}
	if len(s.Tiers) > 0 {
		return s.Tiers[len(s.Tiers)-1].Name
	}
	return ""
}

// List is a black-, red- or watchlist. Subjects enter it through rules (for
// a period or until an obligation is fulfilled) or by a derived condition.
type List struct {
	ID               string   `yaml:"id"`
	Title            Text     `yaml:"title"`
	Kind             string   `yaml:"kind"` // black | red | watch
	Public           bool     `yaml:"public"`
	Publish          []string `yaml:"publish"` // fields shown on the public list
	LegalBasis       Text     `yaml:"legal_basis"`
	Source           string   `yaml:"source"`
	Notice           Duration `yaml:"notice"`
	DuringDispute    string   `yaml:"during_dispute"` // in_force | suspended
	DisputeProcedure string   `yaml:"dispute_procedure"`
	When             string   `yaml:"when"` // derived lists: CEL over tiers, scores, subject
	Domain           string   `yaml:"domain"`
	RelatedDomains   []string `yaml:"related_domains"`
	Contest          Text     `yaml:"contest"` // where and how to contest, shown with every decision
	// PublishFor is how long an entry stays on the public list from its
	// start (zero: as long as the listing is in force); Retention how long
	// the listing's personal data is kept after the listing ends.
	PublishFor Duration  `yaml:"publish_for"`
	Retention  Retention `yaml:"retention"`

	index    int
	prg      cel.Program
	tierDeps []string // schemes the condition reads, directly or through the lists it names
}

// Index is the list's position in the policy.
func (l *List) Index() int { return l.index }

// Derived reports whether membership is computed from a condition.
func (l *List) Derived() bool { return l.When != "" }

// Program is the compiled condition of a derived list.
func (l *List) Program() cel.Program { return l.prg }

// SuspendedDuringDispute reports whether a listing is suspended while the
// record behind it is disputed.
func (l *List) SuspendedDuringDispute() bool { return l.DuringDispute == "suspended" }

// Rule says what a kind of record does.
type Rule struct {
	Code        string                 `yaml:"code"`
	Title       Text                   `yaml:"title"`
	LegalBasis  Text                   `yaml:"legal_basis"`
	Source      string                 `yaml:"source"`
	Authorities []string               `yaml:"authorities"` // patterns: "court.*"
	Subjects    []string               `yaml:"subjects"`
	Severity    string                 `yaml:"severity"` // minor | general | serious
	Points      map[string]PointSpec   `yaml:"points"`
	Lists       map[string]ListingSpec `yaml:"lists"`
	Lifetime    Duration               `yaml:"lifetime"`
	Repair      RepairSpec             `yaml:"repair"`
	// Retention is how long a record's personal data is kept after the
	// record stops counting.
	Retention Retention `yaml:"retention"`

	listOrder []string
}

// AppliesTo reports whether the rule may be filed against a subject kind.
func (r *Rule) AppliesTo(kind string) bool { return contains(r.Subjects, kind) }

// FiledBy reports whether the authority id matches one of the rule's patterns.
func (r *Rule) FiledBy(authority string) bool {
	for _, p := range r.Authorities {
		if matchPattern(p, authority) {
			return true
		}
	}
	return false
}

// ListIDs returns the lists the rule enters, sorted.
func (r *Rule) ListIDs() []string { return r.listOrder }

// PointSpec is a rule's effect on one scheme: a fixed delta per record, or a
// delta per unit of the record's quantity; optionally capped per window.
type PointSpec struct {
	Each    int      `yaml:"each"`
	PerUnit int      `yaml:"per_unit"`
	Unit    string   `yaml:"unit"`
	Cap     int      `yaml:"cap"` // maximum absolute points from this rule in any window of length Per
	Per     Duration `yaml:"per"`
}

// ListingSpec says how long a rule's record keeps a subject on a list: a
// fixed period from the decision date, or until the obligation is
// fulfilled, at most Max.
type ListingSpec struct {
	Period         Duration `yaml:"period"`
	UntilFulfilled bool     `yaml:"until_fulfilled"`
	Max            Duration `yaml:"max"`
}

// RepairSpec says when a subject may apply for credit repair.
type RepairSpec struct {
	After   Duration `yaml:"after"`   // minimum period from the decision date
	Allowed *bool    `yaml:"allowed"` // false: no repair (default true)
}

// Allowed reports whether repair may ever be applied for.
func (r RepairSpec) IsAllowed() bool { return r.Allowed == nil || *r.Allowed }

// Measure is a joint reward or punishment in one sector.
type Measure struct {
	ID         string             `yaml:"id"`
	Title      Text               `yaml:"title"`
	Sector     string             `yaml:"sector"`
	Effect     string             `yaml:"effect"` // deny | limit | grant
	Params     map[string]float64 `yaml:"params"`
	When       string             `yaml:"when"`
	LegalBasis Text               `yaml:"legal_basis"`
	Source     string             `yaml:"source"`
	ExtendsTo  []string           `yaml:"extends_to"` // roles of responsible persons the measure also reaches
	Subjects   []string           `yaml:"subjects"`   // default: all
	// ExemptPrivate: where the measure reaches a person through a link,
	// it does not restrict spending the person's own money for private
	// purposes (SPC provisions on restricting high consumption, 2015,
	// art. 3 para. 3); the decision reason says so.
	ExemptPrivate bool `yaml:"exempt_private"`

	index   int
	prg     cel.Program
	listRef []string
}

// Index is the measure's bit position in decision entries.
func (m *Measure) Index() int { return m.index }

// Program is the compiled condition.
func (m *Measure) Program() cel.Program { return m.prg }

// Lists returns the ids of the lists the condition refers to.
func (m *Measure) Lists() []string { return m.listRef }

// Sanction reports whether the measure is a deny or a limit.
func (m *Measure) Sanction() bool { return m.Effect == "deny" || m.Effect == "limit" }

// AppliesTo reports whether the measure may reach a subject kind.
func (m *Measure) AppliesTo(kind string) bool {
	return len(m.Subjects) == 0 || contains(m.Subjects, kind)
}

// Procedures holds the deadlines of due process.
type Procedures struct {
	Dispute  DisputeProcedure            `yaml:"dispute"`
	Repair   RepairProcedure             `yaml:"repair"`
	Profiles map[string]DisputeProcedure `yaml:"profiles"` // named alternatives, selected per list
}

// DisputeProcedure sets the deadlines of an objection and its appeal.
type DisputeProcedure struct {
	Review       Duration `yaml:"review"`        // the authority decides the objection
	Correct      Duration `yaml:"correct"`       // a correction is carried out
	AppealFile   Duration `yaml:"appeal_file"`   // the subject may appeal an upheld objection
	AppealDecide Duration `yaml:"appeal_decide"` // the appellate authority decides
	Extension    Duration `yaml:"extension"`     // extra review time when new information arrives
	Overdue      string   `yaml:"overdue"`       // suspend | in_force: what happens when a deadline passes
	Source       string   `yaml:"source"`
}

// RepairProcedure sets the deadlines of a credit-repair application.
type RepairProcedure struct {
	Decide Duration `yaml:"decide"`
	Source string   `yaml:"source"`
}

// UsesSubject reports whether any condition reads the subject's attributes
// (age, sex, region): decisions then differ between subjects without records.
func (p *Policy) UsesSubject() bool { return p.usesSubject }

// Location returns the policy's time zone.
func (p *Policy) Location() *time.Location { return p.Calendar.Loc }

// Authority returns the authority with the id, or nil.
func (p *Policy) Authority(id string) *Authority { return p.authorityByID[id] }

// Sector returns the sector with the id, or nil.
func (p *Policy) Sector(id string) *Sector { return p.sectorByID[id] }

// Scheme returns the scheme with the id, or nil.
func (p *Policy) Scheme(id string) *Scheme { return p.schemeByID[id] }

// List returns the list with the id, or nil.
func (p *Policy) List(id string) *List { return p.listByID[id] }

// Rule returns the rule with the code, or nil.
func (p *Policy) Rule(code string) *Rule { return p.ruleByCode[code] }

// Measure returns the measure with the id, or nil.
func (p *Policy) Measure(id string) *Measure { return p.measureByID[id] }

// SectorMeasures returns the indexes of the measures in a sector.
func (p *Policy) SectorMeasures(sector string) []int { return p.sectorMeasures[sector] }

// DisputeProcedureFor returns the dispute procedure that governs records on
// the list (its named profile, or the default).
func (p *Policy) DisputeProcedureFor(l *List) DisputeProcedure {
	if l != nil && l.DisputeProcedure != "" {
		if dp, ok := p.Procedures.Profiles[l.DisputeProcedure]; ok {
			return dp
		}
	}
	return p.Procedures.Dispute
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// matchPattern matches an authority id against a pattern where "*" matches
// any run of characters ("court.*", "*.beijing", "tax.bureau"). It runs in
// time linear in len(pattern)*len(s): a pattern with many stars must not
// make loading a policy take exponential time.
func matchPattern(pattern, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0 // the last star seen and where its run of s ends
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch {
			case pattern[px] == '*':
				starPx, starSx = px, sx
				px++
				continue
			case sx < len(s) && pattern[px] == s[sx]:
				px++
				sx++
				continue
			}
		}
		if starPx >= 0 && starSx < len(s) {
			// Let the last star swallow one more character and retry.
			starSx++
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}
