package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"credo"
	"credo/ingest"
	"credo/policy"
	"credo/registry"
	"credo/synth"
)

// genChunk is the number of subjects a worker generates at a time.
const genChunk = 1024

type generateSummary struct {
	People           int     `json:"people"`
	Orgs             int     `json:"orgs"`
	Records          int64   `json:"records"`
	Links            int     `json:"links"`
	Seconds          float64 `json:"seconds"`
	RecordsPerSecond float64 `json:"records_per_second"`
	Out              string  `json:"out,omitempty"`
	DB               string  `json:"db,omitempty"`
	Refused          int64   `json:"refused,omitempty"`
	LinksOut         string  `json:"links_out,omitempty"`
	Seed             int64   `json:"seed"`
	From             string  `json:"from"`
	End              string  `json:"end"`
}

func newGenerateCmd() *cobra.Command {
	var people, orgs, years, workers int
	var seed int64
	var polFile, out, linksOut, endFlag, db string
	var quiet, asJSON, bulk bool
	cmd := &cobra.Command{
		Use:   "generate --policy FILE (--out FILE [--links FILE] | --db DB [--bulk])",
		Short: "Generate a synthetic city: valid subjects and records at realistic frequencies",
		Long: `Generate a synthetic city for tests and load tests: people with valid Resident
Identity Card numbers spread over Beijing's districts and ages, organisations
with valid Unified Social Credit Codes, and the records authorities file about
them under the policy's rules, decided in the --years before --end.

The output is in the exact format of 'credo ingest': NDJSON, or CSV with a
header row if --out ends in .csv ('-' writes NDJSON to standard output).
--links writes each organisation's legal representative (org, person, role,
from) as NDJSON or CSV. The same flags give the same files, byte for byte,
whatever the number of workers. --db files the city straight into a new
registry instead (the policy is published first, effective from the start
of the window; then the links, then the records in batches of 10,000).

About a third of adults and a few per cent of organisations get records
(minors never do); 22 million people and 2 million organisations over 5
years give about 100 million records.`,
		Example: `  credo generate --policy policies/beijing.yaml --people 100000 --orgs 10000 --out city.ndjson --links links.ndjson
  credo generate --policy policies/beijing.yaml --people 22000000 --orgs 2000000 --end 2026-01-01 --out city.csv
  credo generate --policy policies/beijing.yaml --people 200000 --orgs 20000 --db city.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			recFormat, linkFormat, err := generateFormats(polFile, out, db, linksOut, workers)
			if err != nil {
				return err
			}
			pol, err := policy.Load(polFile)
			if err != nil {
				return credo.FieldErrorf("--policy", "%v", err)
			}
			loc := pol.Location()
			end, err := parseInstant("end", endFlag, loc)
			if err != nil {
				return err
			}
			if end.IsZero() {
				y, m, d := time.Now().In(loc).Date()
				end = time.Date(y, m, d, 0, 0, 0, 0, loc)
			}
			city, err := synth.New(synth.Config{People: people, Orgs: orgs, Years: years, Seed: seed, End: end, Policy: pol})
			if err != nil {
				return err
			}
			if years == 0 {
				years = 5
			}

			start := time.Now()
			sum := generateSummary{People: people, Orgs: orgs, Out: out, LinksOut: linksOut, Seed: seed,
				From: end.AddDate(-years, 0, 0).Format(time.RFC3339), End: end.Format(time.RFC3339)}
			stderr := cmd.ErrOrStderr()
			bar := generateBar(stderr, city.Subjects(), quiet)
			if db != "" {
				sum.DB = db
				sum.Records, sum.Refused, sum.Links, err = generateIntoStore(cmd, city, polFile, db, end.AddDate(-years, 0, -1), bar, bulk)
			} else {
				err = writeOutput(out, cmd.OutOrStdout(), func(w io.Writer) error {
					n, err := generateRecords(cmd, city, w, recFormat, workers, bar)
					sum.Records = n
					return err
				})
			}
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			if linksOut != "" {
				err = writeOutput(linksOut, cmd.OutOrStdout(), func(w io.Writer) error {
					n, err := writeLinks(city, w, linkFormat)
					sum.Links = n
					return err
				})
				if err != nil {
					return err
				}
			}
			el := time.Since(start)
			sum.Seconds = el.Seconds()
			sum.RecordsPerSecond = float64(sum.Records) / el.Seconds()
			report := cmd.OutOrStdout()
			if out == "-" || linksOut == "-" {
				report = stderr
			}
			return printGenerateSummary(report, sum, end, years, el, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&people, "people", 10000, "number of people")
	f.IntVar(&orgs, "orgs", 1000, "number of organisations")
	f.IntVar(&years, "years", 5, "records are decided in the years before --end")
	f.Int64Var(&seed, "seed", 1, "random seed: the same flags and seed give the same output")
	f.StringVar(&polFile, "policy", "", "policy file whose rules, authorities and calendar the records follow (required)")
	f.StringVar(&out, "out", "", "records file: .ndjson (.jsonl, .json) or .csv; - for NDJSON on standard output (required)")
	f.StringVar(&db, "db", "", "file the records into this registry (a new file, or one holding only policies) instead of writing them")
	f.StringVar(&linksOut, "links", "", "also write organisations' legal representatives to this file (.ndjson or .csv)")
	f.StringVar(&endFlag, "end", "", "end of the window, RFC 3339 or YYYY-MM-DD (default: today 00:00 in the policy's time zone)")
	f.IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "generate with this many goroutines (the output does not depend on it)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	f.BoolVar(&bulk, "bulk", false, "with --db: load in bulk (the same registry, byte for byte, built faster; see ingest --bulk)")
	return cmd
}

// generateFormats checks the flags of credo generate that go together and
// returns the formats of the records and links files.
func generateFormats(polFile, out, db, linksOut string, workers int) (recFormat, linkFormat ingest.Format, err error) {
	if polFile == "" {
		return 0, 0, credo.FieldErrorf("--policy", "is required: the policy whose rules the records follow")
	}
	switch {
	case out == "" && db == "":
		return 0, 0, credo.FieldErrorf("--out", "is required: the file to write the records to (.ndjson or .csv, or - for standard output), or --db to file them into a registry")
	case out != "" && db != "":
		return 0, 0, credo.FieldErrorf("--db", "writes the records into a registry: give --out or --db, not both")
	case db != "" && linksOut != "":
		return 0, 0, credo.FieldErrorf("--links", "goes with --out: --db files the links into the registry")
	}
	if workers < 1 {
		return 0, 0, credo.FieldErrorf("--workers", "must be at least 1")
	}
	recFormat, linkFormat = ingest.NDJSON, ingest.NDJSON
	if out != "-" && out != "" {
		if recFormat, err = ingest.FormatOf(out); err != nil {
			return 0, 0, credo.FieldErrorf("--out", "%v", err)
		}
	}
	if linksOut != "" {
		if linkFormat, err = ingest.FormatOf(linksOut); err != nil {
			return 0, 0, credo.FieldErrorf("--links", "%v", err)
		}
	}
	return recFormat, linkFormat, nil
}

// generateBar is the progress bar over the subjects, on a terminal only.
func generateBar(stderr io.Writer, subjects int, quiet bool) *progressbar.ProgressBar {
	if quiet || !isTerminal(stderr) {
		return nil
	}
	return progressbar.NewOptions64(int64(subjects), progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("generating"), progressbar.OptionSetItsString("subjects"),
		progressbar.OptionShowIts(), progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(), progressbar.OptionFullWidth())
}

// printGenerateSummary writes what credo generate made, as JSON or a line.
func printGenerateSummary(report io.Writer, sum generateSummary, end time.Time, years int, el time.Duration, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(report).Encode(sum)
	}
	fmt.Fprintf(report, "%d people, %d organisations: %d records", sum.People, sum.Orgs, sum.Records)
	if sum.LinksOut != "" || sum.DB != "" {
		fmt.Fprintf(report, ", %d links", sum.Links)
	}
	if sum.DB != "" {
		fmt.Fprintf(report, " filed into %s (%d refused)", sum.DB, sum.Refused)
	}
	fmt.Fprintf(report, " decided %s to %s, in %s (%.0f records/s)\n",
		end.AddDate(-years, 0, 0).Format(time.DateOnly), end.Format(time.DateOnly), el.Round(time.Millisecond), sum.RecordsPerSecond)
	return nil
}

// writeOutput runs write on a buffered writer to file, or to stdout for
// "-". A file is written under a temporary name and renamed when complete,
// so a failed or interrupted run leaves no partial file behind.
func writeOutput(file string, stdout io.Writer, write func(io.Writer) error) error {
	if file == "-" {
		bw := bufio.NewWriterSize(stdout, 1<<20)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*.tmp")
	if err != nil {
		return credo.Errorf(credo.EINVALID, "%v", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return credo.Errorf(credo.EINTERNAL, "writing %s: %v", file, err)
	}
	if err := tmp.Close(); err != nil {
		return credo.Errorf(credo.EINTERNAL, "writing %s: %v", file, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return credo.Errorf(credo.EINTERNAL, "%v", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return credo.Errorf(credo.EINTERNAL, "%v", err)
	}
	return nil
}

// chunk is a range of subjects encoded by one worker.
type chunk struct {
	from, to int
	buf      []byte
	n        int64
	done     chan struct{}
}

// generateRecords encodes the city's records with parallel workers and
// writes them in subject order, so the output does not depend on workers.
func generateRecords(cmd *cobra.Command, city *synth.City, w io.Writer, format ingest.Format, workers int, bar *progressbar.ProgressBar) (int64, error) {
	ctx := cmd.Context()
	if format == ingest.CSV {
		if _, err := io.WriteString(w, strings.Join(ingest.Fields, ",")+"\n"); err != nil {
			return 0, credo.Errorf(credo.EINTERNAL, "writing records: %v", err)
		}
	}
	total := city.Subjects()
	pool := sync.Pool{New: func() any { return make([]byte, 0, 1<<20) }}
	queue := make(chan *chunk, 2*workers+2) // in subject order, for the writer
	work := make(chan *chunk, 2*workers+2)  // for the workers
	stop := make(chan struct{})
	go func() {
		defer close(queue)
		defer close(work)
		for from := 0; from < total; from += genChunk {
			c := &chunk{from: from, to: min(from+genChunk, total), done: make(chan struct{})}
			select {
			case queue <- c:
			case <-stop:
				return
			}
			select {
			case work <- c:
			case <-stop:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range work {
				b := pool.Get().([]byte)[:0]
				city.RecordsRange(c.from, c.to, func(r *credo.Record) error {
					if format == ingest.CSV {
						b = appendCSVRecord(b, r)
					} else {
						b = appendJSONRecord(b, r)
					}
					c.n++
					return nil
				})
				c.buf = b
				close(c.done)
			}
		})
	}
	defer wg.Wait()
	defer close(stop)
	var n int64
	for c := range queue {
		select {
		case <-c.done:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			return n, credo.Errorf(credo.EUNAVAILABLE, "interrupted after %d records", n)
		}
		if _, err := w.Write(c.buf); err != nil {
			return n, credo.Errorf(credo.EINTERNAL, "writing records: %v", err)
		}
		n += c.n
		//lint:ignore SA6002 one slice header per 1 MiB chunk is noise beside the chunk
		pool.Put(c.buf[:0])
		if bar != nil {
			bar.Add(c.to - c.from)
		}
	}
	return n, nil
}

// appendJSONRecord appends one NDJSON line in the ingest format.
func appendJSONRecord(b []byte, r *credo.Record) []byte {
	b = append(b, `{"subject":`...)
	b = appendJSONString(b, r.Subject)
	b = append(b, `,"rule":`...)
	b = appendJSONString(b, r.Rule)
	b = append(b, `,"authority":`...)
	b = appendJSONString(b, r.Authority)
	b = append(b, `,"case_ref":`...)
	b = appendJSONString(b, r.CaseRef)
	b = append(b, `,"decided_at":"`...)
	b = r.DecidedAt.AppendFormat(b, time.RFC3339)
	b = append(b, `","evidence_sha256":`...)
	b = appendJSONString(b, r.EvidenceSHA256)
	if r.EvidenceURI != "" {
		b = append(b, `,"evidence_uri":`...)
		b = appendJSONString(b, r.EvidenceURI)
	}
	if r.Quantity != 0 {
		b = append(b, `,"quantity":`...)
		b = strconv.AppendFloat(b, r.Quantity, 'f', -1, 64)
	}
	if !r.NotifiedAt.IsZero() {
		b = append(b, `,"notified_at":"`...)
		b = r.NotifiedAt.AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	}
	if r.SubjectName != "" {
		b = append(b, `,"subject_name":`...)
		b = appendJSONString(b, r.SubjectName)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string (s is valid UTF-8).
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendCSVRecord appends one CSV row with the columns of ingest.Fields.
func appendCSVRecord(b []byte, r *credo.Record) []byte {
	b = appendCSVField(b, r.Subject)
	b = append(b, ',')
	b = appendCSVField(b, r.Rule)
	b = append(b, ',')
	b = appendCSVField(b, r.Authority)
	b = append(b, ',')
	b = appendCSVField(b, r.CaseRef)
	b = append(b, ',')
	b = r.DecidedAt.AppendFormat(b, time.RFC3339)
	b = append(b, ',')
	b = appendCSVField(b, r.EvidenceSHA256)
	b = append(b, ',')
	b = appendCSVField(b, r.EvidenceURI)
	b = append(b, ',')
	if r.Quantity != 0 {
		b = strconv.AppendFloat(b, r.Quantity, 'f', -1, 64)
	}
	b = append(b, ',')
	if !r.NotifiedAt.IsZero() {
		b = r.NotifiedAt.AppendFormat(b, time.RFC3339)
	}
	b = append(b, ',')
	b = appendCSVField(b, r.SubjectName)
	return append(b, '\n')
}

// appendCSVField appends s, quoted if it needs to be (RFC 4180).
func appendCSVField(b []byte, s string) []byte {
	quote := s != "" && (s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ')
	for i := 0; i < len(s) && !quote; i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			quote = true
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for len(s) > 0 {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			b = append(b, s...)
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	return append(b, '"')
}

// writeLinks writes the organisations' legal representatives.
func writeLinks(city *synth.City, w io.Writer, format ingest.Format) (int, error) {
	n := 0
	var b []byte
	if format == ingest.CSV {
		b = append(b, "org,person,role,from\n"...)
	}
	err := city.Links(func(l credo.Link) error {
		n++
		if format == ingest.CSV {
			b = append(b, l.Org...)
			b = append(b, ',')
			b = append(b, l.Person...)
			b = append(b, ',')
			b = append(b, l.Role...)
			b = append(b, ',')
			b = l.From.AppendFormat(b, time.RFC3339)
			b = append(b, '\n')
		} else {
			b = append(b, `{"org":`...)
			b = appendJSONString(b, l.Org)
			b = append(b, `,"person":`...)
			b = appendJSONString(b, l.Person)
			b = append(b, `,"role":`...)
			b = appendJSONString(b, l.Role)
			b = append(b, `,"from":"`...)
			b = l.From.AppendFormat(b, time.RFC3339)
			b = append(b, "\"}\n"...)
		}
		if len(b) >= 1<<16 {
			if _, err := w.Write(b); err != nil {
				return credo.Errorf(credo.EINTERNAL, "writing links: %v", err)
			}
			b = b[:0]
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	if _, err := w.Write(b); err != nil {
		return n, credo.Errorf(credo.EINTERNAL, "writing links: %v", err)
	}
	return n, nil
}

// openGenerateRegistry opens the registry generate files into: a new
// file, or one that holds policy publications only; it publishes the
// policy (effective from effective) unless one is published.
func openGenerateRegistry(cmd *cobra.Command, polFile, db string, effective time.Time) (store, *registry.Registry, error) {
	ctx := cmd.Context()
	st, err := openStoreInit(cmd, storeFlag{db: db, dbSet: true}) // a new file is sealed, as init and demo make it
	if err != nil {
		return nil, nil, credo.FieldErrorf("--db", "%v", err)
	}
	reg, err := func() (*registry.Registry, error) {
		evs, err := st.Events(ctx, 0, 1000)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if ev.Type != credo.EventPolicyPublished {
				return nil, credo.FieldErrorf("--db", "%s already holds records or other events: generate into a new file", db)
			}
		}
		reg, err := registry.Open(ctx, st, registry.Options{NoTable: true,
			Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil || len(evs) > 0 {
			return reg, err
		}
		src, err := os.ReadFile(polFile)
		if err != nil {
			return nil, credo.FieldErrorf("--policy", "%v", err)
		}
		_, _, err = reg.Publish(ctx, filepath.Base(polFile), src, effective)
		return reg, err
	}()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, reg, nil
}

// generateIntoStore files a city into a registry: it publishes the policy
// (effective from effective) unless one is published, appends the links,
// then validates and files the records in batches of 10,000, subjects in
// order (fileCity: the next batch is generated and validated while the
// current one is filed). Records the policy in force refuses are counted,
// the first reported. It returns the records filed, refused and links appended.
func generateIntoStore(cmd *cobra.Command, city *synth.City, polFile, db string, effective time.Time, bar *progressbar.ProgressBar, bulk bool) (filed, refused int64, links int, err error) {
	ctx := cmd.Context()
	st, reg, err := openGenerateRegistry(cmd, polFile, db, effective)
	if err != nil {
		return 0, 0, 0, err
	}
	defer st.Close()
	if bulk {
		end, err := startBulk(ctx, st)
		if err != nil {
			return 0, 0, 0, err
		}
		defer func() {
			if e := end(); err == nil {
				err = e
			}
		}()
	}
	var batch []*credo.Event
	appendLinks := func() error {
		if len(batch) > 0 {
			if _, err := reg.Append(ctx, batch...); err != nil {
				return err
			}
			links += len(batch)
			batch = batch[:0]
		}
		return nil
	}
	if err := city.Links(func(l credo.Link) error {
		batch = append(batch, &credo.Event{Type: credo.EventLinkAdded, Subject: l.Org, Actor: "synth", Link: &l})
		if len(batch) == 5000 {
			return appendLinks()
		}
		return nil
	}); err != nil {
		return 0, 0, links, err
	}
	if err := appendLinks(); err != nil {
		return 0, 0, links, err
	}
	var progress func(int)
	if bar != nil {
		progress = func(n int) { bar.Add(n) }
	}
	load, err := fileCity(ctx, reg, city, progress)
	filed, refused = load.filed, load.refused
	if err != nil {
		return filed, refused, links, err
	}
	if bulk {
		if err := noticesIssued(ctx, reg); err != nil {
			return filed, refused, links, err
		}
	}
	if firstRefusal := load.firstRefusal; firstRefusal != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "%d records refused by the policy in force; the first: %v\n", refused, firstRefusal)
	}
	return filed, refused, links, nil
}
