package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The README's tour is a test: TestF01ReadmeTour runs every command of the
// README's code blocks marked <!-- tour --> in order, in a fresh directory
// holding the repository's policies/ and docs/tour/, with `credo` (this
// test binary) on the PATH, in one bash shell (so that `X=$(...)`,
// `export`, `&` and curl work as a reader's shell runs them), and compares
// the output the README shows.
//
// The README's conventions, for whoever edits it:
//
//   - A tour block is a fenced block right after a line <!-- tour -->.
//     Every other fenced shell block must follow a line
//     <!-- not in the tour: WHY --> (and there may be no indented code
//     block), so that no command escapes the test unnoticed.
//   - In a tour block, a line "$ CMD" is a command (a trailing " \"
//     continues it on the next line); the lines after it, up to the next
//     command, are its output. A command followed directly by another
//     shows no output and is not compared.
//   - Output is compared line by line after collapsing runs of blanks
//     (tabwriter alignment) and trimming; a line "..." stands for any
//     number of lines, and a line ending in "..." for any line starting
//     with what precedes it. "age N" is compared without the number, which
//     changes every birthday.
//   - A command must exit 0, unless it ends with a comment
//     "# exit status N".
//   - A command ending in " &" runs in the background: a server, whose
//     --addr is replaced by a free port (everywhere in the tour) and which
//     must answer /readyz before the next command runs.
func TestF01ReadmeTour(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's tour")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("the README's tour needs bash")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the README's tour needs curl")
		}
		t.Skip("the README's tour needs curl")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	steps, err := readTour(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) < 10 {
		t.Fatalf("README.md: only %d tour commands found: is the <!-- tour --> marker still there?", len(steps))
	}

	dir := t.TempDir()
	work, bin, outDir := filepath.Join(dir, "work"), filepath.Join(dir, "bin"), filepath.Join(dir, "out")
	for _, d := range []string{work, bin, outDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.CopyFS(filepath.Join(work, "policies"), os.DirFS(filepath.Join(root, "policies"))); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(work, "docs", "tour"), os.DirFS(filepath.Join(root, "docs", "tour"))); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bin, "credo"), fmt.Sprintf("#!/bin/sh\nCREDO_TEST_MAIN=1 exec %q \"$@\"\n", self))
	if err := os.Chmod(filepath.Join(bin, "credo"), 0o755); err != nil {
		t.Fatal(err)
	}

	// The README's server address, replaced by a free one.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().String()
	l.Close()
	const readmeAddr = "127.0.0.1:8080"

	var sc strings.Builder
	fmt.Fprintf(&sc, "set -u\ncd %q\nexport PATH=%q:\"$PATH\"\nunset CREDO_SERVER CREDO_TOKEN CREDO_POSTGRES\n", work, bin)
	sc.WriteString("trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n")
	sc.WriteString("ready() { for i in $(seq 1 600); do curl -sf \"$1/readyz\" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }\n")
	for i, st := range steps {
		cmd := strings.ReplaceAll(st.cmd, readmeAddr, port)
		out := filepath.Join(outDir, strconv.Itoa(i))
		fmt.Fprintf(&sc, "# README.md:%d\n", st.line)
		if bg, ok := strings.CutSuffix(strings.TrimSpace(cmd), "&"); ok {
			addr := regexp.MustCompile(`--addr\s+(\S+)`).FindStringSubmatch(bg)
			if addr == nil {
				t.Fatalf("README.md:%d: a background command without --addr: %s", st.line, st.cmd)
			}
			fmt.Fprintf(&sc, "%s > %q 2>&1 &\nif ready http://%s; then echo 0 > %q.rc; else echo 'never ready' >> %q; echo 1 > %q.rc; exit 0; fi\n",
				bg, out, addr[1], out, out, out)
			continue
		}
		fmt.Fprintf(&sc, "{ %s\n} > %q 2>&1 < /dev/null\necho $? > %q.rc\n[ \"$(cat %q.rc)\" = %d ] || exit 0\n", cmd, out, out, out, st.exit)
	}
	script := filepath.Join(dir, "tour.sh")
	writeFile(t, script, sc.String())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, bash, script)
	c.Env = append(os.Environ(), "CREDO_TEST_MAIN=")
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("the tour script failed: %v\n%s", err, b)
	}

	for i, st := range steps {
		out := filepath.Join(outDir, strconv.Itoa(i))
		rcb, err := os.ReadFile(out + ".rc")
		if err != nil {
			t.Fatalf("README.md:%d: not run (an earlier command failed)", st.line)
		}
		got, _ := os.ReadFile(out)
		rc, _ := strconv.Atoi(strings.TrimSpace(string(rcb)))
		if rc != st.exit {
			t.Fatalf("README.md:%d: $ %s\nexited %d, want %d; it printed:\n%s", st.line, st.cmd, rc, st.exit, got)
		}
		if st.want == nil {
			continue
		}
		want := make([]string, len(st.want))
		for j, w := range st.want {
			want[j] = strings.ReplaceAll(w, readmeAddr, port)
		}
		if line, ok := matchOutput(want, string(got)); !ok {
			t.Errorf("README.md:%d: $ %s\nshows (README.md:%d on):\n%s\nbut the command printed:\n%s", st.line, st.cmd, st.line+1+line, strings.Join(st.want, "\n"), got)
		}
	}
}

// tourStep is one command of the README's tour.
type tourStep struct {
	line int    // README line of the command
	cmd  string // the shell command
	exit int    // the exit status wanted
	want []string
}

var exitComment = regexp.MustCompile(`\s+# exit status (\d+)(:.*)?$`)

// readTour extracts the tour's commands from the README, and checks that
// every code block is either in the tour or says why not.
func readTour(path string) ([]tourStep, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var steps []tourStep
	var cur *tourStep
	inFence, tour := false, false
	prev, prevBlank := "", true
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if !inFence {
				inFence = true
				tour = prev == "<!-- tour -->"
				lang := strings.TrimPrefix(trimmed, "```")
				if !tour && (lang == "sh" || lang == "console" || lang == "bash" || lang == "shell") && !strings.HasPrefix(prev, "<!-- not in the tour:") {
					return nil, fmt.Errorf("README.md:%d: a shell block neither in the tour (<!-- tour --> before it) nor marked <!-- not in the tour: WHY -->", n)
				}
			} else {
				inFence, tour, cur = false, false, nil
			}
			prev, prevBlank = trimmed, false
			continue
		}
		if !inFence {
			if prevBlank && strings.HasPrefix(line, "    ") && trimmed != "" && !strings.HasPrefix(trimmed, "|") && !strings.HasPrefix(trimmed, "-") {
				return nil, fmt.Errorf("README.md:%d: an indented code block: fence it and mark it <!-- tour --> or <!-- not in the tour: WHY -->", n)
			}
			if trimmed != "" {
				prev = trimmed
			}
			prevBlank = trimmed == ""
			continue
		}
		if !tour {
			continue
		}
		switch {
		case strings.HasPrefix(line, "$ "):
			steps = append(steps, tourStep{line: n, cmd: strings.TrimPrefix(line, "$ ")})
			cur = &steps[len(steps)-1]
		case cur != nil && strings.HasSuffix(cur.cmd, "\\") && cur.want == nil:
			cur.cmd += "\n" + line
		case cur != nil:
			cur.want = append(cur.want, line)
		default:
			return nil, fmt.Errorf("README.md:%d: tour output before any command", n)
		}
	}
	for i := range steps {
		if m := exitComment.FindStringSubmatch(steps[i].cmd); m != nil {
			steps[i].exit, _ = strconv.Atoi(m[1])
			steps[i].cmd = strings.TrimSuffix(steps[i].cmd, m[0])
		}
	}
	return steps, sc.Err()
}

var (
	blanks = regexp.MustCompile(`[ \t]+`)
	ages   = regexp.MustCompile(`\bage \d+\b`)
)

func normLine(s string) string {
	return ages.ReplaceAllString(strings.TrimSpace(blanks.ReplaceAllString(s, " ")), "age N")
}

// matchOutput matches output against the shown lines ("..." for any
// lines, a trailing "..." for any rest of a line); on a mismatch it
// returns the index of the first shown line not matched.
func matchOutput(want []string, got string) (int, bool) {
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if got == "" {
		lines = nil
	}
	for i := range lines {
		lines[i] = normLine(lines[i])
	}
	var match func(w, g int) (int, bool)
	match = func(w, g int) (int, bool) {
		if w == len(want) {
			return w, g == len(lines)
		}
		pat := normLine(want[w])
		if pat == "..." {
			best := w
			for k := g; k <= len(lines); k++ {
				at, ok := match(w+1, k)
				if ok {
					return at, true
				}
				best = max(best, at)
			}
			return best, false
		}
		if g == len(lines) {
			return w, false
		}
		if p, ok := strings.CutSuffix(pat, "..."); ok {
			if !strings.HasPrefix(lines[g], p) {
				return w, false
			}
		} else if lines[g] != pat {
			return w, false
		}
		return match(w+1, g+1)
	}
	return match(0, 0)
}
