package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"credo"
	"credo/ingest"
)

type ingestStats struct {
	lines, created, present, rejected int
	committedTo                       int // the last line of the last batch committed
}

func newIngestCmd() *cobra.Command {
	var db storeFlag
	var errFile, batchLog string
	var batch int
	var quiet, bulk bool
	var remote remoteFlags
	cmd := &cobra.Command{
		Use:   "ingest --db DB FILE...",
		Short: "Bulk-file records from CSV (header row) or NDJSON files",
		Long: `Bulk-file records from CSV files with a header row or NDJSON files, one record
a line, with the fields subject, rule, authority, case_ref, decided_at,
evidence_sha256 and optionally evidence_uri, quantity, notified_at,
subject_name. Times are RFC 3339 or YYYY-MM-DD in the policy's time zone.

Batches commit atomically; every rejected line is reported with file, line,
field and reason (and written to --errors as NDJSON); accepted lines are kept;
running the same file twice changes nothing. Exit status 1 if any line was
rejected.`,
		Example: "  credo ingest --db city.db --errors rejects.ndjson court-2026-11.csv",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, err := openServices(ctx, &remote, db)
			if err != nil {
				return err
			}
			defer svc.close()
			if bulk {
				if svc.store == nil {
					return credo.FieldErrorf("--bulk", "loads a registry of its own (--db), not through a server")
				}
				end, err := startBulk(ctx, svc.store)
				if err != nil {
					return err
				}
				defer func() {
					if e := end(); e != nil {
						fmt.Fprintln(cmd.ErrOrStderr(), "ending the bulk load:", credo.ErrorMessage(e))
					}
				}()
			}
			pol, err := svc.policies.Policy(ctx)
			if err != nil {
				return err
			}
			errw, closeErrs, err := openErrorsFile(errFile)
			if err != nil {
				return err
			}
			defer closeErrs()
			var blog io.Writer
			if batchLog != "" {
				f, err := os.OpenFile(batchLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					return credo.FieldErrorf("--batch-log", "%v", err)
				}
				defer f.Close()
				blog = f
			}
			stderr := cmd.ErrOrStderr()
			tty := !quiet && isTerminal(stderr)
			report := func(le *ingest.LineError) error {
				fmt.Fprintln(stderr, le.Error())
				if errw != nil {
					return errw.Encode(le)
				}
				return nil
			}
			var total ingestStats
			start := time.Now()
			for i, file := range args {
				s, err := ingestFile(cmd, svc.records, file, pol.Location(), batch, tty, report, blog)
				total.lines += s.lines
				total.created += s.created
				total.present += s.present
				total.rejected += s.rejected
				if err != nil {
					if i > 0 {
						fmt.Fprintf(stderr, "committed in full before %s: %v\n", file, args[:i])
					}
					return err
				}
			}
			el := time.Since(start)
			rate := float64(total.created+total.present) / el.Seconds()
			fmt.Fprintf(cmd.OutOrStdout(), "%d lines: %d filed, %d already present, %d rejected in %s (%.0f records/s)\n",
				total.lines, total.created, total.present, total.rejected, el.Round(time.Millisecond), rate)
			if total.rejected > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&errFile, "errors", "", "write every rejected line to this file as NDJSON")
	cmd.Flags().IntVar(&batch, "batch", 10000, "records per atomic batch")
	cmd.Flags().BoolVar(&bulk, "bulk", false, "load a registry without records in bulk: the same registry, byte for byte, as batch after batch, built faster (idempotency checked in memory, the subject indexes built once at the end)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	cmd.Flags().StringVar(&batchLog, "batch-log", "", "append a line to this file after each committed batch (for scripts)")
	remote.register(cmd)
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// countingReader counts bytes read, for the progress bar.
type countingReader struct {
	r   io.Reader
	bar *progressbar.ProgressBar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.bar != nil {
		c.bar.Add(n)
	}
	return n, err
}

func ingestFile(cmd *cobra.Command, records credo.RecordService, file string, loc *time.Location, batchSize int,
	tty bool, report func(*ingest.LineError) error, blog io.Writer) (ingestStats, error) {
	var s ingestStats
	format, err := ingest.FormatOf(file)
	if err != nil {
		return s, credo.Errorf(credo.EINVALID, "%v", err)
	}
	f, err := os.Open(file)
	if err != nil {
		return s, credo.Errorf(credo.EINVALID, "%v", err)
	}
	defer f.Close()
	var in io.Reader = f
	if tty {
		fi, _ := f.Stat()
		bar := progressbar.NewOptions64(fi.Size(), progressbar.OptionSetWriter(cmd.ErrOrStderr()),
			progressbar.OptionSetDescription(file), progressbar.OptionShowBytes(true),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(), progressbar.OptionFullWidth())
		in = &countingReader{r: f, bar: bar}
		defer bar.Finish()
	}
	rd := ingest.NewReader(file, in, format, loc)
	// A reader goroutine parses the next batch while this one files the
	// current one; the batches, and the lines rejected while each was
	// read, are handled here in file order, as if read and filed in turn.
	produce := func(send func(*ingestChunk) bool) error {
		c := &ingestChunk{}
		for {
			l, ok := rd.Next()
			if !ok {
				break
			}
			c.lines++
			if l.Err != nil {
				c.errs = append(c.errs, l.Err)
				continue
			}
			c.recs = append(c.recs, l.Record)
			c.at = append(c.at, l.N)
			if len(c.recs) >= batchSize {
				if !send(c) {
					return errStopped
				}
				c = &ingestChunk{}
			}
		}
		c.tail, c.last = rd.Err(), true
		if !send(c) {
			return errStopped
		}
		return nil
	}
	var cerr error // consume's error
	consume := func(c *ingestChunk) error {
		cerr = ingestChunkFile(cmd.Context(), records, file, c, &s, report, blog)
		return cerr
	}
	if err = pipeline(cmd.Context(), 2, produce, consume); err != nil && cerr == nil {
		return s, interrupted(file, s, err) // the context ended between batches
	}
	return s, err
}

// interrupted says what an interruption between two batches of file
// means: which lines are committed and how to resume.
func interrupted(file string, s ingestStats, err error) error {
	done := "nothing of " + file + " is committed"
	if s.committedTo > 0 {
		done = fmt.Sprintf("%s lines 1-%d are committed (%d filed, %d already present, %d rejected)", file, s.committedTo, s.created, s.present, s.rejected)
	}
	return &credo.Error{Code: credo.EUNAVAILABLE, Err: err,
		Message: fmt.Sprintf("%s: interrupted: %s; lines from %d on are not: run the same command again to file them (lines already filed are skipped)",
			file, done, s.committedTo+1)}
}

// ingestChunk is a batch of records read from a file, with the lines
// rejected while it was read; the last one carries the reader's error.
type ingestChunk struct {
	lines int
	recs  []*credo.Record
	at    []int // the line of each record
	errs  []*ingest.LineError
	last  bool
	tail  error // the reader's error at the end of the file
}

// ingestChunkFile reports the lines of a chunk that were rejected when
// read, then files its records and reports the ones refused, adding to s.
func ingestChunkFile(ctx context.Context, records credo.RecordService, file string, c *ingestChunk, s *ingestStats,
	report func(*ingest.LineError) error, blog io.Writer) error {
	s.lines += c.lines
	for _, le := range c.errs {
		s.rejected++
		if err := report(le); err != nil {
			return err
		}
	}
	if len(c.recs) > 0 {
		res, err := records.FileEach(ctx, c.recs)
		if err != nil {
			return commitFailed(file, c.at[0], c.at[len(c.at)-1], *s, err)
		}
		s.created += res.Filed
		s.present += res.Present
		for i, err := range res.Refused {
			if err == nil {
				continue
			}
			s.rejected++
			if err := report(refusedLine(file, c.at[i], err)); err != nil {
				return err
			}
		}
		s.committedTo = c.at[len(c.at)-1]
		if blog != nil {
			fmt.Fprintf(blog, "committed %s lines %d-%d\n", file, c.at[0], c.at[len(c.at)-1])
		}
	}
	if !c.last || c.tail == nil {
		return nil
	}
	var le *ingest.LineError
	if asLineErr(c.tail, &le) {
		s.rejected++
		return report(le)
	}
	return credo.Errorf(credo.EINVALID, "%s: %v", file, c.tail)
}

// commitFailed says what a failed batch of lines from to to of file
// means: which lines are committed (every batch before it: batches commit
// in order, atomically), which are not, and how to resume.
func commitFailed(file string, from, to int, s ingestStats, err error) error {
	why := credo.ErrorMessage(err)
	if credo.ErrorCode(err) == credo.EINTERNAL {
		why = err.Error()
	}
	done := "nothing of " + file + " is committed"
	if s.committedTo > 0 {
		done = fmt.Sprintf("%s lines 1-%d are committed (%d filed, %d already present, %d rejected)", file, s.committedTo, s.created, s.present, s.rejected)
	}
	return &credo.Error{Code: credo.ErrorCode(err), Err: err,
		Message: fmt.Sprintf("%s: the batch of lines %d-%d was not filed: %s; %s; lines from %d on are not: run the same command again to file them (lines already filed are skipped)",
			file, from, to, why, done, from)}
}

// refusedLine is the line error of a record the registry refused: the
// field its error names, case_ref for a conflict with a record filed
// under the same case reference.
func refusedLine(file string, line int, err error) *ingest.LineError {
	le := &ingest.LineError{File: file, Line: line, Reason: credo.ErrorMessage(err)}
	var e *credo.Error
	if asCredo(err, &e) {
		le.Field, le.Reason = e.Field, e.Message
	}
	if le.Field == "" && credo.ErrorCode(err) == credo.ECONFLICT {
		le.Field = "case_ref"
	}
	return le
}

// openErrorsFile creates the --errors file (if one is named) and returns an
// encoder for rejected lines (nil without a file) and its closer.
func openErrorsFile(name string) (*json.Encoder, func(), error) {
	if name == "" {
		return nil, func() {}, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, nil, credo.FieldErrorf("--errors", "%v", err)
	}
	return json.NewEncoder(f), func() { f.Close() }, nil
}
