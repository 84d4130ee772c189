package registry_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/registry"
	"credo/sqlite"
)

// failingLog is a check log that cannot be written.
type failingLog struct{ credo.CheckLog }

func (failingLog) LogChecks(context.Context, []credo.CheckEntry) error {
	return errors.New("disk on fire")
}

// TestH03CheckAndLogOneFunction: the registry answers and logs a check in
// one function. Every answer it returns is in the check log, as answered
// (id, subject, sector, decision, measures, policy), and is the decision
// the registry's one decision path makes (Registry.Check, which logs
// nothing); a check that cannot be logged is not answered.
func TestH03CheckAndLogOneFunction(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 6, 1, 10, 0, 0, 0, shanghai)}
	reg := open(t, c)
	if _, err := reg.FileRecord(ctx, judgment(adult, "(2026)H03", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	log := reg.Store().(credo.CheckLog)
	checks := reg.NewChecks(log, registry.ChecksOptions{})
	t.Cleanup(func() { checks.Close(ctx) })

	logged := func(subject, id string) credo.CheckEntry {
		t.Helper()
		cs, err := log.ChecksOf(ctx, subject, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range cs {
			if e.ID == id {
				return e
			}
		}
		t.Fatalf("check %s of %s answered but not in the check log (%d entries)", id, subject, len(cs))
		return credo.CheckEntry{}
	}
	same := func(a registry.CheckAnswer, e credo.CheckEntry, checker string) {
		t.Helper()
		d := a.Decision
		if e.Subject != d.Subject || e.Sector != d.Sector || e.Decision != d.Decision || e.Policy != d.Policy || e.Checker != checker ||
			!slices.Equal(e.Measures, registry.MeasuresOf(d)) || !e.At.Equal(c.t) || !e.Known.Equal(c.t) {
			t.Errorf("logged %+v for the answer %+v", e, d)
		}
		if e.ID != a.Entry.ID || e.Decision != a.Entry.Decision || !slices.Equal(e.Measures, a.Entry.Measures) {
			t.Errorf("the answer's entry %+v is not the one logged %+v", a.Entry, e)
		}
		want, err := reg.Check(ctx, d.Subject, d.Sector)
		if err != nil || want.Decision != d.Decision || !slices.Equal(registry.MeasuresOf(want), registry.MeasuresOf(d)) {
			t.Errorf("CheckAndLog decided %s %v; Registry.Check decides %s %v (%v)", d.Decision, registry.MeasuresOf(d), want.Decision, registry.MeasuresOf(want), err)
		}
	}

	for _, tc := range []struct{ subject, want string }{{adult, engine.Deny}, {minor, engine.Allow}} {
		a, err := checks.CheckAndLog(ctx, registry.CheckRequest{Subject: tc.subject, Sector: "aviation", Checker: "tok_h03", Org: "Air H03"})
		if err != nil {
			t.Fatal(err)
		}
		if a.Decision.Decision != tc.want || a.Entry.ID == "" || a.Explained != (tc.want != engine.Allow) {
			t.Fatalf("%s: %+v; want %s, with a check id, explained unless a plain allow", tc.subject, a, tc.want)
		}
		same(a, logged(tc.subject, a.Entry.ID), "tok_h03")
		// The check as logged replays to the same answer.
		e, err := checks.Logged(ctx, a.Entry.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d, matches, err := reg.Replay(ctx, e); err != nil || !matches || d.Decision != tc.want {
			t.Errorf("replaying %s: %s, matches %v, %v; want %s, matching", a.Entry.ID, d.Decision, matches, err, tc.want)
		}
	}

	// A batch: every subject answered is logged; a refused one is not.
	as, errs, err := checks.CheckAndLogEach(ctx, registry.CheckRequest{Sector: "aviation", Checker: "tok_h03b"}, []string{adult, "nonsense", minor})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[2] != nil || credo.ErrorCode(errs[1]) != credo.EINVALID {
		t.Fatalf("batch errors %v; want only the second subject refused", errs)
	}
	for _, i := range []int{0, 2} {
		same(as[i], logged(as[i].Decision.Subject, as[i].Entry.ID), "tok_h03b")
	}

	// A check that cannot be logged is not answered.
	broken := reg.NewChecks(failingLog{}, registry.ChecksOptions{})
	defer broken.Close(ctx)
	if a, err := broken.CheckAndLog(ctx, registry.CheckRequest{Subject: adult, Sector: "aviation"}); err == nil || credo.ErrorCode(err) != credo.EUNAVAILABLE || a.Decision.Decision != "" {
		t.Fatalf("a check the log refused: %+v, %v; want no answer and EUNAVAILABLE", a, err)
	}
	if _, _, err := broken.CheckAndLogEach(ctx, registry.CheckRequest{Sector: "aviation"}, []string{adult, minor}); credo.ErrorCode(err) != credo.EUNAVAILABLE {
		t.Fatalf("a batch the log refused: %v; want EUNAVAILABLE", err)
	}
}

// discardLog counts checks and keeps none.
type discardLog struct {
	credo.CheckLog
	n int
}

func (d *discardLog) LogChecks(_ context.Context, cs []credo.CheckEntry) error {
	d.n += len(cs)
	return nil
}

// BenchmarkCheckAndLog is the registry's one check path in process, for a
// subject without records (a plain allow from the decision table) and a
// denied one (explained from its facts): decide is Registry.Check (no
// log); async and durable log into a check log that keeps nothing, so
// that what is measured is the decision, the check id and the queue (and,
// durable, the wait for the group's write).
func BenchmarkCheckAndLog(b *testing.B) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 6, 1, 10, 0, 0, 0, shanghai)}
	st, err := sqlite.OpenOptions(filepath.Join(b.TempDir(), "r.db"), sqlite.Options{Now: c.now})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg, err := registry.Open(ctx, st, registry.Options{Now: c.now})
	if err != nil {
		b.Fatal(err)
	}
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "policy.yaml", src, time.Time{}); err != nil {
		b.Fatal(err)
	}
	if _, err := reg.FileRecord(ctx, judgment(adult, "(2026)B03", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		b.Fatal(err)
	}
	for _, subj := range []struct{ name, id string }{{"allow", minor}, {"deny", adult}} {
		b.Run("decide/"+subj.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Check(ctx, subj.id, "aviation"); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, async := range []bool{true, false} {
			name := "durable/"
			if async {
				name = "async/"
			}
			b.Run(name+subj.name, func(b *testing.B) {
				checks := reg.NewChecks(&discardLog{}, registry.ChecksOptions{Async: async})
				defer checks.Close(ctx)
				q := registry.CheckRequest{Subject: subj.id, Sector: "aviation", Checker: "tok", Org: "bench", Issued: c.t}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := checks.CheckAndLog(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
