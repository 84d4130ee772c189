package main

import (
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
	var recs []*credo.Record
	var lines []int
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		res, err := records.FileEach(cmd.Context(), recs)
		if err != nil {
			return commitFailed(file, lines[0], lines[len(lines)-1], s, err)
		}
		s.created += res.Filed
		s.present += res.Present
		for i, err := range res.Refused {
			if err == nil {
				continue
			}
			s.rejected++
			if err := report(refusedLine(file, lines[i], err)); err != nil {
				return err
			}
		}
		s.committedTo = lines[len(lines)-1]
		if blog != nil {
			fmt.Fprintf(blog, "committed %s lines %d-%d\n", file, lines[0], lines[len(lines)-1])
		}
		recs, lines = recs[:0], lines[:0]
		return nil
	}
	for {
		l, ok := rd.Next()
		if !ok {
			break
		}
		s.lines++
		if le := l.Err; le != nil {
			s.rejected++
			if err := report(le); err != nil {
				return s, err
			}
			continue
		}
		recs = append(recs, l.Record)
		lines = append(lines, l.N)
		if len(recs) >= batchSize {
			if err := flush(); err != nil {
				return s, err
			}
		}
	}
	if err := flush(); err != nil {
		return s, err
	}
	if err := rd.Err(); err != nil {
		var le *ingest.LineError
		if asLineErr(err, &le) {
			s.rejected++
			return s, report(le)
		}
		return s, credo.Errorf(credo.EINVALID, "%s: %v", file, err)
	}
	return s, nil
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
