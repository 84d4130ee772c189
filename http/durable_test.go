package http_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"credo"
	credohttp "credo/http"
)

// gateLog holds every write of the check log until released, and records
// the ids of the checks whose write has returned.
type gateLog struct {
	credo.CheckLog
	entered   chan struct{}
	release   chan struct{}
	mu        sync.Mutex
	committed map[string]bool
}

func (g *gateLog) LogChecks(ctx context.Context, cs []credo.CheckEntry) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.release
	if err := g.CheckLog.LogChecks(ctx, cs); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cs {
		g.committed[c.ID] = true
	}
	return nil
}

func (g *gateLog) isCommitted(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.committed[id]
}

// TestR01AnsweredCheckIsCommitted: a check (single or in a batch) is
// answered only once the write of its log entry has returned, so that a
// crash cannot lose an answered check. The check log's writes are held:
// no answer may leave until they are released. Before, checks were
// answered at once and written up to 50 ms later.
func TestR01AnsweredCheckIsCommitted(t *testing.T) {
	for _, path := range []string{"/v1/checks", "/v1/checks/batch"} {
		t.Run(path, func(t *testing.T) {
			g := &gateLog{entered: make(chan struct{}, 1), release: make(chan struct{}), committed: map[string]bool{}}
			e := newEnvWith(t, credohttp.Options{RateLimit: -1}, func(l credo.CheckLog) credo.CheckLog { g.CheckLog = l; return g })
			e.file(alice, "(2025)Durable-1")
			respc := make(chan *response, 1)
			go func() {
				if path == "/v1/checks" {
					respc <- e.do("POST", path, "airline", map[string]string{"subject": alice, "sector": "aviation"})
				} else {
					respc <- e.do("POST", path, "airline", map[string]any{"subjects": []string{alice, bob, carol}, "sector": "aviation"})
				}
			}()
			select {
			case <-g.entered:
			case r := <-respc:
				close(g.release)
				t.Fatalf("answered (%d) before the check log was written: %s", r.status, r.body)
			}
			select {
			case r := <-respc:
				close(g.release)
				t.Fatalf("answered (%d) while its log entry was being written: %s", r.status, r.body)
			default:
			}
			close(g.release)
			r := <-respc
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var ids []string
			if path == "/v1/checks" {
				var res credohttp.CheckResult
				r.decode(t, &res)
				ids = append(ids, res.CheckID)
			} else {
				var res credohttp.CheckBatchResponse
				r.decode(t, &res)
				for _, d := range res.Decisions {
					ids = append(ids, d.CheckID)
				}
			}
			for _, id := range ids {
				if id == "" || !g.isCommitted(id) {
					t.Errorf("check %q answered but its log entry was not committed", id)
				}
			}
		})
	}
}

// failingLog fails every write while failing is set.
type failingLog struct {
	credo.CheckLog
	failing atomic.Bool
}

func (f *failingLog) LogChecks(ctx context.Context, cs []credo.CheckEntry) error {
	if f.failing.Load() {
		return &credo.Error{Code: credo.EUNAVAILABLE, Op: "sqlite.LogChecks", Message: "the store cannot work: the disk is full; retry later",
			Err: &os.PathError{Op: "write", Path: "credo.db.checks-wal", Err: syscall.ENOSPC}}
	}
	return f.CheckLog.LogChecks(ctx, cs)
}

// assertOutage checks that r is a 503 problem+json with Retry-After whose
// detail mentions want.
func assertOutage(t *testing.T, r *response, want string) {
	t.Helper()
	if r.status != 503 || r.header.Get("Retry-After") == "" || r.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(r.body), want) {
		t.Errorf("got %d Retry-After=%q %s: %s; want 503 problem+json with Retry-After mentioning %q",
			r.status, r.header.Get("Retry-After"), r.header.Get("Content-Type"), r.body, want)
	}
}

// TestR03CheckLogOutageIsSaid: while the check log cannot be written,
// checks are refused with 503 and Retry-After (none is answered, so none
// is lost), /readyz is 503 naming the cause, and both recover as soon as
// writes succeed again. Before, checks were answered and queued in memory
// while /readyz stayed ready.
func TestR03CheckLogOutageIsSaid(t *testing.T) {
	var fl *failingLog
	e := newEnvWith(t, credohttp.Options{RateLimit: -1}, func(l credo.CheckLog) credo.CheckLog { fl = &failingLog{CheckLog: l}; return fl })
	if r := e.do("GET", "/readyz", "", nil); r.status != 200 {
		t.Fatalf("readyz before the fault: %d %s", r.status, r.body)
	}
	fl.failing.Store(true)
	r := e.do("POST", "/v1/checks", "airline", map[string]string{"subject": bob, "sector": "aviation"})
	assertOutage(t, r, "the disk is full")
	r = e.do("POST", "/v1/checks/batch", "airline", map[string]any{"subjects": []string{alice, bob}, "sector": "aviation"})
	assertOutage(t, r, "the disk is full")
	r = e.do("GET", "/readyz", "", nil)
	assertOutage(t, r, "the check log cannot be written")

	fl.failing.Store(false)
	res := e.check("airline", bob, "aviation")
	if r := e.do("GET", "/readyz", "", nil); r.status != 200 {
		t.Fatalf("readyz after the fault cleared and a check was logged: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/checks/"+res.CheckID, "admin", nil); r.status != 200 {
		t.Errorf("the check answered after recovery: GET = %d %s", r.status, r.body)
	}
}

// smallDisk mounts a tmpfs of size (e.g. "4m") on a temporary directory:
// a disk that fills up for real. It needs root (and the test skips
// without it; the injected faults of package sqlite cover the rest).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fillDisk writes a file in dir until the disk is full and returns it.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return name
		}
	}
}

// TestR03FullDiskIsAnOutage fills the registry's disk for real: filing a
// record answers 503 with Retry-After (problem+json saying the disk is
// full), not 500 "Internal error"; /readyz turns 503 with the reason; once
// space is freed /readyz is ready again and filing succeeds, with no
// restart.
func TestR03FullDiskIsAnOutage(t *testing.T) {
	dir := smallDisk(t, "8m")
	e := newEnvIn(t, dir, credohttp.Options{RateLimit: -1}, nil)
	e.file(alice, "(2025)Disk-1")
	e.check("airline", alice, "aviation")
	filler := fillDisk(t, dir)

	rec := func(n int) map[string]any {
		ref := fmt.Sprintf("(2025)Disk-%d", n)
		return map[string]any{"subject": bob, "rule": "JUDGMENT_DEFAULT", "authority": "court.test", "case_ref": ref,
			"decided_at": "2025-03-01", "evidence_sha256": digest(ref)}
	}
	// A filing may still fit in space SQLite holds already (a write-ahead
	// log restarted after a checkpoint); the disk is full when one does not.
	var r *response
	for n := 2; ; n++ {
		r = e.do("POST", "/v1/records", "court", rec(n))
		if r.status != 201 || n > 1000 {
			break
		}
	}
	assertOutage(t, r, "the disk is full")
	r = e.do("GET", "/readyz", "", nil)
	assertOutage(t, r, "the disk is full")

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/readyz", "", nil); r.status != 200 {
		t.Fatalf("readyz after space was freed: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/records", "court", rec(100000)); r.status != 201 {
		t.Fatalf("filing after space was freed: %d %s", r.status, r.body)
	}
	e.check("airline", bob, "aviation")
}
