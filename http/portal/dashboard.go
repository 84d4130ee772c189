package portal

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"credo"
)

// dashboardPage is the operator's view: aggregates only, no personal data.
type dashboardPage struct {
	AsOf     time.Time
	Subjects int
	Policy   string
	Charts   []chartView
	Versions []credo.PolicyVersion
	Warning  string
}

// chartView is one plot and the table of its data.
type chartView struct {
	ID      string
	Title   string
	SVG     template.HTML
	Columns []string
	Rows    [][]string
	Note    string
}

func (p *Portal) handleDashboard(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	pol, _, err := p.reg.Policy(ctx)
	if err != nil {
		return err
	}
	cs, err := p.census.Get(ctx)
	if err != nil {
		return err
	}
	loc := pol.Location()
	d := dashboardPage{AsOf: cs.At, Subjects: cs.Subjects, Policy: cs.Policy}
	T := func(k string) string { return tr(c.lang, k) }

	// Tier distribution, per scheme.
	for _, sc := range pol.Schemes {
		m := cs.Tiers[sc.ID]
		unscored := 0
		for _, n := range cs.Unscored[sc.ID] {
			unscored += n
		}
		var labels []string
		var vals []float64
		cv := chartView{ID: "tiers-" + sc.ID, Title: T("dash.tiers") + ": " + orDefault(sc.Title.For(c.lang), sc.ID), Columns: []string{T("dash.tier"), T("dash.subjects")}}
		for _, t := range sc.Tiers {
			labels = append(labels, t.Name)
			vals = append(vals, float64(m[t.Name]))
			cv.Rows = append(cv.Rows, []string{t.Name, itoa(m[t.Name])})
		}
		labels = append(labels, T("dash.unscored"))
		vals = append(vals, float64(unscored))
		cv.Rows = append(cv.Rows, []string{T("dash.unscored"), itoa(unscored)})
		cv.SVG = barChart(cv.Title, T("dash.tiers.desc"), labels, []series{{Name: T("dash.subjects"), Values: vals}})
		d.Charts = append(d.Charts, cv)
	}

	// List sizes over time.
	{
		var labels []string
		for _, t := range cs.Instants {
			labels = append(labels, t.In(loc).Format("2006-01"))
		}
		cv := chartView{ID: "lists", Title: T("dash.lists"), Columns: append([]string{T("dash.list")}, labels...)}
		var ss []series
		for _, l := range pol.Lists {
			s := series{Name: orDefault(l.Title.For(c.lang), l.ID)}
			row := []string{s.Name}
			for _, n := range cs.Sizes[l.ID] {
				s.Values = append(s.Values, float64(n))
				row = append(row, itoa(n))
			}
			ss = append(ss, s)
			cv.Rows = append(cv.Rows, row)
		}
		cv.SVG = lineChart(cv.Title, T("dash.lists.desc"), labels, ss)
		d.Charts = append(d.Charts, cv)
	}

	// Checks and denials per sector per day.
	checks, denials, days, sectors, note, err := p.checkCounts(ctx, c.lang, c.now.AddDate(0, 0, -13), c.now)
	if err != nil {
		return err
	}
	for _, kind := range []string{"checks", "denials"} {
		m := checks
		if kind == "denials" {
			m = denials
		}
		cv := chartView{ID: kind, Title: T("dash." + kind), Columns: append([]string{T("dash.sector")}, days...), Note: note}
		var ss []series
		for _, sec := range sectors {
			s := series{Name: sectorTitle(pol, sec, c.lang)}
			row := []string{s.Name}
			for _, day := range days {
				n := m[sec+"|"+day]
				s.Values = append(s.Values, float64(n))
				row = append(row, itoa(int(n)))
			}
			ss = append(ss, s)
			cv.Rows = append(cv.Rows, row)
		}
		short := make([]string, len(days))
		for i, day := range days {
			short[i] = day[5:]
		}
		cv.SVG = lineChart(cv.Title, T("dash."+kind+".desc"), short, ss)
		d.Charts = append(d.Charts, cv)
	}

	// Objections and repair applications open and overdue, per authority.
	counts, err := p.reg.DueProcessCounts(ctx)
	if err != nil {
		return err
	}
	{
		var auths []string
		for a := range counts {
			auths = append(auths, a)
		}
		slices.Sort(auths)
		cv := chartView{ID: "due", Title: T("dash.due"), Columns: []string{T("dash.authority"), T("dash.open.disputes"), T("dash.overdue.disputes"), T("dash.open.repairs"), T("dash.overdue.repairs")}}
		open := series{Name: T("dash.open")}
		overdue := series{Name: T("dash.overdue")}
		var labels []string
		for _, a := range auths {
			n := counts[a]
			name := authorityName(pol, a, c.lang)
			if a == "" {
				name = T("dash.admin")
			}
			labels = append(labels, name)
			open.Values = append(open.Values, float64(n.OpenDisputes+n.OpenRepairs))
			overdue.Values = append(overdue.Values, float64(n.OverdueDisputes+n.OverdueRepairs))
			cv.Rows = append(cv.Rows, []string{name, itoa(n.OpenDisputes), itoa(n.OverdueDisputes), itoa(n.OpenRepairs), itoa(n.OverdueRepairs)})
		}
		if len(auths) == 0 {
			cv.Note = T("dash.due.none")
		}
		cv.SVG = hbarChart(cv.Title, T("dash.due.desc"), labels, []series{open, overdue})
		d.Charts = append(d.Charts, cv)
	}

	// Ingest rate: records filed per day over the last 30 days.
	{
		cv := chartView{ID: "ingest", Title: T("dash.ingest"), Columns: []string{T("dash.day"), T("dash.records")}}
		var labels []string
		var vals []float64
		for i := 29; i >= 0; i-- {
			day := c.now.AddDate(0, 0, -i).In(loc).Format("2006-01-02")
			labels = append(labels, day[5:])
			vals = append(vals, float64(cs.Filed[day]))
			cv.Rows = append(cv.Rows, []string{day, itoa(cs.Filed[day])})
		}
		cv.SVG = barChart(cv.Title, T("dash.ingest.desc"), labels, []series{{Name: T("dash.records"), Values: vals}})
		d.Charts = append(d.Charts, cv)
	}

	// Policy versions, on a timeline.
	if d.Versions, err = p.reg.Store().Policies(ctx); err != nil {
		return err
	}
	{
		cv := chartView{ID: "policies", Title: T("dash.policies"), Columns: []string{T("dash.policy.hash"), T("dash.policy.name"), T("dash.policy.effective"), T("dash.policy.published")}}
		var labels []string
		var vals []float64
		for i, v := range d.Versions {
			labels = append(labels, v.Effective.In(loc).Format("2006-01-02"))
			vals = append(vals, float64(i+1))
			cv.Rows = append(cv.Rows, []string{short(v.Hash), v.Name, v.Effective.In(loc).Format("2006-01-02 15:04"), v.Published.In(loc).Format("2006-01-02 15:04")})
		}
		cv.SVG = lineChart(cv.Title, T("dash.policies.desc"), labels, []series{{Name: T("dash.policy.count"), Values: vals}})
		d.Charts = append(d.Charts, cv)
	}
	p.render(w, c, http.StatusOK, "dashboard", "dash.title", d)
	return nil
}

// checkCounts counts checks and denials by sector and day (UTC) in
// [from, to] from the check log, if it can aggregate.
func (p *Portal) checkCounts(ctx context.Context, lang string, from, to time.Time) (checks, denials map[string]int64, days, sectors []string, note string, err error) {
	checks, denials = map[string]int64{}, map[string]int64{}
	for t := from.UTC(); !t.After(to.UTC()); t = t.AddDate(0, 0, 1) {
		days = append(days, t.Format("2006-01-02"))
	}
	cc, ok := p.checks.(credo.CheckCounter)
	if !ok {
		return checks, denials, days, nil, tr(lang, "dash.checks.none"), nil
	}
	if p.opts.FlushChecks != nil {
		if err := p.opts.FlushChecks(ctx); err != nil {
			return nil, nil, nil, nil, "", credo.Errorf(credo.EUNAVAILABLE, "the check log is catching up; try again")
		}
	}
	seen := map[string]bool{}
	start := time.Date(from.UTC().Year(), from.UTC().Month(), from.UTC().Day(), 0, 0, 0, 0, time.UTC)
	err = cc.CountChecks(ctx, start, to.Add(time.Second), func(day time.Time, sector, decision string, n int64) error {
		k := sector + "|" + day.UTC().Format("2006-01-02")
		checks[k] += n
		if decision == "deny" {
			denials[k] += n
		}
		if !seen[sector] {
			seen[sector] = true
			sectors = append(sectors, sector)
		}
		return nil
	})
	slices.Sort(sectors)
	return checks, denials, days, sectors, "", err
}

func itoa(n int) string { return strings.TrimSpace(fmtNum(float64(n))) }

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
