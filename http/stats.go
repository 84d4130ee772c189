package http

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"credo"
)

// Stats is the answer to GET /v1/stats: aggregates only, no personal data.
type Stats struct {
	AsOf     time.Time     `json:"as_of"`
	Policy   string        `json:"policy"`
	Subjects int           `json:"subjects"` // subjects with events
	Table    int           `json:"table_entries"`
	Schemes  []SchemeStats `json:"schemes"`
	Lists    []ListStats   `json:"lists"`
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Checks   []CheckStat   `json:"checks"`
	// ChecksSource says where the check counts come from: "check_log" (all
	// checks), or "memory" (this server's checks since it started, when the
	// check log cannot aggregate).
	ChecksSource string `json:"checks_source"`
}

// SchemeStats is the tier distribution of one scheme.
type SchemeStats struct {
	Scheme   string         `json:"scheme"`
	Tiers    map[string]int `json:"tiers"`
	Unscored map[string]int `json:"unscored"`
}

// ListStats is the size of one list.
type ListStats struct {
	List   string `json:"list"`
	Kind   string `json:"kind"`
	Public bool   `json:"public"`
	Size   int    `json:"size"`
}

// CheckStat counts the checks in one sector on one day (UTC).
type CheckStat struct {
	Day     string `json:"day"` // YYYY-MM-DD
	Sector  string `json:"sector"`
	Checks  int64  `json:"checks"`
	Denials int64  `json:"denials"`
	Limits  int64  `json:"limits"`
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request, p *principal) error {
	ctx := r.Context()
	from, err := s.queryTime(r, "from")
	if err != nil {
		return err
	}
	to, err := s.queryTime(r, "to")
	if err != nil {
		return err
	}
	if to.IsZero() {
		to = s.reg.Now()
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	if !from.Before(to) {
		return invalid("from", "must be before to")
	}
	pol, _, err := s.reg.Policy(ctx)
	if err != nil {
		return err
	}
	cs, err := s.census.Get(ctx)
	if err != nil {
		return err
	}
	st := Stats{AsOf: cs.At, Policy: cs.Policy, Subjects: cs.Subjects, From: from, To: to, Schemes: []SchemeStats{}, Lists: []ListStats{}}
	if t, err := s.reg.Table(ctx); err == nil {
		st.Table = t.Len()
	}
	for _, sc := range pol.Schemes {
		if tiers := cs.Tiers[sc.ID]; tiers != nil {
			st.Schemes = append(st.Schemes, SchemeStats{Scheme: sc.ID, Tiers: tiers, Unscored: cs.Unscored[sc.ID]})
		}
	}
	for _, l := range pol.Lists {
		if _, ok := cs.Sizes[l.ID]; ok {
			st.Lists = append(st.Lists, ListStats{List: l.ID, Kind: l.Kind, Public: l.Public, Size: cs.Size(l.ID)})
		}
	}
	if st.Checks, st.ChecksSource, err = s.checkStats(ctx, from, to); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// checkStats counts checks by day and sector from the check log if it can
// aggregate, else from this server's own counts.
func (s *Server) checkStats(ctx context.Context, from, to time.Time) ([]CheckStat, string, error) {
	type key struct{ day, sector string }
	out := []CheckStat{}
	if cst, ok := s.checkLog.(credo.CheckCounter); ok {
		if err := s.checks.Flush(ctx); err != nil {
			return nil, "", credo.Errorf(credo.EUNAVAILABLE, "the check log is catching up; try again")
		}
		idx := map[key]int{}
		err := cst.CountChecks(ctx, from, to, func(day time.Time, sector, decision string, n int64) error {
			k := key{day.UTC().Format("2006-01-02"), sector}
			i, ok := idx[k]
			if !ok {
				i = len(out)
				idx[k] = i
				out = append(out, CheckStat{Day: k.day, Sector: sector})
			}
			out[i].Checks += n
			switch decision {
			case "deny":
				out[i].Denials += n
			case "limit":
				out[i].Limits += n
			}
			return nil
		})
		if err != nil {
			return nil, "", err
		}
		sortStats(out)
		return out, "check_log", nil
	}
	lo, hi := from.UTC().Format("2006-01-02"), to.UTC().Format("2006-01-02")
	s.metrics.statsMu.Lock()
	for _, c := range s.metrics.stats {
		if c.Day >= lo && c.Day <= hi {
			out = append(out, *c)
		}
	}
	s.metrics.statsMu.Unlock()
	sortStats(out)
	return out, "memory", nil
}

func sortStats(cs []CheckStat) {
	slices.SortFunc(cs, func(a, b CheckStat) int {
		if c := strings.Compare(a.Day, b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.Sector, b.Sector)
	})
}
