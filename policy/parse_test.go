package policy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"credo/policy"
)

// basePolicy is the smallest valid policy: each broken case below changes
// one thing in it. Keep its line numbers stable; the cases depend on them.
const basePolicy = `name: Test policy
effective: 2026-01-01T00:00:00+08:00
timezone: Asia/Shanghai
holidays: [2026-01-01]
workdays: [2026-01-04]
authorities:
  - {id: court.a, name: Court A, kind: court}
  - {id: court.b, name: Court B, kind: court, appeal_to: court.a}
sectors:
  - {id: aviation, domain: air-travel}
  - {id: bike-share, domain: shared-mobility}
schemes:
  - id: civic
    subjects: [person]
    base: 1000
    bounds: [0, 1200]
    tiers: [{A: 960}, {D: 0}]
lists:
  - id: debtors
    kind: black
    legal_basis: SPC Provisions (2017) art 1
    domain: judicial-enforcement
    related_domains: [air-travel]
    retention: {retain: 3wd, legal_basis: SPC Provisions (2017) art 10}
  - id: low
    kind: black
    when: tiers.civic == "D"
    legal_basis: Test basis
    domain: general-credit
rules:
  - code: DEFAULT
    legal_basis: SPC Provisions (2017) art 1(1)
    authorities: ["court.*"]
    subjects: [person, org]
    severity: serious
    points: {civic: -30}
    lists: {debtors: {until_fulfilled: true, max: 5y}}
    lifetime: 3y
    repair: {after: 1y}
    retention: {retain: 6mo, legal_basis: PIPL art 47}
measures:
  - id: flight-ban
    sector: aviation
    effect: deny
    when: '"debtors" in lists'
    legal_basis: SPC 2015 art 3
  - id: bikes
    sector: bike-share
    effect: grant
    when: tiers.civic == "A"
    legal_basis: Guofa 2016 No. 33
procedures:
  dispute: {review: 15d, correct: 3wd}
  repair: {decide: 10wd}
check_log: {retain: 2y, legal_basis: PIPL art 47}
`

// brokenCase is the base policy with one change, and the diagnostic it must
// produce: its line and a phrase of its message.
type brokenCase struct {
	name     string
	old, new string // replace the first old in basePolicy by new
	line     int
	phrase   string
}

func (tc brokenCase) src() string {
	if !strings.Contains(basePolicy, tc.old) {
		panic(fmt.Sprintf("case %s: %q is not in the base policy", tc.name, tc.old))
	}
	return strings.Replace(basePolicy, tc.old, tc.new, 1)
}

var brokenCases = []brokenCase{
	// YAML and the shape of the document.
	{"YAMLUnclosedFlow", "bounds: [0, 1200]", "bounds: [0, 1200", 16, "did not find expected ',' or ']'"},
	{"YAMLBadIndentation", "    base: 1000\n", "      base: 1000\n", 13, "did not find expected key"},
	{"YAMLMappingInScalar", "    base: 1000\n", "    base: 1000: 2\n", 15, "mapping values are not allowed in this context"},
	{"YAMLOutdented", "    base: 1000\n", "   base: 1000\n", 13, "did not find expected '-' indicator"},
	{"YAMLTab", "    base: 1000\n", "\tbase: 1000\n", 15, "found character that cannot start any token"},
	{"YAMLTruncated", "repair: {decide: 10wd}\n", "repair: {decide: 10wd", 54, "did not find expected ',' or '}'"},
	{"YAMLUnknownAnchor", "base: 1000", "base: *thousand", 1, "unknown anchor 'thousand' referenced"},
	{"Empty", basePolicy, "", 1, "empty policy document"},
	{"NotAMapping", basePolicy, "- just\n- a list\n", 1, "cannot unmarshal list"},
	{"UnknownTopLevelField", "timezone: Asia/Shanghai\n", "timezone: Asia/Shanghai\ntimezones: UTC\n", 4, `unknown field "timezones" in policy`},
	{"UnknownRuleField", "    severity: serious\n", "    severity: serious\n    severty: minor\n", 36, `unknown field "severty" in rule`},
	{"UnknownMeasureField", "    effect: deny\n", "    effect: deny\n    efect: deny\n", 45, `unknown field "efect" in measure`},
	{"UnknownPointsField", "points: {civic: -30}", "points: {civic: {each: -30, every: 2}}", 36, `unknown field "every" in points`},
	{"UnknownListingField", "{until_fulfilled: true, max: 5y}", "{until_fulfilled: true, max: 5y, min: 1y}", 37, `unknown field "min" in listing`},
	{"UnknownTierField", "[{A: 960}, {D: 0}]", "[{name: A, min: 960, colour: gold}, {D: 0}]", 17, `unknown field "colour" in tier`},
	{"TierMinNotNumber", "{D: 0}", "{D: zero}", 17, `tier D: minimum "zero" is not a whole number`},
	{"PointsNotNumber", "points: {civic: -30}", "points: {civic: minus thirty}", 36, `points "minus thirty": want a whole number`},
	{"BoundsNotPair", "bounds: [0, 1200]", "bounds: [0, 600, 1200]", 16, "bounds must be [LOW, HIGH], not 3 numbers"},
	{"EffectiveNotInstant", "effective: 2026-01-01T00:00:00+08:00", "effective: next spring", 2, `effective "next spring" is not an instant`},
	{"EffectiveQuotedDate", "effective: 2026-01-01T00:00:00+08:00", `effective: "2026-01-01"`, 2, "or an unquoted date (2026-01-01)"},
	{"EffectiveList", "effective: 2026-01-01T00:00:00+08:00", `effective: [2026-01-01]`, 2, "cannot unmarshal list into time.Time"},

	// Durations.
	{"BadDurationUnit", "lifetime: 3y", "lifetime: 3 years", 38, `duration "3 years" has unknown unit " years"`},
	{"BadDurationNoNumber", "correct: 3wd", "correct: wd", 53, `duration "wd" must start with a number`},
	{"BadDurationNoUnit", "decide: 10wd", "decide: 10", 54, `duration "10" has no unit`},
	{"DurationTooLong", "lifetime: 3y", "lifetime: 101y", 38, `duration "101y" is too long`},
	{"DurationNotScalar", "lifetime: 3y", "lifetime: [3y]", 38, "a duration must be written like 10d"},
	{"BadListingPeriod", "{until_fulfilled: true, max: 5y}", "forever", 37, `listing "forever": want a period`},

	// Principle 1: no record, list or measure without a legal basis.
	{"RuleWithoutLegalBasis", "    legal_basis: SPC Provisions (2017) art 1(1)\n", "", 31, "rule DEFAULT: legal_basis is required"},
	{"ListWithoutLegalBasis", "    legal_basis: SPC Provisions (2017) art 1\n", "", 19, "list debtors: legal_basis is required"},
	{"MeasureWithoutLegalBasis", "    legal_basis: SPC 2015 art 3\n", "", 42, "measure flight-ban: legal_basis is required"},
	{"BlankLegalBasis", "legal_basis: SPC 2015 art 3", "legal_basis: '  '", 42, "measure flight-ban: legal_basis is required"},
	{"RuleWithoutAuthorities", "    authorities: [\"court.*\"]\n", "", 31, "rule DEFAULT: authorities is required"},
	{"UndeclaredAuthorityPattern", `authorities: ["court.*"]`, `authorities: ["tax.*"]`, 33, `authority pattern "tax.*" matches no declared authority`},
	{"UndeclaredAppealTo", "appeal_to: court.a", "appeal_to: court.z", 8, `appeal_to names undeclared authority "court.z"`},

	// Principle 2: sanctions come from lists, never straight from a score.
	{"DenyOnTiers", `when: '"debtors" in lists'`, `when: tiers.civic == "D"`, 45, "a deny or limit may depend only on list membership, but the condition uses tiers (principle 2"},
	{"DenyOnTiersAndList", `when: '"debtors" in lists'`, `when: '"debtors" in lists && tiers.civic == "D"'`, 45, "condition uses tiers (principle 2"},
	{"DenyOnScores", `when: '"debtors" in lists'`, `when: scores.civic < 600`, 45, "condition uses scores (principle 2"},
	{"DenyOnSubject", `when: '"debtors" in lists'`, `when: '"debtors" in lists && subject.age > 60'`, 45, "condition uses subject (principle 2"},
	{"DenyWithoutList", `when: '"debtors" in lists'`, `when: size(lists) > 3`, 45, "a deny or limit must be conditioned on a list"},
	{"DenyOnComputedList", `when: '"debtors" in lists'`, `when: '("debt" + "ors") in lists'`, 45, "a sanction must name its lists literally"},

	// Principle 3: everything ends.
	{"RuleWithoutLifetime", "    lifetime: 3y\n", "", 31, "rule DEFAULT: lifetime is required"},
	{"RuleWithZeroLifetime", "lifetime: 3y", "lifetime: 0d", 31, "lifetime is required and must be more than zero"},
	{"UntilFulfilledWithoutMax", "{until_fulfilled: true, max: 5y}", "until_fulfilled", 37, "until_fulfilled needs a maximum"},
	{"ListingWithoutPeriod", "{until_fulfilled: true, max: 5y}", "{max: 5y}", 37, "needs a period or until_fulfilled with a maximum"},
	{"ListingZeroPeriod", "{until_fulfilled: true, max: 5y}", "0y", 37, "needs a period or until_fulfilled with a maximum"},
	{"ListingPeriodAndUntilFulfilled", "{until_fulfilled: true, max: 5y}", "{period: 2y, until_fulfilled: true, max: 5y}", 37, "has both a period and until_fulfilled"},

	// References to undeclared things.
	{"UndeclaredListInRule", "lists: {debtors: {until_fulfilled: true, max: 5y}}", "lists: {creditors: 2y}", 37, `enters undeclared list "creditors"`},
	{"RuleEntersDerivedList", "lists: {debtors: {until_fulfilled: true, max: 5y}}", "lists: {low: 2y}", 37, "list low is derived by a condition; rules cannot enter it"},
	{"UndeclaredListInCondition", `when: '"debtors" in lists'`, `when: '"creditors" in lists'`, 45, `condition names undeclared list "creditors"`},
	{"UndeclaredSchemeInPoints", "points: {civic: -30}", "points: {civil: -30}", 36, `points for undeclared scheme "civil"`},
	{"UndeclaredSchemeInCondition", `when: tiers.civic == "A"`, `when: tiers.civil == "A"`, 50, `condition names undeclared scheme "civil"`},
	{"UndeclaredSchemeByIndex", `when: tiers.civic == "A"`, `when: tiers["dog-licence"] == "revoked"`, 50, `condition names undeclared scheme "dog-licence"`},
	{"UndeclaredSchemeInListCondition", `when: tiers.civic == "D"`, `when: scores.civil < 600`, 27, `list low: condition names undeclared scheme "civil"`},
	{"UndeclaredSector", "sector: aviation", "sector: aviaton", 43, `sector "aviaton" is not declared under sectors`},
	{"UndeclaredDisputeProfile", "    domain: judicial-enforcement\n", "    domain: judicial-enforcement\n    dispute_procedure: spc\n", 23, `dispute_procedure "spc" is not among procedures.profiles`},

	// Schemes and tiers.
	{"TierOrder", "[{A: 960}, {D: 0}]", "[{D: 0}, {A: 960}]", 17, "tiers must be listed from highest to lowest; A (960) is not below D (0)"},
	{"TierTwice", "[{A: 960}, {D: 0}]", "[{A: 960}, {A: 0}]", 17, "tier A is declared twice"},
	{"LowestTierAboveBound", "[{A: 960}, {D: 0}]", "[{A: 960}, {D: 100}]", 17, "the lowest tier D starts at 100, above the lower bound 0"},
	{"NoTiers", "    tiers: [{A: 960}, {D: 0}]\n", "", 13, "at least one tier is required"},
	{"BaseOutsideBounds", "base: 1000", "base: 1300", 15, "base 1300 is outside the bounds [0, 1200]"},
	{"BoundsReversed", "bounds: [0, 1200]", "bounds: [1200, 0]", 16, "bounds must be [LOW, HIGH] with LOW < HIGH"},
	{"BadConsent", "    base: 1000\n", "    base: 1000\n    consent: maybe\n", 16, `consent must be required or not_required, not "maybe"`},
	{"UnknownTierInCondition", `when: tiers.civic == "A"`, `when: tiers.civic == "AAA"`, 50, `scheme civic has no tier "AAA"`},
	{"UnknownTierReversed", `when: tiers.civic == "A"`, `when: '"AAA" != tiers.civic'`, 50, `scheme civic has no tier "AAA"`},
	{"UnknownTierInList", `when: tiers.civic == "A"`, `when: tiers.civic in ["A", "AAA"]`, 50, `scheme civic has no tier "AAA"`},
	{"UnknownTierByIndex", `when: tiers.civic == "A"`, `when: tiers["civic"] == "AAA"`, 50, `scheme civic has no tier "AAA"`},
	{"UnknownTierInDerivedList", `when: tiers.civic == "D"`, `when: tiers.civic == "E"`, 27, `list low: scheme civic has no tier "E"`},
	{"UnknownSubjectKind", "subjects: [person, org]", "subjects: [person, company]", 34, `unknown subject kind "company"`},

	// Conditions.
	{"ConditionNotBool", `when: tiers.civic == "A"`, `when: tiers.civic`, 50, `condition "tiers.civic" must be true or false, not string`},
	{"ConditionSyntaxError", `when: tiers.civic == "A"`, `when: tiers.civic ==`, 50, `condition "tiers.civic ==" does not compile`},
	{"ConditionUnknownVariable", `when: tiers.civic == "A"`, `when: score > 3`, 50, "undeclared reference to 'score'"},
	{"MeasureWithoutCondition", "    when: tiers.civic == \"A\"\n", "", 47, "measure bikes: when is required"},

	// Measures.
	{"UnknownEffect", "effect: grant", "effect: reward", 49, `effect must be deny, limit or grant, not "reward"`},
	{"LimitWithoutParams", "effect: deny", "effect: limit", 42, "a limit needs params"},
	{"ParamsOnDeny", "    effect: deny\n", "    effect: deny\n    params: {max_mbps: 2}\n", 45, "params only apply to limit measures"},
	{"UnknownExtendsToRole", "    effect: deny\n", "    effect: deny\n    extends_to: [children]\n", 45, `extends_to role "children" is not one of`},

	// Lists.
	{"UnknownListKind", "kind: black", "kind: grey", 20, `kind must be black, red or watch, not "grey"`},
	{"ListWithoutDomain", "    domain: judicial-enforcement\n", "", 19, "list debtors: domain is required"},
	{"PublishNotPublic", "    kind: black\n", "    kind: black\n    publish: [name]\n", 21, "publish is set but the list is not public"},
	{"PublishScore", "    kind: black\n", "    kind: black\n    public: true\n    publish: [name, score]\n", 22, `publish field "score" is not one of`},
	{"BadDuringDispute", "    kind: black\n", "    kind: black\n    during_dispute: paused\n", 21, `during_dispute must be in_force or suspended, not "paused"`},

	// Time and calendar.
	{"BadTimezone", "timezone: Asia/Shanghai", "timezone: Asia/Beijing", 3, `unknown time zone "Asia/Beijing"`},
	{"MissingTimezone", "timezone: Asia/Shanghai\n", "", 1, "timezone is required"},
	{"MissingEffective", "effective: 2026-01-01T00:00:00+08:00\n", "", 1, "effective is required"},
	{"BadHoliday", "holidays: [2026-01-01]", "holidays: [2026-02-30]", 4, `holidays: date "2026-02-30" is not a valid YYYY-MM-DD date`},
	{"BadWorkday", "workdays: [2026-01-04]", "workdays: [2026/01/04]", 5, `workdays: date "2026/01/04" is not a valid`},

	// Duplicates and ids.
	{"DuplicateAuthority", "  - {id: court.b,", "  - {id: court.a, name: Again}\n  - {id: court.b,", 8, `authority "court.a" is declared twice`},
	{"DuplicateSector", "  - {id: bike-share, domain: shared-mobility}", "  - {id: aviation, domain: air-travel}", 11, `sector "aviation" is declared twice`},
	{"DuplicateMeasure", "  - id: bikes", "  - id: flight-ban", 47, `measure "flight-ban" is declared twice`},
	{"DuplicateRule", "measures:\n", "  - {code: DEFAULT, legal_basis: x, authorities: [court.a], subjects: [person], severity: minor, lifetime: 1y}\nmeasures:\n", 41, `rule "DEFAULT" is declared twice`},
	{"DuplicateList", "  - id: low\n", "  - id: debtors\n", 25, `list "debtors" is declared twice`},
	{"BadID", "id: bike-share,", "id: bike share,", 11, `sector "bike share": ids use letters, digits`},
	{"EmptyEntry", "sectors:\n", "sectors:\n  -\n", 10, "sectors: entry 1 is empty"},
	{"NullEntry", "  - id: bikes\n", "  - ~\n  - id: bikes\n", 47, "measures: entry 2 is empty"},
	{"DuplicateYAMLKey", "    base: 1000\n", "    base: 1000\n    base: 900\n", 16, `mapping key "base" already defined at line 15`},

	// Procedures.
	{"MissingReview", "dispute: {review: 15d, correct: 3wd}", "dispute: {correct: 3wd}", 53, "procedures.dispute: review deadline is required"},
	{"MissingRepairDecide", "repair: {decide: 10wd}", "repair: {}", 54, "procedures.repair: decide deadline is required"},
	{"BadOverdue", "dispute: {review: 15d, correct: 3wd}", "dispute: {review: 15d, overdue: ignore}", 53, `overdue must be suspend or in_force, not "ignore"`},
	{"ProfileWithoutReview", "  repair: {decide: 10wd}\n", "  repair: {decide: 10wd}\n  profiles:\n    spc: {correct: 3wd}\n", 56, "procedures.profiles.spc: review deadline is required"},

	// Rules.
	{"BadSeverity", "severity: serious", "severity: grave", 35, `severity must be minor, general or serious, not "grave"`},
	{"PointsBothKinds", "points: {civic: -30}", "points: {civic: {each: -30, per_unit: -1, unit: day}}", 36, "need exactly one of a fixed number (each) or per_unit"},
	{"PerUnitWithoutUnit", "points: {civic: -30}", "points: {civic: {per_unit: 1}}", 36, "per_unit needs a unit"},
	{"CapWithoutWindow", "points: {civic: -30}", "points: {civic: {per_unit: 1, unit: hour, cap: 50}}", 36, "cap needs a window"},
	{"SchemeNotForSubjects", "subjects: [person, org]", "subjects: [org]", 36, "scheme civic scores person, none of the rule's subjects"},
}

func TestParseBase(t *testing.T) {
	p, err := policy.Parse("test.yaml", []byte(basePolicy))
	if err != nil {
		t.Fatalf("base policy: %v", err)
	}
	// One warning: the grant bikes is conditioned on a tier (principle 7).
	if got, want := len(p.Warnings), 1; got != want || !strings.Contains(p.Warnings[0].Message, "measure bikes: grant in sector bike-share reveals a tier") {
		t.Errorf("warnings: got %d, want %d: %v", got, want, p.Warnings)
	}
	if got, want := p.Name, "Test policy"; got != want {
		t.Errorf("name: got %q, want %q", got, want)
	}
}

func TestParseBroken(t *testing.T) {
	for _, tc := range brokenCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Parse("test.yaml", []byte(tc.src()))
			if err == nil {
				t.Fatalf("no error; want test.yaml:%d: ...%s...", tc.line, tc.phrase)
			}
			if p != nil {
				t.Errorf("got a policy along with errors")
			}
			var errs policy.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want policy.Errors: %v", err, err)
			}
			prefix := fmt.Sprintf("test.yaml:%d: ", tc.line)
			for _, d := range errs {
				if d.Warning {
					t.Errorf("warning among the errors: %v", d)
				}
				if s := d.String(); strings.HasPrefix(s, prefix) && strings.Contains(s, tc.phrase) {
					return
				}
			}
			t.Errorf("want %s...%s...; got:\n%v", prefix, tc.phrase, err)
		})
	}
}

// TestParseWarnings checks findings that are warnings, not errors: the
// policy loads, and the lint says what is doubtful about it.
func TestParseWarnings(t *testing.T) {
	for _, tc := range []brokenCase{
		{"RepairBeforeMinimumSerious", "repair: {after: 1y}", "repair: {after: 6mo}", 39, "repair after 6mo is shorter than the NDRC minimum for serious records (1y)"},
		{"RepairBeforeMinimumGeneral", "severity: serious", "severity: general", 0, ""}, // 1y is after the 3mo minimum
		{"RepairNotSetSerious", "    repair: {after: 1y}\n", "", 31, "repair after 0d is shorter than the NDRC minimum for serious records (1y)"},
		{"RepairInDays", "repair: {after: 1y}", "repair: {after: 300d}", 39, "repair after 300d is shorter"},
		{"RepairInMonths", "repair: {after: 1y}", "repair: {after: 12mo}", 0, ""}, // 12mo is 1y
		{"RepairInDaysEnough", "repair: {after: 1y}", "repair: {after: 366d}", 0, ""},
		{"RepairNotAllowed", "repair: {after: 1y}", "repair: {allowed: false}", 0, ""},
		{"UnrelatedContext", "related_domains: [air-travel]", "related_domains: [rail]", 42, "measure flight-ban: sanction in sector aviation (domain air-travel) uses list debtors (domain judicial-enforcement): an unrelated context (EU AI Act Art. 5(1)(c))"},
		{"GrantNotLinted", `when: tiers.civic == "A"`, `when: '"debtors" in lists'`, 0, ""}, // bike-share is unrelated, but a grant is no sanction
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Parse("test.yaml", []byte(tc.src()))
			if err != nil {
				t.Fatal(err)
			}
			if tc.phrase == "" {
				for _, w := range p.Warnings {
					if !strings.Contains(w.Message, "measure bikes: grant in sector bike-share reveals a tier") {
						t.Errorf("got warnings %v, want none but the base's", p.Warnings)
					}
				}
				return
			}
			prefix := fmt.Sprintf("test.yaml:%d: warning: ", tc.line)
			for _, d := range p.Warnings {
				if got, want := d.Warning, true; got != want {
					t.Errorf("%v: Warning = %v, want %v", d, got, want)
				}
				if s := d.String(); strings.HasPrefix(s, prefix) && strings.Contains(s, tc.phrase) {
					return
				}
			}
			t.Errorf("want %s...%s...; got %v", prefix, tc.phrase, p.Warnings)
		})
	}
}

// TestParseAllErrors checks that Parse reports every error it finds, in
// line order, not just the first.
func TestParseAllErrors(t *testing.T) {
	src := strings.NewReplacer(
		"timezone: Asia/Shanghai", "timezone: Mars/Olympus",
		"    legal_basis: SPC 2015 art 3\n", "",
		"lifetime: 3y", "lifetime: 0d",
	).Replace(basePolicy)
	_, err := policy.Parse("test.yaml", []byte(src))
	var errs policy.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want policy.Errors", err)
	}
	var got []int
	for _, d := range errs {
		got = append(got, d.Line)
	}
	if got, want := fmt.Sprint(got), "[3 31 42]"; got != want {
		t.Errorf("lines: got %s, want %s\n%v", got, want, err)
	}
	if got, want := errs.Error(), "test.yaml:3: unknown time zone"; !strings.HasPrefix(got, want) {
		t.Errorf("Error(): got %q, want prefix %q", got, want)
	}
}

func TestParseEffectiveDate(t *testing.T) {
	for _, tc := range []struct {
		name, effective string
		want            time.Time
	}{
		{"Instant", "2026-01-01T00:00:00+08:00", time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC)},
		{"InstantUTC", "2026-01-01T00:00:00Z", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		// A date alone is midnight where the policy applies, not in UTC.
		{"DateOnly", "2026-01-01", time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC)},
		{"DateTime", "2026-01-01 08:30:00", time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)},
		{"Quoted", `"2026-01-01T00:00:00+08:00"`, time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(basePolicy, "2026-01-01T00:00:00+08:00", tc.effective, 1)
			p, err := policy.Parse("test.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := p.Effective, tc.want; !got.Equal(want) {
				t.Errorf("effective: got %v, want %v", got, want)
			}
		})
	}
}

// TestParseConditionForms checks that the ways of naming a scheme in a
// condition all compile, including ids that need the index form.
func TestParseConditionForms(t *testing.T) {
	withDash := strings.Replace(basePolicy, "  - id: civic\n", "  - id: dog-licence\n    subjects: [person]\n    base: 12\n    bounds: [0, 12]\n    tiers: [{valid: 1}, {revoked: 0}]\n  - id: civic\n", 1)
	for _, tc := range []struct{ name, when string }{
		{"Select", `tiers.civic == "A"`},
		{"Index", `tiers["civic"] == "A"`},
		{"IndexDash", `tiers["dog-licence"] == "revoked"`},
		{"In", `tiers.civic in ["A", "D"]`},
		{"Has", `has(tiers.civic) && tiers.civic != "D"`},
		{"Score", `scores.civic >= 1000`},
		{"List", `"low" in lists`},
		{"Subject", `subject.kind == "person" && tiers.civic == "A"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(withDash, `when: tiers.civic == "A"`, "when: '"+strings.ReplaceAll(tc.when, "'", "''")+"'", 1)
			p, err := policy.Parse("test.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if p.Measure("bikes").Program() == nil {
				t.Errorf("no program")
			}
		})
	}
}

func TestRuleFiledBy(t *testing.T) {
	r := &policy.Rule{Authorities: []string{"court.beijing.*", "tax.beijing", "*.water"}}
	for _, tc := range []struct {
		authority string
		want      bool
	}{
		{"court.beijing.chaoyang", true},
		{"court.beijing.", true},
		{"court.beijing", false},
		{"court.shanghai.xuhui", false},
		{"tax.beijing", true},
		{"tax.beijing.haidian", false},
		{"utility.beijing.water", true},
		{"water", false},
		{"", false},
		{"court.beijing.chaoyang.water", true},
		{strings.Repeat("a", 200), false},
	} {
		t.Run(tc.authority, func(t *testing.T) {
			if got := r.FiledBy(tc.authority); got != tc.want {
				t.Errorf("FiledBy(%q) = %v, want %v", tc.authority, got, tc.want)
			}
		})
	}
	// Many stars must not take exponential time.
	star := &policy.Rule{Authorities: []string{strings.Repeat("*a", 40) + "*b"}}
	if star.FiledBy(strings.Repeat("a", 200)) {
		t.Errorf("star pattern matched")
	}
	if !star.FiledBy(strings.Repeat("a", 80) + "b") {
		t.Errorf("star pattern did not match")
	}
}
