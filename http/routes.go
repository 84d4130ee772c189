package http

import (
	_ "embed"
	"net/http"

	"credo"
)

//go:embed openapi.json
var openapiDoc []byte

// registerRoutes declares every endpoint: its pattern, the roles allowed
// and the query parameters it takes. The OpenAPI document must list
// exactly these (a test holds them together).
func (s *Server) registerRoutes() {
	const (
		authorities = rAdmin | rAuthority
		checkers    = rAdmin | rChecker
		subjects    = rAdmin | rSubject
	)
	s.route("POST /v1/records", authorities, nil, s.handleFileRecord)
	s.route("POST /v1/records/batch", authorities, nil, s.handleFileBatch)
	s.route("POST /v1/records/{id}/revoke", authorities, nil, s.handleChange)
	s.route("POST /v1/records/{id}/fulfil", authorities, nil, s.handleChange)
	s.route("POST /v1/records/{id}/repair", authorities, nil, s.handleChange)
	s.route("POST /v1/links", authorities, nil, s.handleAddLink)
	s.route("POST /v1/links/end", authorities, nil, s.handleEndLink)

	s.route("GET /v1/subjects/{id}", subjects, []string{"at", "known"}, s.handleState)
	s.route("GET /v1/subjects/{id}/history", subjects, []string{"from", "to"}, s.handleHistory)
	s.route("GET /v1/subjects/{id}/checks", subjects, []string{"limit"}, s.handleSubjectChecks)
	s.route("GET /v1/subjects/{id}/notices", subjects, nil, s.handleNotices)
	s.route("POST /v1/subjects/{id}/erase", rAdmin, nil, s.handleErase)
	s.route("POST /v1/consents", rSubject, nil, s.handleConsent)

	s.route("POST /v1/checks", checkers, nil, s.handleCheck)
	s.route("POST /v1/checks/batch", checkers, nil, s.handleCheckBatch)
	s.route("GET /v1/checks/{id}", subjects, nil, s.handleReplay)

	s.route("POST /v1/disputes", subjects, nil, s.handleOpenDispute)
	s.route("POST /v1/disputes/{id}/decision", authorities, nil, s.handleDecideDispute)
	s.route("GET /v1/disputes", authorities|rSubject, []string{"state", "subject", "authority", "limit"}, s.handleListDisputes)
	s.route("POST /v1/repairs", subjects, nil, s.handleApplyRepair)
	s.route("POST /v1/repairs/{id}/decision", authorities, nil, s.handleDecideRepair)
	s.route("GET /v1/repairs", authorities|rSubject, []string{"state", "subject", "authority", "limit"}, s.handleListRepairs)

	s.route("GET /v1/lists/{id}", rAnyone, []string{"q", "limit"}, s.handleList)

	s.route("GET /v1/policies", rAnyone, nil, s.handlePolicies)
	s.route("GET /v1/policies/{hash}", rAnyone, nil, s.handlePolicy)
	s.route("POST /v1/policies", rAdmin, []string{"effective"}, s.handlePublish)

	s.registerTransparency()

	s.route("GET /v1/stats", rAdmin|rAuditor, []string{"from", "to"}, s.handleStats)
	s.route("POST /v1/simulations", rAdmin|rAuditor, []string{"at", "threshold", "min_group", "lang"}, s.handleSimulate)
	s.route("GET /v1/openapi.json", rAnyone, nil, func(w http.ResponseWriter, r *http.Request, p *principal) error {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapiDoc)
		return nil
	})

	// Operations endpoints: no authentication, no admission control for
	// /healthz and /metrics.
	s.routes = append(s.routes, "GET /healthz", "GET /readyz", "GET /metrics")
	// They take no query parameters, refused with 400 like everywhere.
	s.mux.Handle("GET /healthz", s.noQuery(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": credo.Version()})
	})))
	s.mux.Handle("GET /readyz", s.noQuery(http.HandlerFunc(s.handleReady)))
	s.mux.Handle("GET /metrics", s.noQuery(s.metricsHandler()))
	s.metrics.watchDueProcess(s.reg)
	s.metrics.watchTail(s.reg)

	s.mux.HandleFunc("/", s.notFound)
}

// noQuery refuses a request with query parameters (400), for the
// operations endpoints, which take none.
func (s *Server) noQuery(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			if err := checkQuery(r, nil); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
