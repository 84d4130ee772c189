package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// smallDisk mounts a tmpfs of size (e.g. "3m") on a temporary directory:
// a disk that fills up for real. It needs root; without it the test
// skips (package sqlite's injected faults cover the store's side).
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

// TestR03IngestFullDisk files a file onto a registry whose disk fills up
// half way: `credo ingest` exits non-zero saying the disk is full (no
// driver message) and which lines are committed; the committed lines are
// exactly those, and once space is back the same command files the rest.
// Before, it exited with the driver's message and said nothing of what
// was committed.
func TestR03IngestFullDisk(t *testing.T) {
	dir := smallDisk(t, "4m")
	db := filepath.Join(dir, "test.db")
	if code, out, errs := runCLI(t, "init", "--db", db, "--policy", "testdata/policy.yaml"); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	const n = 40000
	file := filepath.Join(t.TempDir(), "big.csv")
	var b strings.Builder
	b.WriteString("subject,rule,authority,case_ref,decided_at,evidence_sha256,quantity\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s,LATE_UTILITY,utility.water,W%07d,2024-%02d-%02d,%s,%d\n", ric(i), i, 1+i%12, 1+i%28, digest(strconv.Itoa(i)), 1+i%3)
	}
	writeFile(t, file, b.String())

	code, out, errs := runCLI(t, "ingest", "--db", db, "-q", "--batch", "1000", file)
	if code == 0 {
		t.Fatalf("ingest onto a full disk exited 0: %s%s", out, errs)
	}
	if !strings.Contains(errs, "the disk is full") || strings.Contains(strings.ToLower(errs), "sqlite") {
		t.Errorf("the error does not say the disk is full in Credo's words: %s", errs)
	}
	m := regexp.MustCompile(`lines 1-(\d+) are committed`).FindStringSubmatch(errs)
	committed := 0
	if m != nil {
		committed, _ = strconv.Atoi(m[1])
		committed-- // line 1 is the header
	} else if !strings.Contains(errs, "nothing of "+file+" is committed") {
		t.Fatalf("the error does not say what was committed: %s", errs)
	}
	t.Logf("full disk after %d records: %s", committed, strings.TrimSpace(errs))

	// Space returns: the same command files the rest, and finds exactly
	// the lines it said were committed already present.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	code, out, errs = runCLI(t, "ingest", "--db", db, "-q", "--batch", "1000", file)
	if code != 0 {
		t.Fatalf("ingest after space returned: exit %d %s%s", code, out, errs)
	}
	want := fmt.Sprintf("%d lines: %d filed, %d already present, 0 rejected", n, n-committed, committed)
	if !strings.HasPrefix(out, want) {
		t.Errorf("second run: %q, want %q", out, want)
	}
	if code, out, _ := runCLI(t, "verify", "--db", db); code != 0 {
		t.Errorf("verify: %s", out)
	}
}
