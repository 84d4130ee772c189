package portal

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"credo"
	"credo/ident"
	"credo/policy"
)

// publicPage is the public list lookup: a query, the public lists to
// choose from, and the matching entries with the published fields only.
type publicPage struct {
	Lists   []*policy.List
	List    *policy.List
	Q       string
	Fields  []string
	Rows    [][]string
	Total   int
	Shown   int
	AsOf    time.Time
	Errors  map[string]string
	Queried bool
}

// maxPublicRows bounds the entries one page shows.
const maxPublicRows = 100

func (p *Portal) handlePublic(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	pol, _, err := p.reg.Policy(ctx)
	if err != nil {
		return err
	}
	pg := publicPage{Errors: map[string]string{}}
	for _, l := range pol.Lists {
		if l.Public {
			pg.Lists = append(pg.Lists, l)
		}
	}
	qs := r.URL.Query()
	pg.Q = strings.TrimSpace(qs.Get("q"))
	listID := qs.Get("list")
	if listID == "" && len(pg.Lists) > 0 {
		listID = pg.Lists[0].ID
	}
	if l := pol.List(listID); l != nil && l.Public {
		pg.List = l
	} else {
		pg.Errors["list"] = tr(c.lang, "public.list.invalid")
	}
	if len(pg.Q) > 200 {
		pg.Errors["q"] = tr(c.lang, "public.q.long")
	}
	_, hasQ := qs["q"]
	if !hasQ || len(pg.Errors) > 0 {
		status := http.StatusOK
		if len(pg.Errors) > 0 {
			status = http.StatusBadRequest
		}
		p.render(w, c, status, "public", "public.title", pg)
		return nil
	}
	pg.Queried = true
	cs, err := p.census.get(ctx)
	if err != nil {
		return err
	}
	pg.AsOf = cs.at
	pg.Fields = pg.List.Publish
	entries := slices.Clone(cs.entries[pg.List.ID])
	slices.SortFunc(entries, func(a, b listEntry) int {
		if c := a.since.Compare(b.since); c != 0 {
			return -c
		}
		return strings.Compare(a.id.Canonical+a.caseRef, b.id.Canonical+b.caseRef)
	})
	match := p.matcher(pg.Q)
	for _, e := range entries {
		if !match(e) {
			continue
		}
		pg.Total++
		if len(pg.Rows) < maxPublicRows {
			pg.Rows = append(pg.Rows, publishRow(c, e, pg.Fields, cs.at, pol))
		}
	}
	pg.Shown = len(pg.Rows)
	p.render(w, c, http.StatusOK, "public", "public.title", pg)
	return nil
}

// matcher tests an entry against q: an exact identifier if q parses as
// one, else a case-insensitive substring of the name.
func (p *Portal) matcher(q string) func(listEntry) bool {
	if q == "" {
		return func(listEntry) bool { return true }
	}
	if id, err := p.reg.ParseSubject(q); err == nil {
		return func(e listEntry) bool { return e.id.Canonical == id.Canonical }
	}
	lq := strings.ToLower(q)
	return func(e listEntry) bool { return e.name != "" && strings.Contains(strings.ToLower(e.name), lq) }
}

// publishRow returns the entry's published fields, in the list's order:
// never a score, a tier or anything the policy does not publish.
func publishRow(c *reqCtx, e listEntry, fields []string, now time.Time, pol *policy.Policy) []string {
	loc := pol.Location()
	row := make([]string, len(fields))
	for i, f := range fields {
		switch f {
		case "name":
			row[i] = e.name
		case "identifier":
			row[i] = maskIdentifier(e.id)
		case "sex":
			if e.id.Sex != credo.SexUnknown {
				row[i] = tr(c.lang, "sex."+e.id.Sex.String())
			}
		case "age":
			if e.id.HasBirth() {
				row[i] = strconv.Itoa(e.id.AgeAt(now, loc))
			}
		case "region":
			row[i] = e.id.Province
		case "obligation":
			row[i] = e.obligation
		case "conduct":
			row[i] = e.conduct
		case "case_ref":
			row[i] = e.caseRef
		case "authority":
			row[i] = e.authority
		case "since":
			row[i] = e.since.In(loc).Format("2006-01-02")
		case "until":
			if !e.until.IsZero() {
				row[i] = e.until.In(loc).Format("2006-01-02")
			}
		}
	}
	return row
}

// maskIdentifier hides the birth date in a Resident Identity Card number
// (as the published lists of dishonest debtors do); organisation codes and
// passports are shown whole.
func maskIdentifier(id ident.ID) string {
	if id.Scheme == ident.RIC && len(id.Canonical) == 18 {
		return id.Canonical[:6] + "********" + id.Canonical[14:]
	}
	return id.Canonical
}
