package http

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Slow bodies. A client that sends its body a byte every few seconds must
// not hold a request slot (admission) while it does: a few hundred of them
// would take every slot and the API would answer 503 to everybody.
//
//   - Every body must arrive within Options.BodyReadTimeout of the request
//     (Options.BatchReadTimeout for a batch of records): the connection's
//     read deadline is set when the request comes in.
//   - The API reads a body only once the request is authenticated and
//     authorised (route refuses the others before reading a byte), so only
//     accountable, rate-limited callers read bodies inside a slot.
//   - The portal's forms (sign-in among them) are read in full before the
//     request is admitted, so a trickling anonymous client holds a
//     goroutine and a connection, never a slot.

// maxPortalBody is the most a portal request body may carry (the draft
// policy form: a text field and a file of up to 1 MiB each); longer ones
// are cut there and refused by the portal's own limit.
const maxPortalBody = 2<<20 + 64<<10

// hasBody reports whether a request carries a body.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// preRead reads a portal request's body before admission (within the read
// deadline) and puts it back as an in-memory body. It answers and returns
// false when the body does not arrive in time.
func (s *Server) preRead(w http.ResponseWriter, r *http.Request) bool {
	s.reading.Add(1)
	defer s.reading.Add(-1)
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= maxPortalBody {
		buf.Grow(int(r.ContentLength))
	}
	_, err := io.Copy(&buf, io.LimitReader(r.Body, maxPortalBody+1))
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.metrics.reject("slow_body")
		}
		w.Header().Set("Connection", "close")
		writeProblem(w, Problem{Type: ProblemBase + "timeout", Title: "Request timeout", Status: http.StatusRequestTimeout,
			Detail: fmt.Sprintf("the request body did not arrive within %s", s.opts.BodyReadTimeout)})
		return false
	}
	r.Body.Close()
	r.Body = io.NopCloser(&buf)
	return true
}

// readingGauge counts the requests reading their body before admission.
func readingGauge(n *atomic.Int64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "credo_http_reading_bodies",
		Help: "Portal requests reading their body before admission (they hold no request slot)."},
		func() float64 { return float64(n.Load()) })
}
