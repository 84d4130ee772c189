// Package synth generates a synthetic city for Credo: people with valid
// Resident Identity Card numbers, organisations with valid Unified Social
// Credit Codes and their legal representatives, and the records authorities
// file about them under a policy, at realistic frequencies.
//
// Everything is a deterministic function of the configuration (seed, sizes,
// window, policy): the same configuration gives the same stream, byte for
// byte. Nothing is held in memory per subject: subject i's identifier and
// records are computed from (seed, i) alone, with a PCG stream seeded per
// subject, so the city scales to tens of millions of people and any range
// of subjects can be generated independently (and in parallel).
//
// # People
//
// People are spread over Beijing's 16 districts by their 2020 census
// populations, over ages 0-100 by a pyramid with about 17% minors and a
// fifth aged 60 or more, and over the sexes about 51/49. The population is
// cut into cells (district × birth year × sex) whose sizes are the expected
// counts rounded by largest remainders; a keyed Feistel permutation maps
// person i to a slot, the slot to a cell and a rank k within it, and the
// rank to a birth date and sequence number injectively (see cell). So every
// RIC is unique by construction, with no table and no duplicate check.
//
// # Organisations
//
// Organisations are companies (91), individual businesses (92), farmers'
// cooperatives (93) and civil-affairs units (52), registered in the
// districts (business districts weighted up), with organisation codes of
// the post-2015 "MA" form or older eight-digit codes, unique by a keyed
// permutation (see orgModel). Each has a legal representative drawn from
// the people who were adults (18-75) when it was registered.
//
// # Records
//
// Each rule of the policy that applies to a subject kind gets a Rate: for
// the rule codes of the example policy a calibrated one, otherwise one
// chosen by words in the code (VOLUNTEER, ARREAR, FRAUD...) or by the rule's
// severity and sign. Subjects enter each rule's population independently
// (hazard Annual per year of exposure), and those in it get 1 + geometric
// records (mean PerYear per year). A risk segment of 8% of subjects has
// six times the hazard of negative rules and half that of rewards (the
// others' hazards are scaled so that the average is unchanged), so that bad
// records cluster as they do in life. Minors never get records: a person
// is exposed only from their 18th birthday, an organisation from its
// registration. Records are decided on the policy calendar's working days
// in business hours (09:00-17:30 local time), filed by an authority the
// rule allows (district courts mostly for people of their district), with
// a case reference unique per authority, an evidence digest, a notice date
// a few days later for court records and listing rules, the subject's name,
// and a quantity for per-unit rules (months in arrears 1-6, volunteer hours
// 1-20).
//
// Calibration (example policy, 5 years; see TestDistribution): about 38%
// of adults (31% of all people, so most people have none) and 4% of
// organisations have at least one record; people with records have about
// 14 on average, most of them volunteer hours, with a long tail of active
// volunteers (the most active have a few hundred); dishonest-debtor grounds
// reach about 1.2% of adults (3% of those with records). That is about
// 4,400 records per 1,000 people, so 22 million people and 2 million
// organisations give about 97 million records. Rates and Activity in
// Config change the mix and the volume: Activity 0.16 gives about 8% of
// adults with records and 0.7 records per person.
package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"credo"
	"credo/ident"
	"credo/policy"
)

// Config configures a city.
type Config struct {
	People, Orgs int
	// Years is the length of the window in which records are decided:
	// [End − Years, End). Zero means 5.
	Years int
	Seed  int64
	// End is the end of the window (exclusive). It is required: a default
	// of "now" would make the stream depend on the day it is generated.
	End    time.Time
	Policy *policy.Policy
	// Rates overrides the rate of the rules with these codes.
	Rates map[string]Rate
	// Activity scales the hazard of every rule (0 means 1): 0.5 gives
	// about half as many subjects with records.
	Activity float64
}

// City is a synthetic city. Its methods may be called concurrently.
type City struct {
	cfg      Config
	seed     uint64
	loc      *time.Location
	people   *peopleModel
	orgs     *orgModel
	days     []workday
	endUnix  int64
	years    float64
	rules    [2][]*ruleGen
	tables   [2][2]table // by kind and segment
	endYear  int
	seedByte [8]byte
}

// workday is a working day of the window.
type workday struct {
	civil int64 // days since 1970-01-01 (local date)
	sec   int64 // 09:00 local time, Unix seconds
	year  int
}

// Business hours: decisions fall in [09:00, 17:30).
const workSeconds = 8*3600 + 1800

// riskShare is the share of subjects in the risk segment; riskNeg and
// riskPos scale the hazard of negative rules and rewards in it.
const (
	riskShare = 0.08
	riskNeg   = 6.0
	riskPos   = 0.5
)

// maxPerSubject bounds one subject's records (case references use it).
const maxPerSubject = 999

// table holds a subject kind's and segment's participation probabilities
// over the full window, for sampling which rules a subject is in.
type table struct {
	annual []float64 // hazard per year, by rule
	p      []float64 // probability of being in the rule's population over the full window
	first  []float64 // first[k]: probability of being in at least one of rules 0..k
	any    float64
}

// ruleGen is a rule prepared for generation.
type ruleGen struct {
	code      string
	rate      Rate
	reward    bool
	perUnit   bool
	qty       int
	notify    bool
	courtType string // case type in court references: 执 enforcement, 民初 civil, 刑初 criminal
	auths     []*authGen
	authCum   [][]float64 // by district index; nil entries when there is one authority
}

// Authority classes, for case reference formats.
const (
	acPlain = iota // PBOC-CRC-2024-12345
	acCourt        // (2024)京0105执12345号
	acGov          // 京市监罚〔2024〕12345号
)

type authGen struct {
	id    string
	class int
	pre   string
	index int     // position in the policy
	level float64 // weight of a court by level
	dist  int     // district index of a district court, or -1
}

// New prepares a city. It fails if the configuration is invalid or asks for
// more people than Beijing's identity numbers can hold (about 130 million).
func New(cfg Config) (*City, error) {
	switch {
	case cfg.Policy == nil:
		return nil, invalidf("a policy is required")
	case cfg.People < 0 || cfg.Orgs < 0:
		return nil, invalidf("people and orgs must not be negative")
	case cfg.Years < 0 || cfg.Years > 100:
		return nil, invalidf("years must be between 1 and 100, not %d", cfg.Years)
	case cfg.End.IsZero():
		return nil, invalidf("the end of the window is required")
	case cfg.Activity < 0:
		return nil, invalidf("activity must not be negative")
	}
	if cfg.Years == 0 {
		cfg.Years = 5
	}
	if cfg.Activity == 0 {
		cfg.Activity = 1
	}
	c := &City{cfg: cfg, seed: uint64(cfg.Seed), years: float64(cfg.Years)}
	binary.LittleEndian.PutUint64(c.seedByte[:], c.seed)
	c.loc = time.UTC
	if cfg.Policy.Calendar != nil && cfg.Policy.Calendar.Loc != nil {
		c.loc = cfg.Policy.Calendar.Loc
	} else if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		c.loc = loc
	}
	end := cfg.End.In(c.loc)
	c.endUnix = end.Unix()
	c.endYear = end.Year()
	var err error
	if c.people, err = newPeopleModel(cfg.People, c.seed, c.endYear); err != nil {
		return nil, err
	}
	if c.orgs, err = newOrgModel(cfg.Orgs, c.seed, end); err != nil {
		return nil, err
	}
	c.buildDays(end.AddDate(-cfg.Years, 0, 0), end)
	c.buildRules()
	return c, nil
}

func invalidf(format string, args ...any) error {
	return &credo.Error{Code: credo.EINVALID, Op: "synth", Message: fmt.Sprintf(format, args...)}
}

// buildDays lists the working days of [start, end) in the policy's calendar.
func (c *City) buildDays(start, end time.Time) {
	cal := c.cfg.Policy.Calendar
	y, m, d := start.Date()
	for day := time.Date(y, m, d, 12, 0, 0, 0, time.UTC); ; day = day.AddDate(0, 0, 1) {
		y, m, d := day.Date()
		t9 := time.Date(y, m, d, 9, 0, 0, 0, c.loc)
		if !t9.Add(workSeconds * time.Second).Before(end) {
			if t9.After(end) {
				break
			}
			continue
		}
		if t9.Before(start) {
			continue
		}
		working := day.Weekday() != time.Saturday && day.Weekday() != time.Sunday
		if cal != nil {
			working = cal.IsWorkingDay(policy.Date{Year: y, Month: m, Day: d})
		}
		if working {
			c.days = append(c.days, workday{civil: daysFromCivil(y, int(m), d), sec: t9.Unix(), year: y})
		}
	}
}

// buildRules prepares the rules and the sampling tables.
func (c *City) buildRules() {
	pol := c.cfg.Policy
	var auths []*authGen
	for i, a := range pol.Authorities {
		g := newAuthGen(a)
		g.index = i
		auths = append(auths, g)
	}
	for kind := range 2 {
		for _, r := range pol.Rules {
			if !r.AppliesTo(kindNames[kind]) {
				continue
			}
			rg := &ruleGen{code: r.Code, rate: rateFor(r, kind, c.cfg.Rates), reward: reward(r)}
			rg.rate.Annual *= c.cfg.Activity
			for _, a := range auths {
				if r.FiledBy(a.id) {
					rg.auths = append(rg.auths, a)
				}
			}
			if len(rg.auths) == 0 || rg.rate.Annual <= 0 {
				continue
			}
			if ps := perUnitSpec(r); ps != nil {
				rg.perUnit, rg.qty = true, qtyKindOf(r, ps)
			}
			rg.notify = len(r.Lists) > 0
			for _, a := range rg.auths {
				rg.notify = rg.notify || a.class == acCourt
			}
			rg.courtType = "民初"
			switch {
			case len(r.Lists) > 0:
				rg.courtType = "执"
			case r.Severity == "serious" && !rg.reward:
				rg.courtType = "刑初"
			}
			rg.authWeights(r.Code)
			c.rules[kind] = append(c.rules[kind], rg)
		}
		for seg := range 2 {
			t := &c.tables[kind][seg]
			none := 1.0
			for _, rg := range c.rules[kind] {
				a := rg.rate.Annual * segmentFactor(rg.reward, seg == 1)
				p := -math.Expm1(-a * c.years)
				t.annual = append(t.annual, a)
				t.p = append(t.p, p)
				none *= 1 - p
				t.first = append(t.first, 1-none)
			}
			t.any = 1 - none
		}
	}
}

// segmentFactor scales a rule's hazard in the risk segment (risk) or the
// ordinary one, keeping the population average unchanged.
func segmentFactor(isReward, risk bool) float64 {
	m := riskNeg
	if isReward {
		m = riskPos
	}
	if risk {
		return m
	}
	return (1 - riskShare*m) / (1 - riskShare)
}

func newAuthGen(a *policy.Authority) *authGen {
	g := &authGen{id: a.ID, level: 1, dist: -1}
	id := strings.ToLower(a.ID)
	kind := strings.ToLower(a.Kind)
	switch {
	case kind == "court" || strings.HasPrefix(id, "court."):
		g.class = acCourt
		g.pre = "京"
		for d, code := range ident.BeijingDistricts {
			if n := strings.ToLower(ident.DistrictName(code)); n != "" && strings.Contains(id, n) {
				g.pre, g.dist = "京01"+code[4:6], d
			}
		}
		switch {
		case g.dist >= 0:
		case strings.Contains(id, "internet"):
			g.pre, g.level = "京0491", 0.1
		case strings.Contains(id, "intermediate"):
			g.level = 0.15
			if i := strings.Index(id, "no"); i >= 0 && i+2 < len(id) && id[i+2] >= '1' && id[i+2] <= '9' {
				g.pre = "京0" + id[i+2:i+3]
			}
		case strings.Contains(id, "spc") || strings.Contains(id, "supreme"):
			g.pre, g.level = "最高法", 0.005
		case strings.Contains(id, "high"):
			g.level = 0.03
		}
	case kind == "tax" || strings.HasPrefix(id, "tax."):
		g.class, g.pre = acGov, "京税稽罚"
	case kind == "market-regulation" || strings.HasPrefix(id, "samr."):
		g.class, g.pre = acGov, "京市监罚"
	case kind == "environment" || strings.HasPrefix(id, "env."):
		g.class, g.pre = acGov, "京环罚字"
	case kind == "public-security" || strings.HasPrefix(id, "police."):
		g.class, g.pre = acGov, "京公(治)行罚决字"
	case kind == "urban-management" || strings.HasPrefix(id, "urban-mgmt."):
		g.class, g.pre = acGov, "京城管罚字"
	case kind == "financial-regulation" || strings.HasPrefix(id, "finance."):
		g.class, g.pre = acGov, "京金融罚字"
	case kind == "civil-affairs" || strings.HasPrefix(id, "civil-affairs."):
		g.class, g.pre = acGov, "京民罚字"
	default:
		g.class, g.pre = acPlain, strings.ToUpper(strings.ReplaceAll(a.ID, ".", "-"))+"-"
	}
	return g
}

// authWeights prepares the choice of authority by the subject's district:
// district courts take most cases of their district, higher courts few, the
// internet court those about online conduct.
func (rg *ruleGen) authWeights(code string) {
	if len(rg.auths) == 1 {
		return
	}
	online := false
	for _, w := range []string{"ONLINE", "INTERNET", "DEFAMATION", "NETWORK", "E_COMMERCE"} {
		online = online || strings.Contains(strings.ToUpper(code), w)
	}
	rg.authCum = make([][]float64, len(ident.BeijingDistricts))
	for d := range rg.authCum {
		w := make([]float64, len(rg.auths))
		for i, a := range rg.auths {
			w[i] = a.level
			switch {
			case a.dist == d:
				w[i] = 10
			case online && a.pre == "京0491":
				w[i] = 40
			}
		}
		rg.authCum[d] = cumulative(w)
	}
}

// Person returns the canonical RIC of person i, 0 <= i < People. It panics
// if i is out of range.
func (c *City) Person(i int) string {
	if i < 0 || i >= c.cfg.People {
		panic(fmt.Sprintf("synth: person %d out of range [0, %d)", i, c.cfg.People))
	}
	a := c.people.attrs(i)
	return a.ric()
}

// Org returns the canonical USCC of organisation i, 0 <= i < Orgs. It
// panics if i is out of range.
func (c *City) Org(i int) string {
	if i < 0 || i >= c.cfg.Orgs {
		panic(fmt.Sprintf("synth: organisation %d out of range [0, %d)", i, c.cfg.Orgs))
	}
	a := c.orgs.attrs(i)
	return a.uscc()
}

// Subjects returns the number of subjects, People + Orgs. Subjects
// 0..People-1 are the people, the rest the organisations, in the order
// Records streams them.
func (c *City) Subjects() int { return c.cfg.People + c.cfg.Orgs }

// Records streams every record of the city to fn: the people's, then the
// organisations'. It stops at the first error fn returns and returns it.
// The record passed to fn is reused for the next one: copy it (*rec) to
// keep it.
func (c *City) Records(fn func(*credo.Record) error) error {
	return c.RecordsRange(0, c.Subjects(), fn)
}

// RecordsRange streams the records of subjects [from, to) (see Subjects),
// exactly as Records streams them: concatenating the ranges of a partition
// gives the stream of Records.
func (c *City) RecordsRange(from, to int, fn func(*credo.Record) error) error {
	from, to = max(from, 0), min(to, c.Subjects())
	if len(c.days) == 0 {
		return nil
	}
	g := &gen{c: c, fn: fn}
	for s := from; s < to; s++ {
		var err error
		if s < c.cfg.People {
			err = g.person(s)
		} else {
			err = g.org(s - c.cfg.People)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Links streams each organisation's legal representative, in organisation
// order. An organisation gets none only when no person of the city was
// 18-75 years old when it was registered.
func (c *City) Links(fn func(credo.Link) error) error {
	for i := 0; i < c.cfg.Orgs; i++ {
		l, ok := c.link(i)
		if !ok {
			continue
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}

func (c *City) link(i int) (credo.Link, bool) {
	if c.cfg.People == 0 {
		return credo.Link{}, false
	}
	o := c.orgs.attrs(i)
	var r rng
	r.seed(c.seed, tagOrgRep, uint64(i))
	for range 64 {
		p := c.people.attrs(r.intn(c.cfg.People))
		if p.adult > o.founded || daysFromCivil(p.cell.year+75, p.month, p.day) <= o.founded {
			continue
		}
		y, m, d := civilFromDays(o.founded)
		return credo.Link{Org: o.uscc(), Person: p.ric(), Role: credo.RoleLegalRepresentative,
			From: time.Date(y, time.Month(m), d, 9, 0, 0, 0, c.loc)}, true
	}
	return credo.Link{}, false
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (int, int, int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

// gen generates the records of a run of subjects.
type gen struct {
	c     *City
	fn    func(*credo.Record) error
	r     rng
	rec   credo.Record
	buf   []byte
	arena []byte
	keys  []uint64

	// The current subject.
	kind     int
	index    int
	global   uint64 // position among all subjects, for case references
	district int
	male     bool
	typ      string
	subject  string
	name     string
	k        int // records so far
}

func (g *gen) person(i int) error {
	c := g.c
	a := c.people.attrs(i)
	lo := c.lowIndex(a.adult)
	if lo >= len(c.days) {
		return nil // a minor throughout: no records
	}
	g.kind, g.index, g.global = kPerson, i, uint64(i)
	g.district, g.male, g.subject, g.name, g.k = a.cell.district, a.cell.male, "", "", 0
	g.r.seed(c.seed, tagPersonRecords, uint64(i))
	return g.subjectRecords(lo, func() string { return a.ric() })
}

func (g *gen) org(i int) error {
	c := g.c
	a := c.orgs.attrs(i)
	lo := c.lowIndex(a.founded)
	if lo >= len(c.days) {
		return nil
	}
	g.kind, g.index, g.global = kOrg, i, uint64(c.cfg.People+i)
	g.district, g.typ, g.subject, g.name, g.k = a.district, a.typ, "", "", 0
	g.r.seed(c.seed, tagOrgRecords, uint64(i))
	return g.subjectRecords(lo, func() string { return a.uscc() })
}

// lowIndex returns the first working day on or after civil day d.
func (c *City) lowIndex(d int64) int {
	if d <= c.days[0].civil {
		return 0
	}
	return sort.Search(len(c.days), func(i int) bool { return c.days[i].civil >= d })
}

// subjectRecords draws which rules the subject is in and emits their
// records. Subjects exposed for the whole window (nearly all) take the fast
// path: one draw decides that most have no records at all.
func (g *gen) subjectRecords(lo int, id func() string) error {
	c := g.c
	seg := 0
	if g.r.float() < riskShare {
		seg = 1
	}
	t := &c.tables[g.kind][seg]
	rules := c.rules[g.kind]
	if lo == 0 {
		u := g.r.float()
		if u >= t.any {
			return nil
		}
		k := 0
		for u >= t.first[k] {
			k++
		}
		if err := g.emit(rules[k], lo, c.years, id); err != nil {
			return err
		}
		for j := k + 1; j < len(rules); j++ {
			if g.r.float() < t.p[j] {
				if err := g.emit(rules[j], lo, c.years, id); err != nil {
					return err
				}
			}
		}
		return nil
	}
	years := c.years * float64(len(c.days)-lo) / float64(len(c.days))
	for j, rg := range rules {
		if g.r.float() < -math.Expm1(-t.annual[j]*years) {
			if err := g.emit(rg, lo, years, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// emit generates the records of one rule for the current subject.
func (g *gen) emit(rg *ruleGen, lo int, years float64, id func() string) error {
	c := g.c
	if g.subject == "" {
		g.subject = id()
		var nr rng
		if g.kind == kPerson {
			nr.seed(c.seed, tagPersonName, uint64(g.index))
			g.name = personName(&nr, g.male)
		} else {
			nr.seed(c.seed, tagOrgName, uint64(g.index))
			g.name = orgName(&nr, g.typ, ident.BeijingDistricts[g.district])
		}
	}
	n := min(1+g.r.geometric(rg.rate.PerYear*years), maxPerSubject-g.k)
	// Draw the decision times first and take them in order, so that case
	// numbers grow with time as they do at an authority.
	keys := g.keys[:0]
	for range n {
		keys = append(keys, uint64(lo+g.r.intn(len(c.days)-lo))<<16|uint64(g.r.intn(workSeconds)))
	}
	slices.Sort(keys)
	g.keys = keys
	rec := &g.rec
	for _, key := range keys {
		g.k++
		wd := &c.days[key>>16]
		sec := wd.sec + int64(key&0xffff)
		a := rg.auths[0]
		if rg.authCum != nil {
			a = rg.auths[pick(rg.authCum[g.district], g.r.float())]
		}
		// Set every field (rather than assign a new Record): a whole-struct
		// copy with write barriers costs more than the rest of the record.
		rec.ID, rec.FiledAt, rec.EvidenceURI = 0, time.Time{}, ""
		rec.Subject, rec.Rule, rec.Authority, rec.SubjectName = g.subject, rg.code, a.id, g.name
		rec.DecidedAt = time.Unix(sec, 0).In(c.loc)
		rec.CaseRef = g.caseRef(a, rg, wd.year)
		rec.Quantity = 0
		if rg.perUnit {
			rec.Quantity = g.r.quantity(rg.qty)
		}
		rec.NotifiedAt = time.Time{}
		if rg.notify {
			if ns := sec + int64(1+g.r.intn(7))*86400 + int64(g.r.intn(3600)); ns < c.endUnix {
				rec.NotifiedAt = time.Unix(ns, 0).In(c.loc)
			}
		}
		rec.EvidenceSHA256 = g.evidence(a)
		if err := g.fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// caseRef formats a case reference unique per authority: its serial number
// is the subject's position among all subjects times 1000 plus the
// subject's record count (at most 999).
func (g *gen) caseRef(a *authGen, rg *ruleGen, year int) string {
	serial := g.global*1000 + uint64(g.k)
	b := g.buf[:0]
	switch a.class {
	case acCourt:
		b = append(b, '(')
		b = strconv.AppendInt(b, int64(year), 10)
		b = append(b, ')')
		b = append(b, a.pre...)
		b = append(b, rg.courtType...)
		b = strconv.AppendUint(b, serial, 10)
		b = append(b, "号"...)
	case acGov:
		b = append(b, a.pre...)
		b = append(b, "〔"...)
		b = strconv.AppendInt(b, int64(year), 10)
		b = append(b, "〕"...)
		b = strconv.AppendUint(b, serial, 10)
		b = append(b, "号"...)
	default:
		b = append(b, a.pre...)
		b = strconv.AppendInt(b, int64(year), 10)
		b = append(b, '-')
		b = strconv.AppendUint(b, serial, 10)
	}
	g.buf = b
	return g.str(b)
}

// evidence is the hex SHA-256 of the (synthetic) decision document,
// standing for it: a digest of the seed, the case serial, the authority and
// the subject, which together identify the record (one SHA-256 block).
func (g *gen) evidence(a *authGen) string {
	var b [20 + 18]byte
	copy(b[:8], g.c.seedByte[:])
	binary.LittleEndian.PutUint64(b[8:], g.global*1000+uint64(g.k))
	binary.LittleEndian.PutUint32(b[16:], uint32(a.index))
	copy(b[20:], g.subject)
	sum := sha256.Sum256(b[:])
	var h [64]byte
	hex.Encode(h[:], sum[:])
	return g.str(h[:])
}

// str returns b as a string, copied into an arena: strings of many records
// share one allocation. The arena's bytes are never written again once a
// string refers to them; a full arena is left to the garbage collector.
func (g *gen) str(b []byte) string {
	if len(g.arena)+len(b) > cap(g.arena) {
		g.arena = make([]byte, 0, max(arenaSize, len(b)))
	}
	n := len(g.arena)
	g.arena = append(g.arena, b...)
	return unsafe.String(&g.arena[n], len(b))
}

const arenaSize = 32 << 10
