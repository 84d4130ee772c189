package http

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"credo"
	"credo/registry"
)

// PositionHeader states, on every check answer, the log position the
// answering node's decision table reflected: every event up to that
// sequence number was taken into account.
const PositionHeader = "Credo-Log-Position"

func setPosition(w http.ResponseWriter, pos int64) {
	w.Header().Set(PositionHeader, strconv.FormatInt(pos, 10))
}

// Ready is the answer of /readyz.
type Ready struct {
	Status       string `json:"status"`
	Policy       string `json:"policy"`
	TableEntries int    `json:"table_entries"`
	// LogPosition is the sequence number up to which the decision table
	// reflects the log; LogHead the log's last sequence number; TailLag
	// the difference.
	LogPosition int64 `json:"log_position"`
	LogHead     int64 `json:"log_head"`
	TailLag     int64 `json:"tail_lag"`
	// On a node that reads the log from a streaming standby (credo serve
	// --postgres-read): PrimaryHead is the head of the primary's log (what
	// writers have been told is stored), ReplicationLag how many of its
	// events the standby has not replayed yet (PrimaryHead - LogHead), and
	// TailLag is then counted from PrimaryHead: the events acknowledged to
	// writers that this node's answers do not reflect yet.
	PrimaryHead    *int64 `json:"primary_head,omitempty"`
	ReplicationLag *int64 `json:"replication_lag,omitempty"`
	// Tailing: the node follows the log written by other nodes;
	// SinceLastPoll is the seconds since it last read it.
	Tailing       bool     `json:"tailing"`
	SinceLastPoll *float64 `json:"since_last_poll_seconds,omitempty"`
}

// primaryHeader is a store that reads the log from a replica and can
// tell the primary's head (registry.ReadReplica).
type primaryHeader interface {
	PrimaryHead(ctx context.Context) (int64, string, error)
}

// handleReady reports whether the server can answer: the store is
// reachable, a policy is in force, the decision table is built, and it is
// not too far behind the log (a node tailing a shared log).
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	fail := func(format string, args ...any) {
		w.Header().Set("Retry-After", "5")
		writeProblem(w, Problem{Type: ProblemBase + credo.EUNAVAILABLE, Title: problemTitles[credo.EUNAVAILABLE], Status: http.StatusServiceUnavailable, Detail: fmt.Sprintf(format, args...)})
	}
	if s.closing.Load() {
		fail("shutting down")
		return
	}
	if t := s.opts.Transparency; t != nil {
		if err := t.Fault(); err != nil {
			fail("refusing to serve: %v", err)
			return
		}
	}
	if sc := s.opts.Scrub; sc != nil {
		if err := sc.Fault(); err != nil {
			fail("%v", err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	store := s.reg.Store()
	if err := store.Ping(ctx); err != nil {
		fail("store unreachable")
		return
	}
	if reason := s.writable(ctx); reason != "" {
		fail("%s", reason)
		return
	}
	t, err := s.reg.Table(ctx)
	if d := s.reg.Doubt(); d != nil {
		fail("%s", credo.ErrorMessage(d)) // projections doubted (registry/integrity.go)
		return
	}
	if err != nil || t == nil {
		fail("no policy in force, or the decision table is not built")
		return
	}
	head, _, err := store.Head(ctx)
	if err != nil {
		fail("store unreachable")
		return
	}
	ts := s.reg.TailStatus()
	out := Ready{Status: "ready", Policy: t.PolicyHash(), TableEntries: t.Len(), LogPosition: ts.Position, LogHead: max(head, ts.Position), Tailing: ts.Running}
	out.TailLag = out.LogHead - out.LogPosition
	if rs, ok := store.(primaryHeader); ok {
		primary, _, err := rs.PrimaryHead(ctx)
		if err != nil {
			fail("primary unreachable")
			return
		}
		primary = max(primary, out.LogHead) // read after the replica's head: never behind it but for a race
		lag := primary - out.LogHead
		out.PrimaryHead, out.ReplicationLag = &primary, &lag
		out.TailLag = primary - out.LogPosition
	}
	if ts.Running {
		if ts.LastPoll.IsZero() {
			fail("the tailer has not read the log yet")
			return
		}
		since := time.Since(ts.LastPoll).Seconds()
		out.SinceLastPoll = &since
		if time.Duration(since*float64(time.Second)) > s.opts.MaxTailStale {
			fail("the tailer last read the log %.0f s ago (at most %s): %s", since, s.opts.MaxTailStale, ts.LastError)
			return
		}
	}
	if ts.Running && out.TailLag > s.opts.MaxTailLag {
		if out.ReplicationLag != nil && *out.ReplicationLag > 0 {
			fail("the decision table is %d events behind the primary's log (at most %d), %d of them not yet replayed by the standby it reads",
				out.TailLag, s.opts.MaxTailLag, *out.ReplicationLag)
			return
		}
		fail("the decision table is %d events behind the log (at most %d)", out.TailLag, s.opts.MaxTailLag)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// watchTail exports the tailer's state: the log position the decision
// table reflects, the events applied, failed reads, and the seconds since
// the last successful read (-1: never, or not tailing).
func (m *metrics) watchTail(reg interface{ TailStatus() registry.TailStatus }) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "credo_log_position", Help: "Sequence number up to which the decision table reflects the event log."},
			func() float64 { return float64(reg.TailStatus().Position) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "credo_tail_applied_total", Help: "Events of the log applied to the decision table by the tailer."},
			func() float64 { return float64(reg.TailStatus().Applied) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "credo_tail_errors_total", Help: "Failed reads of the event log by the tailer."},
			func() float64 { return float64(reg.TailStatus().Errors) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "credo_tail_seconds_since_poll", Help: "Seconds since the tailer last read the event log (-1: not tailing)."},
			func() float64 {
				st := reg.TailStatus()
				if !st.Running || st.LastPoll.IsZero() {
					return -1
				}
				return time.Since(st.LastPoll).Seconds()
			}),
	)
}

// The store resources whose writes /readyz follows.
const (
	resStore    = "the store"     // the event log and its projections
	resCheckLog = "the check log" // checks are refused while it cannot be written
)

// storeHealth remembers the store resources whose last write failed (a
// full disk, a database down): while one does, /readyz answers 503 with
// the reason, so that a load balancer stops sending writes and checks that
// would be refused. A resource is healthy again when a write to it
// succeeds, or a probe of it does (see Server.writable).
type storeHealth struct {
	mu     sync.Mutex
	faults map[string]storeFault
}

type storeFault struct {
	since, last time.Time // the first and the last failure
	reason      string
}

func newStoreHealth() *storeHealth { return &storeHealth{faults: map[string]storeFault{}} }

// fail records that a write to res failed with err.
func (h *storeHealth) fail(res string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.faults[res]
	f.last = time.Now()
	if !ok {
		f.since = f.last
	}
	f.reason = credo.ErrorMessage(err)
	if credo.ErrorCode(err) == credo.EINTERNAL {
		f.reason = err.Error() // for the operator: /readyz is not a public answer
	}
	h.faults[res] = f
}

// ok records that a write to res succeeded.
func (h *storeHealth) ok(res string) {
	h.mu.Lock()
	if len(h.faults) > 0 {
		delete(h.faults, res)
	}
	h.mu.Unlock()
}

// failing returns the resources whose last write failed, in order.
func (h *storeHealth) failing() map[string]storeFault {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.faults) == 0 {
		return nil
	}
	out := make(map[string]storeFault, len(h.faults))
	for k, v := range h.faults {
		out[k] = v
	}
	return out
}

// storeFaultOf reports whether err is the store's failure to write for a
// reason outside the request (a full disk, an I/O error, a database down):
// an outage, answered 503 with Retry-After, that turns /readyz to 503.
func storeFaultOf(err error) bool {
	var ce *credo.Error
	if !errors.As(err, &ce) || ce.Code != credo.EUNAVAILABLE || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // a request abandoned is not an outage
	}
	return strings.HasPrefix(ce.Op, "sqlite.") || strings.HasPrefix(ce.Op, "postgres.") || ce.Op == "checklog"
}

// noteError marks the store failing when a request failed for want of it.
func (s *Server) noteError(err error) {
	if storeFaultOf(err) {
		var ce *credo.Error
		if errors.As(err, &ce) && ce.Op == "checklog" {
			return // the batcher recorded it
		}
		s.health.fail(resStore, err)
	}
}

// writeProber is a store that can tell whether it can write now: it opens
// what it must and makes a small durable write (sqlite.DB, postgres.DB).
type writeProber interface {
	ProbeWrite(ctx context.Context) error
}

// unprobedFaultTTL is how long a resource that cannot be probed stays
// failing without a successful write: then /readyz turns ready again so
// that traffic may try it (a half-open breaker).
const unprobedFaultTTL = 10 * time.Second

// writable returns why the store cannot be written ("" if it can). A
// failing resource is probed and cleared when the probe succeeds.
func (s *Server) writable(ctx context.Context) string {
	faults := s.health.failing()
	if len(faults) == 0 {
		return ""
	}
	var reasons []string
	for _, res := range slices.Sorted(maps.Keys(faults)) {
		f := faults[res]
		var target any = s.reg.Store()
		if res == resCheckLog {
			target = s.checkLog
		}
		if p, ok := target.(writeProber); ok {
			if err := p.ProbeWrite(ctx); err == nil {
				s.health.ok(res)
				continue
			} else {
				s.health.fail(res, err)
				f = s.health.failing()[res]
			}
		} else if time.Since(f.last) > unprobedFaultTTL {
			s.health.ok(res)
			continue
		}
		reasons = append(reasons, fmt.Sprintf("%s cannot be written (since %s): %s", res, f.since.UTC().Format(time.RFC3339), f.reason))
	}
	return strings.Join(reasons, "; ")
}
