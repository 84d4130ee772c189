// Command report runs Credo's benchmark suite and writes BENCHMARKS.md: one
// table of figures (medians of BENCH_COUNT runs), each beside its docs/design.md §7
// target and a baseline measured in the same run, and a description of the
// machine.
//
//	go run ./bench/report              # what `make bench` runs
//	BENCH_SCALE=1 go run ./bench/report # full-size tables (1 M, 5 M, 22 M subjects)
//
// BENCH_SCALE (default 0.1) scales the sizes: the decision-table benchmarks
// use 1 M, 5 M and 22 M subjects times BENCH_SCALE; the rebuild and
// cold-start benchmarks a synthetic city of 220,000 × BENCH_SCALE people
// (and a tenth as many organisations) with five years of records at the
// full city's rate (~14 records per subject with records). Figures for the
// full city that are not measured at full size are extrapolated linearly
// from the largest size measured, and marked so.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The full city: docs/design.md §7's figures are for it.
const (
	fullSubjects = 22_000_000  // subjects (the cold-start and memory targets)
	fullRecords  = 100_000_000 // records over five years
)

func main() {
	out := flag.String("out", "BENCHMARKS.md", "the report to write")
	raw := flag.String("raw", "bench.txt", "where to keep the raw `go test -bench` output")
	only := flag.String("only", "", "run only the groups whose name contains this (for trying the tool)")
	from := flag.String("from", "", "render the report from this raw output of an earlier run instead of running the benchmarks")
	flag.Parse()
	log.SetFlags(0)

	scale := envFloat("BENCH_SCALE", 0.1)
	count := envInt("BENCH_COUNT", 3)
	if scale <= 0 || count < 1 {
		log.Fatal("BENCH_SCALE must be positive and BENCH_COUNT at least 1")
	}
	sizes := []int{int(1e6 * scale), int(5e6 * scale), int(22e6 * scale)}
	people := max(int(220_000*scale), 1000)
	sizeList := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(sizes)), ","), "[]")

	res := results{}
	var m *machine
	if *from != "" {
		// Render again from a previous run's raw output.
		b, err := os.ReadFile(*from)
		if err != nil {
			log.Fatal(err)
		}
		first, rest, _ := bytes.Cut(b, []byte("\n"))
		m = &machine{}
		if err := json.Unmarshal(bytes.TrimPrefix(first, []byte("# machine ")), m); err != nil {
			log.Fatalf("%s: no machine line: %v", *from, err)
		}
		res.parse(bytes.NewReader(rest))
	} else {
		m = &machine{Scale: scale, Count: count, Sizes: sizes, People: people}
		m.describe()
		start := time.Now()
		var rawBuf bytes.Buffer
		for _, g := range groups(count, sizeList, people) {
			if *only != "" && !strings.Contains(g.name, *only) {
				continue
			}
			log.Printf("== %s: go %s", g.name, strings.Join(g.args, " "))
			cmd := exec.Command("go", g.args...)
			cmd.Env = append(os.Environ(), g.env...)
			cmd.Stderr = os.Stderr
			var buf bytes.Buffer
			cmd.Stdout = io.MultiWriter(&buf, &rawBuf, os.Stderr)
			if err := cmd.Run(); err != nil {
				log.Fatalf("%s: %v", g.name, err)
			}
			res.parse(&buf)
		}
		m.LoadAfter = loadAverage()
		m.Took = time.Since(start)
		if *raw != "" {
			line, _ := json.Marshal(m)
			data := append(append([]byte("# machine "), line...), '\n')
			if err := os.WriteFile(*raw, append(data, rawBuf.Bytes()...), 0o644); err != nil {
				log.Fatal(err)
			}
		}
	}

	var doc bytes.Buffer
	writeReport(&doc, m, res, m.Scale, m.Count, m.Sizes, m.People)
	if err := os.WriteFile(*out, doc.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s", *out)
}

type group struct {
	name string
	args []string
	env  []string
}

func groups(count int, sizes string, people int) []group {
	c := strconv.Itoa(count)
	bench := func(pkg, re, benchtime string) []string {
		return []string{"test", "-run", "^$", "-bench", re, "-benchmem", "-count", c, "-benchtime", benchtime, "-timeout", "3h", pkg}
	}
	return []group{
		{"check in process", bench("./engine", "^(BenchmarkCheck|BenchmarkCheckCELBaseline)$", "1s"), nil},
		{"checks over HTTP", bench("./http", "^(BenchmarkCheckHTTP|BenchmarkCheckHTTPBatch|BenchmarkCheckHTTPNaive|BenchmarkCheckHTTPFloor)$", "2s"), nil},
		{"ingest", bench("./sqlite", "^(BenchmarkBulkFile|BenchmarkNaiveInsert|BenchmarkGroupCommit|BenchmarkGroupCommit512|BenchmarkTxPerRecord|BenchmarkFloorLogOnly|BenchmarkFloorLogAndKey)$", "1s"), nil},
		{"table memory and snapshot", bench("./engine", "^(BenchmarkTableMemory|BenchmarkTableMemoryNaiveMap|BenchmarkTableSnapshot)$", "1x"),
			[]string{"BENCH_TABLE_SIZES=" + sizes}},
		{"rebuild and cold start", bench("./registry", "^(BenchmarkRebuild|BenchmarkRebuildBySubject|BenchmarkRebuildSQLBaseline|BenchmarkColdStart)$", "1x"),
			[]string{"BENCH_PEOPLE=" + strconv.Itoa(people)}},
	}
}

// results maps a benchmark (without the GOMAXPROCS suffix) and a unit to
// the values of every run.
type results map[string]map[string][]float64

var procSuffix = regexp.MustCompile(`-\d+$`)

func (r results) parse(rd io.Reader) {
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		if r[name] == nil {
			r[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			r[name][f[i+1]] = append(r[name][f[i+1]], v)
		}
	}
}

// median returns the median of a benchmark's values in a unit, and whether
// there were any.
func (r results) median(name, unit string) (float64, bool) {
	vs := slices.Clone(r[name][unit])
	if len(vs) == 0 {
		return math.NaN(), false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}

type machine struct {
	CPU        string        `json:"cpu"`
	GoVersion  string        `json:"go"`
	Kernel     string        `json:"kernel"`
	Cores      int           `json:"cores"`
	RAMGiB     float64       `json:"ram_gib"`
	LoadBefore string        `json:"load_before"`
	LoadAfter  string        `json:"load_after"`
	Date       time.Time     `json:"date"`
	Took       time.Duration `json:"took"`
	// The run's settings, so that -from can render the report again.
	Scale  float64 `json:"scale"`
	Count  int     `json:"count"`
	Sizes  []int   `json:"sizes"`
	People int     `json:"people"`
}

func (m *machine) describe() {
	m.Date = time.Now().UTC()
	m.Cores = runtime.NumCPU()
	m.GoVersion = runtime.Version()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.Join(strings.Fields(v), " ")
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.RAMGiB = kb / (1 << 20)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadBefore = loadAverage()
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func envFloat(k string, def float64) float64 {
	if s := os.Getenv(k); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			log.Fatalf("%s: %q is not a number", k, s)
		}
		return v
	}
	return def
}

func envInt(k string, def int) int {
	if s := os.Getenv(k); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			log.Fatalf("%s: %q is not a whole number", k, s)
		}
		return v
	}
	return def
}
