package simulate

import "time"

// Report is what a draft policy would change, to whom, at one instant.
type Report struct {
	At time.Time `json:"at"`
	// Known is the instant whose knowledge was used: events recorded
	// after it were left out.
	Known   time.Time `json:"known"`
	Current PolicyRef `json:"current"`
	// Warnings say why a report may not show what was meant (nothing was
	// known yet at Known).
	Warnings []string  `json:"warnings,omitempty"`
	Draft    PolicyRef `json:"draft"`
	// Population says which subjects the report covers.
	Population Population `json:"population"`
	// Threshold is the disparity ratio under which a disparity is flagged;
	// MinGroup the least members a group needs to take part in a ratio.
	Threshold float64 `json:"threshold"`
	MinGroup  int     `json:"min_group"`
	// Changed counts the subjects whose tiers, listings or decisions differ.
	Changed     int            `json:"changed"`
	Schemes     []SchemeShift  `json:"schemes"`
	Lists       []ListShift    `json:"lists"`
	Sectors     []SectorShift  `json:"sectors"`
	Measures    []MeasureShift `json:"measures"`
	Effects     []Effect       `json:"effects"`
	Breakdowns  []Breakdown    `json:"breakdowns"`
	Disparities []Disparity    `json:"disparities"`
	// MostAffected lists the subjects with the most adverse changes. Only
	// the admin view has it: Redact removes it.
	MostAffected []Affected `json:"most_affected,omitempty"`
	// Definition states exactly how rates and disparity ratios are computed.
	Definition string `json:"definition"`
	Timing     Timing `json:"timing"`
}

// PolicyRef names one of the two policies compared.
type PolicyRef struct {
	Hash    string `json:"hash"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Population describes the subjects the report covers.
type Population struct {
	Subjects   int `json:"subjects"`    // all subjects evaluated
	WithEvents int `json:"with_events"` // of which with events in the log
	Persons    int `json:"persons"`
	Orgs       int `json:"orgs"`
	// Census is true when the caller supplied the list of all subjects,
	// so that those without events are counted too.
	Census bool   `json:"census"`
	Note   string `json:"note"`
}

// Timing says how long the simulation took.
type Timing struct {
	Load     time.Duration `json:"load_ns"`
	Evaluate time.Duration `json:"evaluate_ns"`
	Workers  int           `json:"workers"`
}

// SchemeShift is the tier transition matrix of one points scheme.
type SchemeShift struct {
	Scheme string            `json:"scheme"`
	Title  string            `json:"title,omitempty"`
	Titles map[string]string `json:"titles,omitempty"` // the title per language, when the policy translates it
	// Tiers are the tier names of both versions, best first, then the
	// pseudo-tiers Unscored ("(unscored)") and Absent ("(not in policy)").
	Tiers       []string     `json:"tiers"`
	Transitions []Transition `json:"transitions"` // from != to only
	Stayed      int          `json:"stayed"`
	Down        int          `json:"down"`
	Up          int          `json:"up"`
	// Before and After count the subjects per tier.
	Before map[string]int `json:"before"`
	After  map[string]int `json:"after"`
}

// Pseudo-tiers of a transition matrix.
const (
	Unscored = "(unscored)"
	Absent   = "(not in policy)"
)

// Transition counts the subjects who move from one tier to another.
type Transition struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int    `json:"count"`
}

// ListShift counts the entries and exits of one list.
type ListShift struct {
	List    string            `json:"list"`
	Title   string            `json:"title,omitempty"`
	Titles  map[string]string `json:"titles,omitempty"` // the title per language, when the policy translates it
	Kind    string            `json:"kind"`             // black | red | watch
	Before  int               `json:"before"`
	After   int               `json:"after"`
	Entries int               `json:"entries"`
	Exits   int               `json:"exits"`
	// Status is "added" or "removed" for a list only one version has.
	Status string `json:"status,omitempty"`
}

// SectorShift counts the decisions that change in one sector.
type SectorShift struct {
	Sector        string            `json:"sector"`
	Title         string            `json:"title,omitempty"`
	Titles        map[string]string `json:"titles,omitempty"` // the title per language, when the policy translates it
	DeniedBefore  int               `json:"denied_before"`
	DeniedAfter   int               `json:"denied_after"`
	NewlyDenied   int               `json:"newly_denied"`
	DenialsLifted int               `json:"denials_lifted"`
	LimitedBefore int               `json:"limited_before"`
	LimitedAfter  int               `json:"limited_after"`
	NewlyLimited  int               `json:"newly_limited"`
	LimitsLifted  int               `json:"limits_lifted"`
	GrantedBefore int               `json:"granted_before"`
	GrantedAfter  int               `json:"granted_after"`
	NewlyGranted  int               `json:"newly_granted"`
	GrantsLost    int               `json:"grants_lost"`
}

// MeasureShift counts the subjects a measure is in force against (or,
// for a grant, for) before and after, and those it newly reaches or no
// longer reaches.
type MeasureShift struct {
	Measure string            `json:"measure"`
	Title   string            `json:"title,omitempty"`
	Titles  map[string]string `json:"titles,omitempty"` // the title per language, when the policy translates it
	Sector  string            `json:"sector"`
	Effect  string            `json:"effect"` // deny | limit | grant
	Before  int               `json:"before"`
	After   int               `json:"after"`
	Applied int               `json:"applied"` // newly in force
	Lifted  int               `json:"lifted"`  // no longer in force
	// Status is "added" or "removed" for a measure only one version has.
	Status string `json:"status,omitempty"`
}

// Effect is one adverse effect of the draft that the breakdowns and
// disparities count: newly denied or limited in a sector, a reward lost,
// newly on a black- or watchlist, off a redlist, a tier down.
type Effect struct {
	ID    string `json:"id"` // deny:SECTOR, limit:SECTOR, grant-lost:SECTOR, list:LIST, delisted:LIST, tier-down:SCHEME, any
	Label string `json:"label"`
	Count int    `json:"count"` // subjects affected
}

// Breakdown counts the adverse effects per group of one dimension.
type Breakdown struct {
	// Dimension is person.district, person.age, person.sex, org.district
	// or org.type.
	Dimension string  `json:"dimension"`
	Label     string  `json:"label"`
	Groups    []Group `json:"groups"`
}

// Group is one group of a breakdown.
type Group struct {
	Key  string `json:"key"` // region code, age band, sex, USCC type code
	Name string `json:"name"`
	Size int    `json:"size"`
	// Affected counts the group's subjects per effect id (zero counts omitted).
	Affected map[string]int `json:"affected"`
	// Excluded says why the group takes no part in disparity ratios
	// (besides being smaller than MinGroup).
	Excluded string `json:"excluded,omitempty"`
}

// Disparity is the ratio of the lowest to the highest rate of one adverse
// effect across the groups of one dimension.
type Disparity struct {
	Dimension string  `json:"dimension"`
	Effect    string  `json:"effect"`
	Label     string  `json:"label"`
	Groups    int     `json:"groups"`   // groups taking part
	Affected  int     `json:"affected"` // subjects affected in those groups
	MinGroup  string  `json:"min_group"`
	MinRate   float64 `json:"min_rate"`
	MaxGroup  string  `json:"max_group"`
	MaxRate   float64 `json:"max_rate"`
	Ratio     float64 `json:"ratio"`
	Flagged   bool    `json:"flagged"`
	// PValue is the two-sided Fisher exact test of the highest-rate group
	// against the lowest, Bonferroni-adjusted for the number of group
	// pairs; Significant is PValue < 0.05. A flagged ratio that is not
	// significant may well be chance.
	PValue      float64 `json:"p_value"`
	Significant bool    `json:"significant"`
}

// Affected is one of the subjects the draft affects most (admin view only).
type Affected struct {
	Subject string `json:"subject"`
	Kind    string `json:"kind"`
	// Adverse counts the subject's adverse effects.
	Adverse      int          `json:"adverse"`
	NewlyDenied  []string     `json:"newly_denied,omitempty"`  // sectors
	NewlyLimited []string     `json:"newly_limited,omitempty"` // sectors
	GrantsLost   []string     `json:"grants_lost,omitempty"`   // sectors
	Entered      []string     `json:"entered,omitempty"`       // lists
	Left         []string     `json:"left,omitempty"`          // lists
	Tiers        []TierChange `json:"tiers,omitempty"`
}

// TierChange is one subject's move in one scheme.
type TierChange struct {
	Scheme      string `json:"scheme"`
	From        string `json:"from"`
	To          string `json:"to"`
	ScoreBefore int    `json:"score_before"`
	ScoreAfter  int    `json:"score_after"`
}

// Redact returns the report without subject identifiers: the auditor's
// view.
func (r *Report) Redact() *Report {
	c := *r
	c.MostAffected = nil
	return &c
}

// Definition is the exact definition of rates and disparity ratios, stated
// in every report.
const Definition = `Both policies are evaluated for every subject at the same instant, with the engine's own functions (the evaluation the decision table uses, and the check's decision per sector; equal to engine.Evaluate and State.Decide), from the same facts. ` +
	`An adverse effect is one of: newly denied in a sector (allow or limit before, deny after); newly limited (allow before, limit after); a reward (grant) in a sector lost; newly on a black- or watchlist; off a redlist; a tier down (tier changed to one whose minimum score is lower). "any" is a subject with at least one adverse effect. ` +
	`For each dimension (district, age band at the instant, sex for persons; district and USCC registration type for organisations) the rate of an effect in a group is affected members / members. ` +
	`The disparity ratio of an effect is the lowest rate divided by the highest rate across the groups that have at least min_group members (and are not excluded: minors, whom no sanction may reach, are excluded from the age-band ratios; so are subjects whose group is unknown). ` +
	`It is computed only when at least two groups take part and the highest rate is above zero, and flagged when it is below the threshold (default 0.8, the four-fifths rule). ` +
	`Because rare effects give extreme ratios by chance, each ratio also carries the two-sided Fisher exact test of the highest-rate group against the lowest-rate group, its p-value multiplied by the number of group pairs (Bonferroni; at most 1), and is marked significant when that is below 0.05. ` +
	`A ratio of 1 means every group is affected at the same rate; a small ratio means one group bears the effect far more than another. Small counts make rates noisy: read the counts beside each ratio.`
