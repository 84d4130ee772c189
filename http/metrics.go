package http

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"credo/registry"
)

// metrics are the server's Prometheus metrics, in a registry of its own (so
// that several servers can run in one process, as in tests). The hot path
// resolves label values once and keeps the children, so recording a
// request or a check does not allocate.
type metrics struct {
	reg *prometheus.Registry // operational: served to anyone
	biz *prometheus.Registry // business figures per sector or authority: admin and auditor only

	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	rejected  *prometheus.CounterVec
	checks    *prometheus.CounterVec
	filed     *prometheus.CounterVec
	flushDur  prometheus.Histogram
	flushErrs prometheus.Counter
	logged    prometheus.Counter

	mu       sync.RWMutex
	byRoute  map[routeStatus]routeObs
	bySector map[sectorDecision]prometheus.Counter

	// stats counts checks and denials by day and sector since start, for
	// /v1/stats when the check log cannot aggregate.
	statsMu sync.Mutex
	stats   map[dayKey]*CheckStat
}

type routeStatus struct {
	route  string
	status int
}

type routeObs struct {
	count prometheus.Counter
	lat   prometheus.Observer
}

type sectorDecision struct{ sector, decision string }

type dayKey struct {
	day    int // yyyymmdd
	sector string
}

func newMetrics(queueDepth, inFlight func() float64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		biz: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credo_http_requests_total", Help: "HTTP requests by route pattern and status.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "credo_http_request_duration_seconds", Help: "HTTP request latency by route pattern and status.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "code"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credo_http_rejected_total", Help: "Requests refused before handling: reason overload (admission control) or rate_limit.",
		}, []string{"reason"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credo_checks_total", Help: "Checks answered by sector and decision.",
		}, []string{"sector", "decision"}),
		filed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credo_records_filed_total", Help: "Records filed through the API: result created or present (identical re-filing).",
		}, []string{"result"}),
		flushDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "credo_checklog_flush_duration_seconds", Help: "Latency of writing one batch to the check log.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		flushErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "credo_checklog_flush_errors_total", Help: "Failed check-log writes (each is retried).",
		}),
		logged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "credo_checklog_written_total", Help: "Checks written to the check log.",
		}),
		byRoute:  map[routeStatus]routeObs{},
		bySector: map[sectorDecision]prometheus.Counter{},
		stats:    map[dayKey]*CheckStat{},
	}
	m.biz.MustRegister(m.checks)
	m.reg.MustRegister(m.requests, m.latency, m.rejected, m.filed, m.flushDur, m.flushErrs, m.logged,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "credo_checklog_queue_depth", Help: "Checks waiting to be written to the check log."}, queueDepth),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "credo_http_in_flight", Help: "Requests being handled."}, inFlight),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// handler serves the metrics: the operational ones to anyone (probes and
// scrapers need no token), and with them, to an admin or auditor token,
// the business figures — checks and denials per sector, open and overdue
// items per authority — which are not the public's to read (and whose
// due-process counts query the store on every scrape).
func (s *Server) metricsHandler() http.Handler {
	m := s.metrics
	ops := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	all := promhttp.HandlerFor(prometheus.Gatherers{m.reg, m.biz}, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			if p, err := s.authenticate(r, time.Now()); err == nil && p.is(rAdmin|rAuditor) {
				all.ServeHTTP(w, r)
				return
			}
		}
		ops.ServeHTTP(w, r)
	})
}

// request records one handled request.
func (m *metrics) request(route string, status int, d time.Duration) {
	k := routeStatus{route, status}
	m.mu.RLock()
	o, ok := m.byRoute[k]
	m.mu.RUnlock()
	if !ok {
		code := strconv.Itoa(status)
		o = routeObs{count: m.requests.WithLabelValues(route, code), lat: m.latency.WithLabelValues(route, code)}
		m.mu.Lock()
		m.byRoute[k] = o
		m.mu.Unlock()
	}
	o.count.Inc()
	o.lat.Observe(d.Seconds())
}

// check records one answered check.
func (m *metrics) check(sector, decision string) {
	k := sectorDecision{sector, decision}
	m.mu.RLock()
	c, ok := m.bySector[k]
	m.mu.RUnlock()
	if !ok {
		c = m.checks.WithLabelValues(sector, decision)
		m.mu.Lock()
		m.bySector[k] = c
		m.mu.Unlock()
	}
	c.Inc()
}

// countStat adds a check to the in-memory daily counts.
func (m *metrics) countStat(sector, decision string, at time.Time) {
	y, mo, d := at.UTC().Date()
	k := dayKey{y*10000 + int(mo)*100 + d, sector}
	m.statsMu.Lock()
	s := m.stats[k]
	if s == nil {
		s = &CheckStat{Day: string(appendDate(nil, y, int(mo), d)), Sector: sector}
		m.stats[k] = s
	}
	s.Checks++
	switch decision {
	case "deny":
		s.Denials++
	case "limit":
		s.Limits++
	}
	m.statsMu.Unlock()
}

func appendDate(b []byte, y, m, d int) []byte {
	b = strconv.AppendInt(b, int64(y), 10)
	b = append(b, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
	return b
}

func (m *metrics) fileResult(created bool) {
	if created {
		m.filed.WithLabelValues("created").Inc()
	} else {
		m.filed.WithLabelValues("present").Inc()
	}
}

func (m *metrics) flushed(n int, d time.Duration, err error) {
	m.flushDur.Observe(d.Seconds())
	if err != nil {
		m.flushErrs.Inc()
		return
	}
	m.logged.Add(float64(n))
}

func (m *metrics) reject(reason string) { m.rejected.WithLabelValues(reason).Inc() }

// dueProcessCollector reports, on every scrape, each authority's open and
// overdue disputes and repair applications: the deadline metrics of due
// process. Every authority of the policy in force is reported, with zeros,
// so that a series drops to 0 rather than vanishing; appeals to an
// authority the policy does not name are reported under "none".
type dueProcessCollector struct {
	reg *registry.Registry

	openDisputes, overdueDisputes *prometheus.Desc
	openRepairs, overdueRepairs   *prometheus.Desc
}

// watchDueProcess registers the due-process gauges of a registry.
func (m *metrics) watchDueProcess(reg *registry.Registry) {
	label := []string{"authority"}
	m.biz.MustRegister(&dueProcessCollector{
		reg:             reg,
		openDisputes:    prometheus.NewDesc("credo_disputes_open", "Open disputes (objections and appeals) by the authority that must decide them.", label, nil),
		overdueDisputes: prometheus.NewDesc("credo_disputes_overdue", "Open disputes past their decision deadline, by the authority that must decide them.", label, nil),
		openRepairs:     prometheus.NewDesc("credo_repairs_open", "Pending credit-repair applications by the authority that must decide them.", label, nil),
		overdueRepairs:  prometheus.NewDesc("credo_repairs_overdue", "Pending credit-repair applications past their decision deadline, by authority.", label, nil),
	})
}

func (c *dueProcessCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.openDisputes
	ch <- c.overdueDisputes
	ch <- c.openRepairs
	ch <- c.overdueRepairs
}

// dueProcessScrapeTimeout bounds the queries behind one scrape.
const dueProcessScrapeTimeout = 5 * time.Second

func (c *dueProcessCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), dueProcessScrapeTimeout)
	defer cancel()
	pol, _, err := c.reg.Policy(ctx)
	if err != nil {
		return // no policy in force: nothing is due
	}
	counts, err := c.reg.DueProcessCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.openDisputes, err)
		return
	}
	for _, a := range pol.Authorities {
		if _, ok := counts[a.ID]; !ok {
			counts[a.ID] = registry.DueCounts{}
		}
	}
	for a, n := range counts {
		if a == "" {
			a = "none"
		}
		ch <- prometheus.MustNewConstMetric(c.openDisputes, prometheus.GaugeValue, float64(n.OpenDisputes), a)
		ch <- prometheus.MustNewConstMetric(c.overdueDisputes, prometheus.GaugeValue, float64(n.OverdueDisputes), a)
		ch <- prometheus.MustNewConstMetric(c.openRepairs, prometheus.GaugeValue, float64(n.OpenRepairs), a)
		ch <- prometheus.MustNewConstMetric(c.overdueRepairs, prometheus.GaugeValue, float64(n.OverdueRepairs), a)
	}
}
