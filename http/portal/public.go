package portal

import (
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"credo"
	"credo/ident"
	"credo/policy"
	"credo/registry"
)

// publicPage is the public list lookup: a query, the public lists to
// choose from, and the matching entries with the published fields only.
type publicPage struct {
	Lists   []publicList
	List    *publicList
	Q       string
	Fields  []string
	Rows    [][]string
	Total   int
	Shown   int
	AsOf    time.Time
	Errors  map[string]string
	Queried bool
}

// publicList is a public list as shown: its texts in the page's language.
type publicList struct {
	ID, Title, LegalBasis, Contest string
	Publish                        []string
}

func publicListIn(l *policy.List, lang string) publicList {
	return publicList{ID: l.ID, Title: l.Title.For(lang), LegalBasis: l.LegalBasis.For(lang), Contest: l.Contest.For(lang), Publish: l.Publish}
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
			pg.Lists = append(pg.Lists, publicListIn(l, c.lang))
		}
	}
	qs := r.URL.Query()
	pg.Q = strings.TrimSpace(qs.Get("q"))
	listID := qs.Get("list")
	if listID == "" && len(pg.Lists) > 0 {
		listID = pg.Lists[0].ID
	}
	if l := pol.List(listID); l != nil && l.Public {
		pl := publicListIn(l, c.lang)
		pg.List = &pl
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
	if pg.Q != "" && p.lookupLimit != nil {
		// Anonymous lookups are limited per address, like sign-in.
		if ok, wait := p.lookupLimit.Allow(remoteHost(r), time.Now()); !ok {
			secs := max(int(math.Ceil(wait.Seconds())), 1)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			p.renderError(w, c, http.StatusTooManyRequests, c.Tf("err.ratelimited.lookup", secs))
			return nil
		}
	}
	pg.Queried = true
	// From the census built in the background: a visitor never makes the
	// server scan its log (until the first census exists, the page says
	// to come back in a few seconds).
	cs, err := p.census.Current(ctx)
	if err != nil {
		return err
	}
	pg.AsOf = cs.At
	pg.Fields = registry.PublishedFields(pg.List.Publish)
	entries := slices.Clone(cs.Entries[pg.List.ID])
	slices.SortFunc(entries, func(a, b registry.ListEntry) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return -c
		}
		return strings.Compare(a.ID.Canonical+a.CaseRef, b.ID.Canonical+b.CaseRef)
	})
	match := p.matcher(pg.Q)
	for _, e := range entries {
		if !match(e) {
			continue
		}
		pg.Total++
		if len(pg.Rows) < maxPublicRows {
			pg.Rows = append(pg.Rows, publishRow(c, e.In(pol, c.lang), pg.Fields, cs.At, pol))
		}
	}
	pg.Shown = len(pg.Rows)
	p.render(w, c, http.StatusOK, "public", "public.title", pg)
	return nil
}

// matcher tests an entry against q (see registry.MatchEntry: an
// identifier is compared in its masked form, so that a lookup never
// confirms a number the list does not show).
func (p *Portal) matcher(q string) func(registry.ListEntry) bool {
	return registry.MatchEntry(q, func(q string) (ident.ID, error) { return p.reg.ParseSubject(q) })
}

// publishRow returns the entry's published fields, in the list's order:
// never a score, a tier or anything the policy does not publish.
func publishRow(c *reqCtx, e registry.ListEntry, fields []string, now time.Time, pol *policy.Policy) []string {
	loc := pol.Location()
	row := make([]string, len(fields))
	for i, f := range fields {
		switch f {
		case "name":
			row[i] = e.Name
		case "identifier":
			row[i] = registry.MaskIdentifier(e.ID)
		case "sex":
			if e.ID.Sex != credo.SexUnknown {
				row[i] = tr(c.lang, "sex."+e.ID.Sex.String())
			}
		case "age":
			if e.ID.HasBirth() {
				row[i] = strconv.Itoa(e.ID.AgeAt(now, loc))
			}
		case "region":
			row[i] = e.ID.Province
		case "obligation":
			row[i] = e.Obligation
		case "conduct":
			row[i] = e.Conduct
		case "case_ref":
			row[i] = e.CaseRef
		case "authority":
			row[i] = e.Authority
		case "since":
			row[i] = e.Since.In(loc).Format("2006-01-02")
		case "until":
			if !e.Until.IsZero() {
				row[i] = e.Until.In(loc).Format("2006-01-02")
			}
		}
	}
	return row
}

// remoteHost is the address a request came from, without its port.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
