package registry

import (
	"context"
	"runtime"
	"sync"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/policy"
)

// fillTable computes the entry of every subject with events: from the log
// read into memory, or subject by subject when the log is longer than the
// registry may hold (Options.RebuildInMemoryMax).
func (r *Registry) fillTable(ctx context.Context, t *engine.Table, pol *policy.Policy, now time.Time) (int, error) {
	if fr, ok := FactsReaderOf(r.store); ok {
		return r.fillTableFromFacts(ctx, fr, t, pol, now)
	}
	head, _, err := r.store.Head(ctx)
	if err != nil {
		return 0, err
	}
	if head > r.inMemoryMax {
		r.log.Info("rebuilding subject by subject: the log is longer than a rebuild may hold in memory", "events", head, "max", r.inMemoryMax)
		return r.fillTableBySubject(ctx, t, pol, now)
	}
	return r.fillTableFromLog(ctx, t, pol, now, head)
}

// fillTableBySubject loads each subject's facts from the store and
// evaluates them, on every core. Its memory is the subjects' identifiers
// and one subject's facts per core, whatever the length of the log.
func (r *Registry) fillTableBySubject(ctx context.Context, t *engine.Table, pol *policy.Policy, now time.Time) (int, error) {
	var subjects []string // listed first: no read is held open while workers read
	if err := r.store.Subjects(ctx, func(s string) error {
		subjects = append(subjects, s)
		return nil
	}); err != nil {
		return 0, err
	}
	return r.evaluateSubjects(ctx, t, pol, subjects, now)
}

// fillTableFromLog computes the entry of every subject with events. The log is
// read in as many sequence ranges as there are cores, concurrently (each
// range's reads and decoding overlap the others'), each range grouped by
// subject; then the subjects are evaluated on every core. A subject's
// events are its ranges' groups in range order, so log order holds.
func (r *Registry) fillTableFromLog(ctx context.Context, t *engine.Table, pol *policy.Policy, now time.Time, head int64) (int, error) {
	start := time.Now()
	workers := max(runtime.GOMAXPROCS(0), 1)
	lg, err := readLog(ctx, r.store, head, workers)
	if err != nil {
		return 0, err
	}
	g := lg.g
	read := time.Since(start)

	subjects := lg.subjects
	var n sync.WaitGroup
	counts := make([]int, workers)
	step := (len(subjects) + workers - 1) / workers
	for w := range workers {
		lo, hi := min(w*step, len(subjects)), min((w+1)*step, len(subjects))
		n.Add(1)
		go func() {
			defer n.Done()
			ev := engine.NewEvaluator()
			for _, subject := range subjects[lo:hi] {
				if r.evaluateInto(t, ev, pol, g, subject, now) {
					counts[w]++
				}
			}
		}()
	}
	n.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	r.log.Debug("decision table evaluated", "subjects", total, "read", read.Round(time.Millisecond),
		"evaluated", (time.Since(start) - read).Round(time.Millisecond))
	return total, nil
}

// Log is the engine's events of the whole log, grouped by the subjects they
// concern (a link also under the person it names), as a rebuild reads it.
type Log struct {
	g        grouped
	subjects []string
}

// ReadLog reads the engine's events of the log up to its head (and any
// appended meanwhile), in as many sequence ranges as there are cores,
// concurrently, grouped by subject: the read behind a rebuild of the
// decision table, for tools that evaluate every subject (simulation).
func ReadLog(ctx context.Context, store LogReader) (*Log, error) {
	head, _, err := store.Head(ctx)
	if err != nil {
		return nil, err
	}
	return readLog(ctx, store, head, max(runtime.GOMAXPROCS(0), 1))
}

// Subjects returns every subject with events, each once.
func (l *Log) Subjects() []string { return l.subjects }

// Events returns a subject's events in log order.
func (l *Log) Events(subject string) []credo.Event { return l.g.events(subject) }

// Facts returns the facts the engine evaluates for every subject, exactly
// as the decision table sees them: a person's facts carry the links that
// name them and the facts of the organisations they are linked to. It
// returns the subjects whose identifiers no longer parse separately. The
// order is the log's grouping order (not sorted).
func (l *Log) Facts(parser *ident.Parser) (facts []*engine.Facts, skipped []string) {
	if parser == nil {
		parser = &ident.Parser{}
	}
	facts = make([]*engine.Facts, 0, len(l.subjects))
	for _, subject := range l.subjects {
		id, err := parser.Parse(subject)
		if err != nil {
			skipped = append(skipped, subject)
			continue
		}
		evs := l.Events(subject)
		f := &engine.Facts{ID: id, Events: evs}
		if id.Kind == credo.Person {
			for _, ev := range evs {
				if ev.Link != nil && ev.Link.Person == subject {
					if oid, err := parser.Parse(ev.Link.Org); err == nil && !hasOrg(f.Orgs, oid.Canonical) {
						f.Orgs = append(f.Orgs, &engine.Facts{ID: oid, Events: l.Events(oid.Canonical)})
					}
				}
			}
		}
		facts = append(facts, f)
	}
	return facts, skipped
}

// LogReader is what reading the log for the engine needs of a store: its
// head, and its events of the engine's types. Every credo.RegistryStore
// is one.
type LogReader interface {
	Head(ctx context.Context) (seq int64, hash string, err error)
	credo.EventReader
}

func readLog(ctx context.Context, store LogReader, head int64, workers int) (*Log, error) {
	parts := make([]map[string][]credo.Event, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := head*int64(i)/int64(workers), head*int64(i+1)/int64(workers)
		if i == workers-1 {
			hi = -1 // to the end of the log, past the head read above
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i], errs[i] = groupEvents(ctx, store, lo, hi)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	g := grouped(parts)
	// Every subject once, in the order of the range that first names it.
	var subjects []string
	for i, p := range parts {
		for s := range p {
			if !g.inEarlier(s, i) {
				subjects = append(subjects, s)
			}
		}
	}
	return &Log{g: g, subjects: subjects}, nil
}

// groupEvents reads the engine's events with lo < seq <= hi (hi < 0: to the
// end) and groups them by the subjects they concern.
func groupEvents(ctx context.Context, store credo.EventReader, lo, hi int64) (map[string][]credo.Event, error) {
	read := func(ctx context.Context, after int64, limit int) ([]credo.Event, error) {
		return store.EventsOfType(ctx, after, limit, engine.EventTypes)
	}
	bySubject := map[string][]credo.Event{}
	after := lo
	for hi < 0 || after < hi {
		evs, err := read(ctx, after, 20000)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if hi >= 0 && ev.Seq > hi {
				return bySubject, nil
			}
			after = ev.Seq
			if ev.Type == credo.EventNoticeIssued {
				continue // the engine does not read notices: don't hold them
			}
			if ev.Subject != "" {
				bySubject[ev.Subject] = append(bySubject[ev.Subject], ev)
			}
			if ev.Link != nil && ev.Link.Person != "" && ev.Link.Person != ev.Subject {
				bySubject[ev.Link.Person] = append(bySubject[ev.Link.Person], ev)
			}
		}
	}
	return bySubject, nil
}

// grouped is the log grouped by subject, in consecutive sequence ranges.
type grouped []map[string][]credo.Event

// events returns a subject's events in log order.
func (g grouped) events(subject string) []credo.Event {
	var out []credo.Event
	shared := true // out aliases a range's slice: copy before appending
	for _, p := range g {
		evs := p[subject]
		switch {
		case len(evs) == 0:
		case out == nil:
			out = evs
		default:
			if shared {
				out = append(make([]credo.Event, 0, len(out)+len(evs)), out...)
				shared = false
			}
			out = append(out, evs...)
		}
	}
	return out
}

func (g grouped) inEarlier(subject string, i int) bool {
	for _, p := range g[:i] {
		if _, ok := p[subject]; ok {
			return true
		}
	}
	return false
}

// evaluateInto computes one subject's entry and puts it in the table; it
// reports false for a subject that no longer parses (logged, skipped).
func (r *Registry) evaluateInto(t *engine.Table, eval *engine.Evaluator, pol *policy.Policy, g grouped, subject string, now time.Time) bool {
	id, err := r.parser.Parse(subject)
	if err != nil {
		r.log.Warn("subject in the log no longer parses", "subject", subject, "err", err)
		return false
	}
	evs := g.events(subject)
	f := &engine.Facts{ID: id, Events: evs}
	if id.Kind == credo.Person {
		for _, ev := range evs {
			if ev.Link != nil && ev.Link.Person == subject {
				if oid, err := r.parser.Parse(ev.Link.Org); err == nil && !hasOrg(f.Orgs, oid.Canonical) {
					f.Orgs = append(f.Orgs, &engine.Facts{ID: oid, Events: g.events(oid.Canonical)})
				}
			}
		}
	}
	t.PutFacts(subject, eval.Entry(pol, f, now, now), f)
	return true
}
