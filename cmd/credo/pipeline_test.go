package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"credo"
	"credo/ingest"
	"credo/policy"
	"credo/registry"
	"credo/sqlite"
	"credo/synth"
)

// fileCitySequential is the loop generate used before the pipeline: it
// generates, validates and files each batch of 10,000 records in turn.
// The pipelined fileCity must give the same log, byte for byte.
func fileCitySequential(ctx context.Context, reg *registry.Registry, city *synth.City) (cityLoad, error) {
	var out cityLoad
	var recs []*credo.Record
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		valid := recs[:0]
		for _, rec := range recs {
			if err := reg.Validate(ctx, rec); err != nil {
				out.refused++
				if out.firstRefusal == nil {
					out.firstRefusal = err
				}
				continue
			}
			valid = append(valid, rec)
		}
		res, conflicts, err := reg.FileEach(ctx, valid)
		if err != nil {
			return err
		}
		for i := range res {
			switch {
			case conflicts[i] != nil:
				out.refused++
			case res[i].Created:
				out.filed++
			}
		}
		recs = recs[:0]
		return nil
	}
	for lo := 0; lo < city.Subjects(); lo += 1000 {
		if err := city.RecordsRange(lo, min(lo+1000, city.Subjects()), func(r *credo.Record) error {
			c := *r
			recs = append(recs, &c)
			if len(recs) >= 10000 {
				return flush()
			}
			return nil
		}); err != nil {
			return out, err
		}
	}
	return out, flush()
}

// cityFixture is a registry (unsealed, on a fixed clock, so that two
// loads can be compared byte for byte) with the Beijing policy published,
// and a city to load into it. The clock is set before the end of the
// city's window: the records decided after it are refused (in the future),
// so that refusals are spread through the batches.
type cityFixture struct {
	st   *sqlite.DB
	reg  *registry.Registry
	city *synth.City
}

func newCityFixture(t testing.TB, path string, people, orgs int) *cityFixture {
	t.Helper()
	ctx := context.Background()
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return end.AddDate(0, -2, 0) }
	src, err := os.ReadFile("../../policies/beijing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse("beijing.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.OpenOptions(path, sqlite.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := registry.Open(ctx, st, registry.Options{NoTable: true, Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "beijing.yaml", src, end.AddDate(-5, 0, -1)); err != nil {
		t.Fatal(err)
	}
	city, err := synth.New(synth.Config{People: people, Orgs: orgs, Years: 5, Seed: 3, End: end, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	return &cityFixture{st: st, reg: reg, city: city}
}

// recordsFiled counts the record.filed events of a store.
func recordsFiled(t *testing.T, st credo.Store) int64 {
	t.Helper()
	var n int64
	for after := int64(0); ; {
		evs, err := st.Events(context.Background(), after, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return n
		}
		for _, ev := range evs {
			if ev.Type == credo.EventRecordFiled {
				n++
			}
		}
		after = evs[len(evs)-1].Seq
	}
}

// TestFileCityPipelinedSameLog: loading a city through the pipeline (the
// next batch generated and validated while the current one is filed),
// with and without a bulk load, gives the same log as generating,
// validating and filing batch after batch: the same head (seq and hash,
// so every event byte for byte), the same counts of filed and refused.
func TestFileCityPipelinedSameLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const people, orgs = 9000, 900
	seq := newCityFixture(t, filepath.Join(dir, "seq.db"), people, orgs)
	want, err := fileCitySequential(ctx, seq.reg, seq.city)
	if err != nil {
		t.Fatal(err)
	}
	wantSeq, wantHash, err := seq.st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want.filed < 2*cityBatch || want.refused == 0 {
		t.Fatalf("the fixture should span batches and refuse some: %d filed, %d refused", want.filed, want.refused)
	}
	for _, bulk := range []bool{false, true} {
		name := map[bool]string{false: "batches", true: "bulk"}[bulk]
		t.Run(name, func(t *testing.T) {
			f := newCityFixture(t, filepath.Join(dir, name+".db"), people, orgs)
			if bulk {
				if err := f.st.StartBulk(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var subjects int
			got, err := fileCity(ctx, f.reg, f.city, func(n int) { subjects += n })
			if err != nil {
				t.Fatal(err)
			}
			if bulk {
				if err := f.st.EndBulk(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if got.filed != want.filed || got.refused != want.refused {
				t.Errorf("pipelined: %d filed, %d refused; sequential: %d filed, %d refused", got.filed, got.refused, want.filed, want.refused)
			}
			if got.firstRefusal == nil || credo.ErrorMessage(got.firstRefusal) != credo.ErrorMessage(want.firstRefusal) {
				t.Errorf("first refusal: %v, want %v", got.firstRefusal, want.firstRefusal)
			}
			if subjects != people+orgs {
				t.Errorf("progress counted %d subjects, want %d", subjects, people+orgs)
			}
			gotSeq, gotHash, err := f.st.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if gotSeq != wantSeq || gotHash != wantHash {
				t.Errorf("head %d %s, want %d %s (the sequential load's)", gotSeq, gotHash, wantSeq, wantHash)
			}
			// The projections, the notices' rows included (a bulk load
			// writes them at its end), equal a replay of the log.
			if pr, err := f.st.VerifyProjections(ctx); err != nil || !pr.OK {
				t.Errorf("projections: %+v %v", pr, err)
			}
		})
	}
}

// TestFileCityStopsCleanly: a load that fails part-way (the context
// cancelled, or the store gone) returns the error, having filed exactly
// the batches it counts, with every one committed in full; the producer
// has stopped by then.
func TestFileCityStopsCleanly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const people, orgs = 9000, 900
	t.Run("cancelled", func(t *testing.T) {
		f := newCityFixture(t, filepath.Join(dir, "cancel.db"), people, orgs)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		batches := 0
		got, err := fileCity(cctx, f.reg, f.city, func(int) {
			if batches++; batches == 1 {
				cancel()
			}
		})
		if credo.ErrorCode(err) != credo.EUNAVAILABLE {
			t.Fatalf("cancelled load: %v (code %s), want EUNAVAILABLE", err, credo.ErrorCode(err))
		}
		if batches != 1 {
			t.Errorf("%d batches filed after the cancellation, want none", batches-1)
		}
		if got.filed == 0 || got.filed > cityBatch {
			t.Errorf("%d filed: want the first batch's", got.filed)
		}
		if n := recordsFiled(t, f.st); n != got.filed {
			t.Errorf("the store holds %d records; the load counted %d", n, got.filed)
		}
	})
	t.Run("store closed", func(t *testing.T) {
		path := filepath.Join(dir, "closed.db")
		f := newCityFixture(t, path, people, orgs)
		batches := 0
		got, err := fileCity(ctx, f.reg, f.city, func(int) {
			if batches++; batches == 2 {
				f.st.Close()
			}
		})
		if err == nil {
			t.Fatal("a load into a closed store succeeded")
		}
		if batches != 2 || got.filed == 0 {
			t.Errorf("%d batches, %d filed: want the two batches filed before the store closed", batches, got.filed)
		}
		st, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if n := recordsFiled(t, st); n != got.filed {
			t.Errorf("the store holds %d records; the load counted %d", n, got.filed)
		}
	})
}

// TestPipelineOrderAndStop: the consumer gets every batch in the order
// produced; when it fails, or the context ends, the pipeline returns the
// error only after the producer has returned, and nothing is consumed
// after the failure.
func TestPipelineOrderAndStop(t *testing.T) {
	ctx := context.Background()
	counter := func(n int, returned *atomic.Bool) func(func(int) bool) error {
		return func(send func(int) bool) error {
			defer returned.Store(true)
			for i := 0; n < 0 || i < n; i++ {
				if !send(i) {
					return errStopped
				}
			}
			return nil
		}
	}
	var returned atomic.Bool
	var got []int
	if err := pipeline(ctx, 2, counter(1000, &returned), func(i int) error {
		got = append(got, i)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1000 || !slices.IsSorted(got) || got[999] != 999 {
		t.Fatalf("consumed %d batches, out of order or missing", len(got))
	}

	boom := errors.New("boom")
	returned.Store(false)
	got = got[:0]
	err := pipeline(ctx, 2, counter(-1, &returned), func(i int) error {
		got = append(got, i)
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || !returned.Load() || !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("consumer failing at 3: err %v, producer returned %v, consumed %v", err, returned.Load(), got)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	returned.Store(false)
	got = got[:0]
	err = pipeline(cctx, 2, counter(-1, &returned), func(i int) error {
		got = append(got, i)
		if i == 5 {
			cancel()
		}
		return nil
	})
	if credo.ErrorCode(err) != credo.EUNAVAILABLE || !returned.Load() || !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("context cancelled at 5: err %v, producer returned %v, consumed %v", err, returned.Load(), got)
	}

	returned.Store(false)
	err = pipeline(ctx, 2, func(send func(int) bool) error {
		defer returned.Store(true)
		send(1)
		return boom
	}, func(int) error { return nil })
	if !errors.Is(err, boom) || !returned.Load() {
		t.Fatalf("producer failing: err %v", err)
	}
}

// TestIngestPipelinedOrder: ingest reads the next batch while filing the
// current one, yet reports the rejected lines in the order of reading and
// filing batch after batch (the reader's rejections as read, the
// registry's refusals with their batch), with the batch log in order and
// every good line filed.
func TestIngestPipelinedOrder(t *testing.T) {
	db := newRegistry(t)
	dir := t.TempDir()
	var b strings.Builder
	// The order of sequential ingest: a line the reader rejects is
	// reported as it is read, the lines the registry refuses once their
	// batch (of 5 records) is filed.
	var wantBad, pending []int
	inBatch := 0
	for line := 1; line <= 200; line++ {
		if line%7 == 0 { // the reader rejects it
			b.WriteString("{not json\n")
			wantBad = append(wantBad, line)
			continue
		}
		rule := "JUDGMENT_DEFAULT"
		if line%11 == 0 { // the registry refuses it
			rule = "NO_SUCH_RULE"
			pending = append(pending, line)
		}
		fmt.Fprintf(&b, `{"subject":%q,"rule":%q,"authority":"court.test","case_ref":"P%d","decided_at":"2024-01-02","evidence_sha256":%q}`+"\n", ric(line), rule, line, digest("p"))
		if inBatch++; inBatch == 5 {
			wantBad, pending, inBatch = append(wantBad, pending...), pending[:0], 0
		}
	}
	wantBad = append(wantBad, pending...)
	file := filepath.Join(dir, "mixed.ndjson")
	writeFile(t, file, b.String())
	errFile := filepath.Join(dir, "errors.ndjson")
	logFile := filepath.Join(dir, "batches.log")
	code, out, stderr := runCLI(t, "ingest", "--db", db, "-q", "--batch", "5", "--errors", errFile, "--batch-log", logFile, file)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, stderr)
	}
	good := 200 - len(wantBad)
	if !strings.Contains(out, fmt.Sprintf("200 lines: %d filed, 0 already present, %d rejected", good, len(wantBad))) {
		t.Errorf("summary: %s", out)
	}
	raw, err := os.ReadFile(errFile)
	if err != nil {
		t.Fatal(err)
	}
	var gotBad []int
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var le struct{ Line int }
		if err := json.Unmarshal([]byte(l), &le); err != nil {
			t.Fatalf("errors file line %q: %v", l, err)
		}
		gotBad = append(gotBad, le.Line)
	}
	if !slices.Equal(gotBad, wantBad) {
		t.Errorf("rejected lines reported %v, want %v (the sequential order)", gotBad, wantBad)
	}
	logged, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	last := 0
	for _, l := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
		var from, to int
		if _, err := fmt.Sscanf(l, "committed "+file+" lines %d-%d", &from, &to); err != nil {
			t.Fatalf("batch log line %q: %v", l, err)
		}
		if from <= last || to < from {
			t.Errorf("batch log out of order: %q after line %d", l, last)
		}
		last = to
	}
}

// pairedRuns counts the pairs BenchmarkFileCityPaired has run.
var pairedRuns int

// BenchmarkFileCityPaired loads a 20,000-person city into new registries
// (in bulk), batch after batch (sequential) and through the pipeline
// (pipelined), alternating which goes first, and reports the wall time of
// each and their ratio: on a shared machine only such same-run pairs are
// comparable. For the medians of 5 pairs:
//
//	go test ./cmd/credo -run '^$' -bench FileCityPaired -benchtime 1x -count 5
func BenchmarkFileCityPaired(b *testing.B) {
	ctx := context.Background()
	var seqCPU, pipeCPU time.Duration
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	load := func(pipelined bool) (time.Duration, int64) {
		f := newCityFixture(b, filepath.Join(b.TempDir(), "city.db"), 20000, 2000)
		defer f.st.Close()
		if err := f.st.StartBulk(ctx); err != nil {
			b.Fatal(err)
		}
		start, cpu0 := time.Now(), cpu()
		defer func() {
			if pipelined {
				pipeCPU += cpu() - cpu0
			} else {
				seqCPU += cpu() - cpu0
			}
		}()
		var l cityLoad
		var err error
		if pipelined {
			l, err = fileCity(ctx, f.reg, f.city, nil)
		} else {
			l, err = fileCitySequential(ctx, f.reg, f.city)
		}
		if err == nil {
			err = f.st.EndBulk(ctx)
		}
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(start), l.filed
	}
	var seq, pipe time.Duration
	var n int64
	for range b.N {
		pairedRuns++ // which goes first alternates across -count runs too
		for _, pipelined := range []bool{pairedRuns%2 == 1, pairedRuns%2 == 0} {
			d, filed := load(pipelined)
			if pipelined {
				pipe += d
			} else {
				seq, n = seq+d, n+filed
			}
		}
	}
	b.ReportMetric(seq.Seconds()/float64(b.N), "seq-s/op")
	b.ReportMetric(pipe.Seconds()/float64(b.N), "pipe-s/op")
	b.ReportMetric(float64(n)/seq.Seconds(), "seq-records/s")
	b.ReportMetric(float64(n)/pipe.Seconds(), "pipe-records/s")
	b.ReportMetric(pipe.Seconds()/seq.Seconds(), "pipe/seq")
	b.ReportMetric(seqCPU.Seconds()/float64(b.N), "seq-cpu-s/op")
	b.ReportMetric(pipeCPU.Seconds()/float64(b.N), "pipe-cpu-s/op")
}

// cancelAfterFirst files every batch it is given and cancels the
// command's context once the first is filed.
type cancelAfterFirst struct {
	credo.RecordService
	cancel  func()
	batches int
}

func (c *cancelAfterFirst) FileEach(ctx context.Context, recs []*credo.Record) (*credo.BatchFiled, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.batches++
	c.cancel()
	return &credo.BatchFiled{Filed: len(recs), Refused: make([]error, len(recs))}, nil
}

// TestIngestInterruptedSaysWhere: ingest interrupted between two batches
// (while the reader is ahead) stops filing, and says which lines are
// committed and from which line to resume.
func TestIngestInterruptedSaysWhere(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, `{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"I%d","decided_at":"2024-01-02","evidence_sha256":%q}`+"\n", ric(i), i, digest("i"))
	}
	file := filepath.Join(t.TempDir(), "i.ndjson")
	writeFile(t, file, b.String())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newIngestCmd()
	cmd.SetContext(ctx)
	svc := &cancelAfterFirst{cancel: cancel}
	s, err := ingestFile(cmd, svc, file, time.UTC, 5, false, func(*ingest.LineError) error { return nil }, nil)
	if credo.ErrorCode(err) != credo.EUNAVAILABLE {
		t.Fatalf("interrupted ingest: %v, want EUNAVAILABLE", err)
	}
	if svc.batches != 1 || s.created != 5 || s.committedTo != 5 {
		t.Errorf("%d batches filed, %d records, committed to line %d: want the first batch only", svc.batches, s.created, s.committedTo)
	}
	if msg := credo.ErrorMessage(err); !strings.Contains(msg, "lines 1-5 are committed") || !strings.Contains(msg, "lines from 6 on are not") {
		t.Errorf("message: %s", msg)
	}
}
