package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/registry"
	"credo/sqlite"
)

// syncBuffer collects log lines from concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// snapEnv is a registry over a store file with a snapshot beside it.
type snapEnv struct {
	t    *testing.T
	c    *clock
	st   *sqlite.DB
	snap string
	logs *syncBuffer
}

func newSnapEnv(t *testing.T) *snapEnv {
	t.Helper()
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	dir := t.TempDir()
	st, err := sqlite.OpenOptions(filepath.Join(dir, "r.db"), sqlite.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &snapEnv{t: t, c: c, st: st, snap: filepath.Join(dir, "r.db.table")}
}

// open opens a registry over the store; with snapshot, using the snapshot
// file. Its log is in e.logs.
func (e *snapEnv) open(snapshot bool) *registry.Registry {
	e.t.Helper()
	e.logs = &syncBuffer{}
	opts := registry.Options{Now: e.c.now, Logger: slog.New(slog.NewTextHandler(e.logs, nil))}
	if snapshot {
		opts.Snapshot = e.snap
	}
	reg, err := registry.Open(context.Background(), e.st, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return reg
}

func (e *snapEnv) publish(reg *registry.Registry, edit func(string) string) {
	e.t.Helper()
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		e.t.Fatal(err)
	}
	s := string(src)
	if edit != nil {
		s = edit(s)
	}
	if _, _, err := reg.Publish(context.Background(), "policy.yaml", []byte(s), time.Time{}); err != nil {
		e.t.Fatal(err)
	}
}

// snapPerson is the i-th person of the snapshot tests.
func snapPerson(i int) string { return ric(fmt.Sprintf("110105198%d0315%03d", i%10, i+1)) }

// sameTables fails unless two registries hold the same entries for the
// subjects, and give the same decisions in every sector.
func sameTables(t *testing.T, got, want *registry.Registry, subjects []string, now time.Time) {
	t.Helper()
	ctx := context.Background()
	gt, err := got.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := want.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gt.Len() != wt.Len() {
		t.Errorf("%d entries, want %d", gt.Len(), wt.Len())
	}
	for _, s := range subjects {
		ge, err1 := gt.Entry(s, now)
		we, err2 := wt.Entry(s, now)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if ge != we {
			t.Errorf("%s: entry %+v, want %+v", s, ge, we)
		}
		for _, sector := range []string{"aviation", "rail", "internet"} {
			gd, err1 := got.Check(ctx, s, sector)
			wd, err2 := want.Check(ctx, s, sector)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if gd.Decision != wd.Decision {
				t.Errorf("%s in %s: %s, want %s", s, sector, gd.Decision, wd.Decision)
			}
		}
	}
}

// TestSnapshotThenLaterEvents files records, lets the snapshot be written,
// files more (the process then "crashes": no snapshot on shutdown), moves
// the clock past some entries' next change, and reopens: the table from
// the snapshot plus the later events equals a full rebuild.
func TestSnapshotThenLaterEvents(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	reg := e.open(true)
	e.publish(reg, nil) // the rebuild writes the snapshot
	if _, err := os.Stat(e.snap); err != nil {
		t.Fatalf("no snapshot after publishing: %v", err)
	}
	subjects := []string{org}
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)
	for i := range 20 {
		subjects = append(subjects, snapPerson(i))
		if _, err := reg.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)S%d", i), decided)); err != nil {
			t.Fatal(err)
		}
	}
	// The legal representative of org has no record of their own yet.
	rep := snapPerson(99)
	subjects = append(subjects, rep)
	if _, err := reg.Append(ctx, &credo.Event{Type: credo.EventLinkAdded, Subject: org, Actor: "admin",
		Link: &credo.Link{Org: org, Person: rep, Role: credo.RoleLegalRepresentative, From: time.Date(2020, 1, 1, 0, 0, 0, 0, shanghai)}}); err != nil {
		t.Fatal(err)
	}
	if err := reg.SaveSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.logs.String(), "decision table snapshot written") {
		t.Fatalf("no snapshot written:\n%s", e.logs)
	}

	// After the snapshot: new records, a record about the org (which must
	// reach its representative), a fulfilment.
	for i := 20; i < 30; i++ {
		subjects = append(subjects, snapPerson(i))
		if _, err := reg.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)S%d", i), decided)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.FileRecord(ctx, judgment(org, "(2026)S-org", decided)); err != nil {
		t.Fatal(err)
	}
	first, err := e.st.RecordByCase(ctx, "court.test", "(2026)S0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.ChangeRecord(ctx, credo.EventRecordFulfilled, first.ID, time.Time{}, "court.test", "paid", false); err != nil {
		t.Fatal(err)
	}
	// An hour later, and six years later, past the debtors list's
	// five-year maximum: entries past their next change are recomputed.
	for _, later := range []time.Duration{time.Hour, 6 * 365 * 24 * time.Hour} {
		e.c.t = e.c.t.Add(later)
		fromSnap := e.open(true)
		if !strings.Contains(e.logs.String(), "decision table loaded from snapshot") {
			t.Fatalf("snapshot not used:\n%s", e.logs)
		}
		full := e.open(false)
		sameTables(t, fromSnap, full, subjects, e.c.t)
		d, err := fromSnap.Check(ctx, rep, "aviation")
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: engine.Deny, false: engine.Allow}[later == time.Hour]; d.Decision != want {
			t.Errorf("after %s: the org's representative: %s, want %s", later, d.Decision, want)
		}
	}
}

// TestSnapshotRefused checks that a snapshot that cannot be trusted is
// refused with a clear log line and the table rebuilt from the log.
func TestSnapshotRefused(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*snapEnv, *registry.Registry, []string) {
		e := newSnapEnv(t)
		reg := e.open(true)
		e.publish(reg, nil)
		var subjects []string
		for i := range 10 {
			subjects = append(subjects, snapPerson(i))
			if _, err := reg.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)R%d", i), time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
				t.Fatal(err)
			}
		}
		if err := reg.SaveSnapshot(ctx); err != nil {
			t.Fatal(err)
		}
		return e, reg, subjects
	}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, e *snapEnv, reg *registry.Registry)
		reason string
	}{
		{"truncated", func(t *testing.T, e *snapEnv, _ *registry.Registry) {
			b, _ := os.ReadFile(e.snap)
			os.WriteFile(e.snap, b[:len(b)*2/3], 0o644)
		}, "not a complete decision table"},
		{"corrupt", func(t *testing.T, e *snapEnv, _ *registry.Registry) {
			b, _ := os.ReadFile(e.snap)
			b[len(b)-20] ^= 0xff
			os.WriteFile(e.snap, b, 0o644)
		}, "not a complete decision table"},
		{"no header", func(t *testing.T, e *snapEnv, _ *registry.Registry) {
			os.WriteFile(e.snap, []byte("garbage"), 0o644)
		}, "no header line"},
		{"a policy never published", func(t *testing.T, e *snapEnv, _ *registry.Registry) {
			// A snapshot under an earlier published version is brought
			// to the version in force (TestS05OlderSnapshot); one under
			// a version this log never published is refused.
			b, _ := os.ReadFile(e.snap)
			head, body, _ := bytes.Cut(b, []byte("\n"))
			var hdr map[string]any
			if err := json.Unmarshal(head, &hdr); err != nil {
				t.Fatal(err)
			}
			hdr["policy"] = strings.Repeat("f", 64)
			head, _ = json.Marshal(hdr)
			os.WriteFile(e.snap, append(append(head, '\n'), body...), 0o644)
		}, "built under policy ffffffffffff, not"},
		{"another log", func(t *testing.T, e *snapEnv, _ *registry.Registry) {
			other := newSnapEnv(t)
			oreg := other.open(true)
			other.publish(oreg, nil)
			for i := range 12 {
				if _, err := oreg.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)X%d", i), time.Date(2026, 5, 2, 0, 0, 0, 0, shanghai))); err != nil {
					t.Fatal(err)
				}
			}
			// Reopened, the other registry's table stands at its head.
			if err := other.open(true).SaveSnapshot(ctx); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(other.snap)
			os.WriteFile(e.snap, b, 0o644)
		}, "another log?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, reg, subjects := setup(t)
			tc.damage(t, e, reg)
			reopened := e.open(true)
			logs := e.logs.String()
			if !strings.Contains(logs, "decision table snapshot not used: rebuilding from the log") || !strings.Contains(logs, tc.reason) {
				t.Fatalf("log does not say why the snapshot was refused (%q):\n%s", tc.reason, logs)
			}
			if !strings.Contains(logs, "decision table built") || !strings.Contains(logs, "decision table snapshot written") {
				t.Fatalf("no rebuild and new snapshot:\n%s", logs)
			}
			sameTables(t, reopened, e.open(false), subjects, e.c.t)
			// The new snapshot is good.
			e.open(true)
			if !strings.Contains(e.logs.String(), "decision table loaded from snapshot") {
				t.Fatalf("the rewritten snapshot is not used:\n%s", e.logs)
			}
		})
	}
}

// TestSnapshotWithAnotherWriter files records through a second registry
// over the same store (a `credo ingest` beside a running server) that the
// first registry's table never sees; the first saves its snapshot on
// shutdown. The next start must still reflect those records.
func TestSnapshotWithAnotherWriter(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	server := e.open(true)
	e.publish(server, nil)
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)
	var subjects []string
	for i := range 5 {
		subjects = append(subjects, snapPerson(i))
		if _, err := server.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)W%d", i), decided)); err != nil {
			t.Fatal(err)
		}
	}
	ingest, err := registry.Open(ctx, e.st, registry.Options{Now: e.c.now, NoTable: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 10; i++ {
		subjects = append(subjects, snapPerson(i))
		if _, err := ingest.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)W%d", i), decided)); err != nil {
			t.Fatal(err)
		}
	}
	if err := server.SaveSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := e.open(true)
	if !strings.Contains(e.logs.String(), "decision table loaded from snapshot") {
		t.Fatalf("snapshot not used:\n%s", e.logs)
	}
	sameTables(t, restarted, e.open(false), subjects, e.c.t)
	d, err := restarted.Check(ctx, snapPerson(7), "aviation")
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != engine.Deny {
		t.Errorf("a record filed by the other writer: %s, want deny", d.Decision)
	}
}

// TestSnapshotOfTailingNode: a node that tails the log saves its snapshot
// at the position it has applied, not where its table was built, so the
// next start catches up only what came after.
func TestSnapshotOfTailingNode(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	server := e.open(true)
	e.publish(server, nil)
	built := server.Position()
	other, err := registry.Open(ctx, e.st, registry.Options{Now: e.c.now, NoTable: true})
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- server.Tail(tctx, registry.TailOptions{Interval: 5 * time.Millisecond}) }()
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)
	var subjects []string
	for i := range 4 {
		subjects = append(subjects, snapPerson(i))
		if _, err := other.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)T%d", i), decided)); err != nil {
			t.Fatal(err)
		}
	}
	head, _, err := e.st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tailer to reach the head", func() bool { return server.Position() == head })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if head <= built {
		t.Fatalf("head %d not past the build position %d", head, built)
	}
	if err := server.SaveSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := e.open(true)
	logs := e.logs.String()
	if !strings.Contains(logs, "decision table loaded from snapshot") || !strings.Contains(logs, fmt.Sprintf("snapshot_seq=%d", head)) || !strings.Contains(logs, "events_after=0") {
		t.Fatalf("snapshot not saved at the tail position %d:\n%s", head, logs)
	}
	sameTables(t, restarted, e.open(false), subjects, e.c.t)
}

// TestR06SnapshotSplice: a snapshot's header is bound to its body. A
// header from this registry spliced onto the body of another registry's
// snapshot (same policy) used to load, turning this registry's denials
// into allows; a header whose subject count is not its body's is refused
// too. Each is refused with a log line and the table rebuilt from the log.
func TestR06SnapshotSplice(t *testing.T) {
	ctx := context.Background()
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, e *snapEnv)
		reason string
	}{
		{"body of another registry", func(t *testing.T, e *snapEnv) {
			other := newSnapEnv(t)
			oreg := other.open(true)
			other.publish(oreg, nil)
			for i := 50; i < 60; i++ {
				if _, err := oreg.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)O%d", i), decided)); err != nil {
					t.Fatal(err)
				}
			}
			if err := oreg.SaveSnapshot(ctx); err != nil {
				t.Fatal(err)
			}
			ours, _ := os.ReadFile(e.snap)
			theirs, _ := os.ReadFile(other.snap)
			hdr := ours[:bytes.IndexByte(ours, '\n')+1]
			body := theirs[bytes.IndexByte(theirs, '\n')+1:]
			os.WriteFile(e.snap, append(append([]byte{}, hdr...), body...), 0o644)
		}, "not the one its header was written with"},
		{"subject count", func(t *testing.T, e *snapEnv) {
			b, _ := os.ReadFile(e.snap)
			i := bytes.Index(b, []byte(`"subjects":`)) + len(`"subjects":`)
			j := i + bytes.IndexAny(b[i:], ",}")
			n := len(b[i:j])
			b = append(append(append([]byte{}, b[:i]...), []byte(fmt.Sprintf("%*d", n, 3))...), b[j:]...)
			os.WriteFile(e.snap, b, 0o644)
		}, "its header says 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSnapEnv(t)
			reg := e.open(true)
			e.publish(reg, nil)
			var subjects []string
			for i := range 10 {
				subjects = append(subjects, snapPerson(i))
				if _, err := reg.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)R%d", i), decided)); err != nil {
					t.Fatal(err)
				}
			}
			if err := reg.SaveSnapshot(ctx); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, e)
			reopened := e.open(true)
			logs := e.logs.String()
			if !strings.Contains(logs, "decision table snapshot not used: rebuilding from the log") || !strings.Contains(logs, tc.reason) {
				t.Errorf("log does not say why the snapshot was refused (%q):\n%s", tc.reason, logs)
			}
			for _, s := range subjects {
				if d, err := reopened.Check(ctx, s, "aviation"); err != nil || d.Decision != engine.Deny {
					t.Errorf("%s in aviation after reopening: %s, %v; want deny", s, d.Decision, err)
				}
			}
		})
	}
}

// TestSaveSnapshotNotTwice: a snapshot this registry wrote of its table at
// the head of the log is not written again (the demo wrote it twice in a
// row at start); one removed meanwhile is, and so is one behind the head.
func TestSaveSnapshotNotTwice(t *testing.T) {
	ctx := context.Background()
	e := newSnapEnv(t)
	reg := e.open(true)
	e.publish(reg, nil)
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)
	var subjects []string
	for i := range 3 {
		subjects = append(subjects, snapPerson(i))
		if _, err := reg.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)W%d", i), decided)); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(e.snap)
	reg = e.open(true) // builds the table at the head and writes its snapshot
	written := func() int { return strings.Count(e.logs.String(), "decision table snapshot written") }
	if written() != 1 {
		t.Fatalf("the start wrote %d snapshots, not 1:\n%s", written(), e.logs)
	}
	if err := reg.SaveSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if written() != 1 {
		t.Errorf("the snapshot of the table at the head was written again:\n%s", e.logs)
	}
	if err := os.Remove(e.snap); err != nil {
		t.Fatal(err)
	}
	if err := reg.SaveSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if written() != 2 {
		t.Errorf("a removed snapshot was not written again:\n%s", e.logs)
	}
	subjects = append(subjects, snapPerson(3))
	if _, err := reg.FileRecord(ctx, judgment(snapPerson(3), "(2026)W3", decided)); err != nil {
		t.Fatal(err)
	}
	if err := reg.SaveSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if written() != 3 {
		t.Errorf("a snapshot behind the head was not written again:\n%s", e.logs)
	}
	restarted := e.open(true)
	if !strings.Contains(e.logs.String(), "decision table loaded from snapshot") {
		t.Fatalf("snapshot not loaded:\n%s", e.logs)
	}
	sameTables(t, restarted, e.open(false), subjects, e.c.t)
}

// failingNotifier is a store whose notifications are never available.
type failingNotifier struct{ *sqlite.DB }

func (failingNotifier) Notify(context.Context) (<-chan struct{}, error) {
	return nil, credo.Errorf(credo.EUNAVAILABLE, "no notifications here")
}

// TestTailWarnsOnceWithoutNotifications: a tailer over a store whose
// notifications are unavailable says so once, not at every poll.
func TestTailWarnsOnceWithoutNotifications(t *testing.T) {
	e := newSnapEnv(t)
	logs := &syncBuffer{}
	reg, err := registry.Open(context.Background(), failingNotifier{e.st}, registry.Options{Now: e.c.now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if err := reg.Tail(ctx, registry.TailOptions{Interval: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "log notifications unavailable"); n != 1 {
		t.Errorf("warned %d times, not once:\n%s", n, logs)
	}
}
