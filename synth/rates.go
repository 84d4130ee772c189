package synth

import (
	"sort"
	"strings"

	"credo/policy"
)

// Rate says how often records of one rule occur. A subject enters the
// rule's population with probability 1 − exp(−Annual·years) over the years
// it is exposed (an adult, or a registered organisation, inside the
// window); a subject in it has 1 + G records, G geometric with mean
// PerYear·years (so most have one or two and a long tail has many).
type Rate struct {
	Annual  float64 // yearly hazard of entering the rule's population
	PerYear float64 // further records per year of exposure, once in it
}

// Subject kinds as array indexes.
const (
	kPerson = iota
	kOrg
)

var kindNames = [2]string{"person", "org"}

// knownRates are calibrated rates for the rule codes of the example policy
// (policies/beijing.yaml), by subject kind. See the package documentation
// for the calibration.
var knownRates = map[string][2]Rate{
	// Rewards: Volunteer Beijing has millions of registered volunteers; an
	// active one logs an activity every couple of months.
	"VOLUNTEER_SERVICE": {{0.035, 5}},
	"BLOOD_DONATION":    {{0.012, 0.4}},
	// Everyday arrears, far more common than anything judged by a court.
	"LATE_UTILITY_FEES": {{0.03, 1.0}},
	"BANK_ARREARS":      {{0.012, 0.8}},
	"CONTRACT_DEFAULT":  {{0.003, 0.1}},
	// Court judgments on debts and contracts.
	"DEBT_JUDGMENT":            {{0.003, 0.1}},
	"BREACH_LIABILITY":         {{0.0015, 0.05}},
	"PRIVATE_LENDING_BREACH":   {{0.001, 0.05}},
	"UTILITY_ARREARS_JUDGMENT": {{0.0008, 0.02}},
	// The six grounds of the dishonest judgment debtor list: together about
	// 1.2% of adults over five years (the national list held 14.5 M people
	// in 2019, about 1.3% of adults), more often companies.
	"JUDGMENT_DEFAULT_ABILITY":    {{0.0015, 0.05}, {0.004, 0.1}},
	"JUDGMENT_OBSTRUCTION":        {{0.0001, 0}, {0.0003, 0}},
	"JUDGMENT_EVASION":            {{0.0002, 0}, {0.0005, 0}},
	"JUDGMENT_ASSET_REPORT":       {{0.0003, 0}, {0.0006, 0}},
	"JUDGMENT_CONSUMPTION_BREACH": {{0.0002, 0}, {0.0003, 0}},
	"JUDGMENT_SETTLEMENT_REFUSED": {{0.0002, 0}, {0.0004, 0}},
	// Rare serious conduct.
	"ILLEGAL_FUNDRAISING":           {{0.0001, 0}},
	"PYRAMID_OR_FRAUD":              {{0.0003, 0.02}},
	"FAKE_PRODUCTS":                 {{0.0003, 0.05}},
	"HEATING_TAMPERING":             {{0.0005, 0.02}},
	"UTILITY_THEFT":                 {{0.0003, 0.02}},
	"UTILITY_EQUIPMENT_DESTRUCTION": {{0.0001, 0}},
	"ONLINE_DEFAMATION_ADJUDICATED": {{0.0001, 0}},
	// Dog owners are a minority; most incidents are a loose leash.
	"DOG_OFF_LEASH":    {{0.006, 0.2}},
	"DOG_UNVACCINATED": {{0.002, 0.05}},
	"DOG_BITE":         {{0.0004, 0}},
	// Companies.
	"COUNTERFEITING":       {{}, {0.001, 0.05}},
	"TAX_EVASION_MAJOR":    {{}, {0.0005, 0}},
	"POLLUTION_EXCEEDANCE": {{}, {0.003, 0.3}},
}

// patternRates give rates to rule codes the generator does not know, by a
// word in the code. The first match wins.
var patternRates = []struct {
	words []string
	rate  Rate
}{
	{[]string{"VOLUNTEER"}, Rate{0.03, 4}},
	{[]string{"BLOOD", "DONAT"}, Rate{0.01, 0.4}},
	{[]string{"LATE", "OVERDUE"}, Rate{0.015, 0.5}},
	{[]string{"ARREAR"}, Rate{0.006, 0.3}},
	{[]string{"DOG", "PET"}, Rate{0.003, 0.1}},
	{[]string{"POLLUT", "EMISSION", "DISCHARG"}, Rate{0.003, 0.3}},
	{[]string{"FRAUD", "COUNTERFEIT", "FAKE", "PYRAMID"}, Rate{0.0003, 0.02}},
	{[]string{"TAX"}, Rate{0.0005, 0}},
	{[]string{"JUDGMENT", "DEBT"}, Rate{0.001, 0.05}},
}

// rateFor chooses the rate of a rule for a subject kind: an override from
// the configuration, the calibrated rate of a known code, a rate by a word
// in the code, or a default by the rule's kind and severity.
func rateFor(r *policy.Rule, kind int, overrides map[string]Rate) Rate {
	if rt, ok := overrides[r.Code]; ok {
		return rt
	}
	if rts, ok := knownRates[r.Code]; ok {
		rt := rts[kind]
		if rt == (Rate{}) && kind == kOrg {
			rt = rts[kPerson]
		}
		if rt != (Rate{}) {
			return rt
		}
	}
	code := strings.ToUpper(r.Code)
	for _, p := range patternRates {
		for _, w := range p.words {
			if strings.Contains(code, w) {
				return p.rate
			}
		}
	}
	switch {
	case reward(r) && perUnitSpec(r) != nil:
		return Rate{0.02, 3}
	case reward(r):
		return Rate{0.01, 0.4}
	case r.Severity == "minor":
		return Rate{0.01, 0.4}
	case r.Severity == "serious":
		return Rate{0.0004, 0.02}
	}
	return Rate{0.002, 0.1}
}

// reward reports whether a rule only ever adds points (and enters no
// blacklist): volunteering, blood donation.
func reward(r *policy.Rule) bool {
	if len(r.Lists) > 0 {
		return false
	}
	pos := false
	for _, ps := range r.Points {
		v := ps.Each + ps.PerUnit
		if v < 0 {
			return false
		}
		pos = pos || v > 0
	}
	return pos
}

// perUnitSpec returns the rule's per-unit points (of the first scheme by
// id), or nil if it has none.
func perUnitSpec(r *policy.Rule) *policy.PointSpec {
	ids := make([]string, 0, len(r.Points))
	for id := range r.Points {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if ps := r.Points[id]; ps.PerUnit != 0 {
			return &ps
		}
	}
	return nil
}

// Quantity distributions for per-unit rules, by unit.
const (
	qtyGeneric = iota // 1-10
	qtyMonths         // 1-6, mostly 1-2 (bank arrears: months in arrears)
	qtyHours          // 1-20, mostly 2-5 (volunteer hours)
	qtyDays           // 1-30
)

func qtyKindOf(r *policy.Rule, ps *policy.PointSpec) int {
	u := strings.ToLower(strings.TrimSpace(ps.Unit))
	switch {
	case strings.HasPrefix(u, "month") || u == "mo":
		return qtyMonths
	case strings.HasPrefix(u, "hour") || u == "h" || u == "hr":
		return qtyHours
	case strings.HasPrefix(u, "day") || u == "d":
		return qtyDays
	case strings.Contains(strings.ToUpper(r.Code), "ARREAR"):
		return qtyMonths
	}
	return qtyGeneric
}

var monthsCum = cumulative([]float64{40, 22, 15, 10, 7, 6})

func (r *rng) quantity(kind int) float64 {
	switch kind {
	case qtyMonths:
		return float64(1 + pick(monthsCum, r.float()))
	case qtyHours:
		return float64(min(20, 1+r.geometric(2.5)))
	case qtyDays:
		return float64(1 + r.intn(30))
	}
	return float64(1 + r.intn(10))
}
