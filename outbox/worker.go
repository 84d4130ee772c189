package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"credo"
)

// Options tune a Worker. The zero value is the production default.
type Options struct {
	// Timeout bounds one delivery attempt, from connecting to reading the
	// response (default 5 s). An attempt that times out is a failure; the
	// receiver may still have processed it, which is why deliveries carry
	// an idempotency id.
	Timeout time.Duration
	// MaxAttempts is the number of attempts after which a delivery is
	// dead-lettered (default 8).
	MaxAttempts int
	// BackoffBase is the wait after the first failed attempt (default
	// 10 s); each further failure doubles it, up to BackoffMax (default
	// 1 h). The actual wait is drawn between half of it and all of it
	// (jitter), so that failed deliveries do not retry in lockstep.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// PollInterval is how often the outbox is polled for due deliveries
	// (default 1 s).
	PollInterval time.Duration
	// Batch is the most deliveries claimed per poll (default 100), and
	// Concurrency the most attempts in flight (default 8).
	Batch       int
	Concurrency int
	// Lease is how long a claimed delivery is withheld from other workers
	// (default Timeout + 1 min): a worker that dies mid-attempt leaves
	// its deliveries to be retried after it.
	Lease time.Duration
	// Client sends the requests (default: a client with Timeout that does
	// not follow redirects).
	Client *http.Client
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// NoticeText gives the texts of a notice stored as its facts
	// (registry.NoticeText): a notice.issued delivery carries them. Nil:
	// the event is posted as the store has it.
	NoticeText func(*credo.Notice) (credo.NoticeText, error)
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 10 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = time.Hour
	}
	if o.BackoffMax < o.BackoffBase {
		o.BackoffMax = o.BackoffBase
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Lease <= 0 {
		o.Lease = o.Timeout + time.Minute
	}
	if o.Client == nil {
		o.Client = &http.Client{
			Timeout: o.Timeout,
			// A redirect is an answer that is not 2xx: a failure to fix
			// in the configuration, not a hop to follow with a signed body.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				DialContext:         (&net.Dialer{Timeout: o.Timeout}).DialContext,
				TLSHandshakeTimeout: o.Timeout,
				MaxIdleConnsPerHost: 4,
				IdleConnTimeout:     90 * time.Second,
			},
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Worker drains the outbox: it claims due deliveries, POSTs each signed
// event to its webhook and records the outcome. Several workers (in several
// processes) may drain one outbox: claims are leased.
type Worker struct {
	store credo.Outbox
	opts  Options
	log   *slog.Logger

	pending, dead atomic.Int64
	results       *prometheus.CounterVec
	latency       prometheus.Histogram
	byResult      map[string]prometheus.Counter
	collectors    []prometheus.Collector

	kick chan struct{}
}

// The results of an attempt, as counted in credo_outbox_deliveries_total.
const (
	ResultDelivered = "delivered" // 2xx
	ResultRetry     = "retry"     // failed; tried again later
	ResultDead      = "dead"      // failed for the last time: dead-lettered
)

// NewWorker returns a worker over an outbox.
func NewWorker(store credo.Outbox, opts Options) *Worker {
	opts.defaults()
	w := &Worker{store: store, opts: opts, log: opts.Logger, kick: make(chan struct{}, 1)}
	w.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "credo_outbox_deliveries_total", Help: "Webhook delivery attempts by result: delivered (2xx), retry (failed, tried again later), dead (failed for the last time).",
	}, []string{"result"})
	w.byResult = map[string]prometheus.Counter{}
	for _, r := range []string{ResultDelivered, ResultRetry, ResultDead} {
		w.byResult[r] = w.results.WithLabelValues(r)
	}
	w.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "credo_outbox_delivery_duration_seconds", Help: "Duration of webhook delivery attempts.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	})
	w.collectors = []prometheus.Collector{w.results, w.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "credo_outbox_pending", Help: "Webhook deliveries waiting for an attempt."},
			func() float64 { return float64(w.pending.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "credo_outbox_dead", Help: "Webhook deliveries dead-lettered (see `credo webhook dead`)."},
			func() float64 { return float64(w.dead.Load()) }),
	}
	return w
}

// Collectors returns the worker's Prometheus metrics, for the server's
// /metrics.
func (w *Worker) Collectors() []prometheus.Collector { return w.collectors }

// Kick makes a running worker poll now (after an event was appended).
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, polling every PollInterval.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.opts.PollInterval)
	defer t.Stop()
	for {
		for {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.log.Error("outbox", "err", err)
			}
			if err != nil || n < w.opts.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
	}
}

// RunOnce claims the deliveries due now (at most Batch), attempts each, and
// returns how many it attempted.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	now := w.opts.Now()
	ds, err := w.store.ClaimDeliveries(ctx, now, w.opts.Lease, w.opts.Batch)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, w.opts.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, d := range ds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := w.attempt(ctx, d); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if p, d, err := w.store.OutboxCounts(ctx); err == nil {
		w.pending.Store(p)
		w.dead.Store(d)
	} else {
		errs = append(errs, err)
	}
	return len(ds), errors.Join(errs...)
}

// attempt makes one delivery attempt and records its outcome. It returns
// only the errors of recording it.
func (w *Worker) attempt(ctx context.Context, d *credo.Delivery) error {
	n := d.Attempts + 1
	start := time.Now()
	status, err := w.post(ctx, d, n)
	w.latency.Observe(time.Since(start).Seconds())
	if ctx.Err() != nil {
		// Shutting down: the attempt is void, not failed. The lease
		// expires and the delivery is retried (at least once).
		return nil
	}
	// Bookkeeping outlives a cancelled caller: the attempt happened.
	bctx := context.WithoutCancel(ctx)
	now := w.opts.Now()
	if err == nil {
		ok, rerr := w.store.DeliverySucceeded(bctx, d.ID, n, now)
		if rerr != nil {
			return rerr
		}
		if ok {
			w.byResult[ResultDelivered].Inc()
			w.log.Debug("delivered", "delivery", d.ID, "event", d.EventSeq, "webhook", d.WebhookID, "attempt", n, "status", status)
		}
		return nil
	}
	dead := n >= w.opts.MaxAttempts
	next := now.Add(w.Backoff(n))
	if rerr := w.store.DeliveryFailed(bctx, d.ID, n, err.Error(), next, dead); rerr != nil {
		return rerr
	}
	if dead {
		w.byResult[ResultDead].Inc()
		w.log.Warn("delivery dead-lettered", "delivery", d.ID, "event", d.EventSeq, "webhook", d.WebhookID, "attempts", n, "err", err)
	} else {
		w.byResult[ResultRetry].Inc()
		w.log.Info("delivery failed; will retry", "delivery", d.ID, "event", d.EventSeq, "webhook", d.WebhookID, "attempt", n, "next", next, "err", err)
	}
	return nil
}

// post sends one signed attempt; a nil error means a 2xx answer.
func (w *Worker) post(ctx context.Context, d *credo.Delivery, attempt int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	if err := w.withNoticeText(d); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Credo-Webhook/1")
	req.Header.Set(HeaderSignature, Sign(d.Secret, d.Body, w.opts.Now()))
	req.Header.Set(HeaderEventID, strconv.FormatInt(d.EventSeq, 10))
	req.Header.Set(HeaderEventType, string(d.EventType))
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return 0, fmt.Errorf("timeout after %s", w.opts.Timeout)
		}
		return 0, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(snippet))
	}
	return resp.StatusCode, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Backoff is the wait after failed attempt number n (from 1): BackoffBase
// doubled n-1 times, capped at BackoffMax, of which a random part of up
// to a half is taken off (jitter).
func (w *Worker) Backoff(n int) time.Duration {
	d := w.opts.BackoffBase
	for i := 1; i < n && d < w.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.opts.BackoffMax)
	half := d / 2
	return d - half + time.Duration(rand.Int64N(int64(half)+1))
}

// withNoticeText puts the texts of a notice stored as its facts into the
// body of its delivery (see Options.NoticeText).
func (w *Worker) withNoticeText(d *credo.Delivery) error {
	if w.opts.NoticeText == nil || d.EventType != credo.EventNoticeIssued {
		return nil
	}
	var ev credo.Event
	if err := json.Unmarshal(d.Body, &ev); err != nil || ev.Notice == nil || ev.Notice.Template == 0 || ev.Notice.Text != (credo.NoticeText{}) {
		return nil
	}
	t, err := w.opts.NoticeText(ev.Notice)
	if err != nil {
		return err
	}
	ev.Notice.Text = t
	body, err := json.Marshal(&ev)
	if err != nil {
		return err
	}
	d.Body = body
	return nil
}
