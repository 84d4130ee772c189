package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"credo"
	"credo/engine"
	"credo/ingest"
	"credo/registry"
)

// RecordRequest is the body of POST /v1/records: the fields of a record an
// authority supplies (Credo assigns the id and the filing time). Times are
// RFC 3339, or YYYY-MM-DD for midnight in the policy's time zone.
type RecordRequest struct {
	Subject        string  `json:"subject"`
	Rule           string  `json:"rule"`
	Authority      string  `json:"authority,omitempty"`
	CaseRef        string  `json:"case_ref"`
	DecidedAt      string  `json:"decided_at"`
	EvidenceSHA256 string  `json:"evidence_sha256"`
	EvidenceURI    string  `json:"evidence_uri,omitempty"`
	Quantity       float64 `json:"quantity,omitempty"`
	NotifiedAt     string  `json:"notified_at,omitempty"`
	SubjectName    string  `json:"subject_name,omitempty"`
	// Kind says which kind of subject Subject names, "person" or "org":
	// required only for 18 digits that read both ways (unless the rule
	// applies to one kind only).
	Kind string `json:"kind,omitempty"`
}

// RecordRequestOf returns the request that files a record.
func RecordRequestOf(rec *credo.Record) RecordRequest {
	q := RecordRequest{Subject: rec.Subject, Rule: rec.Rule, Authority: rec.Authority, CaseRef: rec.CaseRef,
		DecidedAt: rec.DecidedAt.Format(time.RFC3339Nano), EvidenceSHA256: rec.EvidenceSHA256,
		EvidenceURI: rec.EvidenceURI, Quantity: rec.Quantity, SubjectName: rec.SubjectName, Kind: rec.Kind}
	if !rec.NotifiedAt.IsZero() {
		q.NotifiedAt = rec.NotifiedAt.Format(time.RFC3339Nano)
	}
	return q
}

// record converts the request into a record, parsing its times.
func (q *RecordRequest) record(loc *time.Location) (*credo.Record, error) {
	rec := &credo.Record{Subject: strings.TrimSpace(q.Subject), Rule: q.Rule, Authority: q.Authority, CaseRef: q.CaseRef,
		EvidenceSHA256: q.EvidenceSHA256, EvidenceURI: q.EvidenceURI, Quantity: q.Quantity, SubjectName: q.SubjectName, Kind: q.Kind}
	var err error
	if q.DecidedAt != "" { // absent: the registry reports it, in field order
		if rec.DecidedAt, err = parseTime("decided_at", q.DecidedAt, loc); err != nil {
			return nil, err
		}
	}
	if q.NotifiedAt != "" {
		if rec.NotifiedAt, err = parseTime("notified_at", q.NotifiedAt, loc); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// parseTime parses an RFC 3339 instant or a YYYY-MM-DD date (midnight in loc).
func parseTime(field, s string, loc *time.Location) (time.Time, error) {
	t, err := ingest.ParseTime(s, loc)
	if err != nil {
		return time.Time{}, invalid(field, "%v", err)
	}
	return t, nil
}

// asAuthority applies an authority token's binding: it files only as its
// own authority.
func asAuthority(p *principal, rec *credo.Record, field string) error {
	if !p.is(rAuthority) {
		return nil
	}
	switch rec.Authority {
	case "":
		rec.Authority = p.token.Authority
	case p.token.Authority:
	default:
		return &credo.Error{Code: credo.EFORBIDDEN, Field: field,
			Message: fmt.Sprintf("this token files for authority %s only, not for %s", p.token.Authority, rec.Authority)}
	}
	return nil
}

// handleFileRecord files one record: 201 when created, 200 with the
// original on an identical re-filing, 409 on a conflicting one. Concurrent
// requests share commits: the store groups concurrent FileRecords calls
// into one transaction and one fsync (sqlite's group commit), each with
// its own outcome.
func (s *Server) handleFileRecord(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q RecordRequest
	if err := decodeJSON(w, r, &q, maxJSONBody); err != nil {
		return err
	}
	pol, _, err := s.reg.Policy(r.Context())
	if err != nil {
		return err
	}
	rec, err := q.record(pol.Location())
	if err != nil {
		return err
	}
	if err := asAuthority(p, rec, "authority"); err != nil {
		return err
	}
	res, err := s.reg.FileRecord(r.Context(), rec)
	if err != nil {
		return err
	}
	s.metrics.fileResult(res.Created)
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, res.Record)
}

// BatchResult is the outcome of POST /v1/records/batch: how many records
// were filed, how many were already present, and every rejected line.
type BatchResult struct {
	Lines    int            `json:"lines"`
	Filed    int            `json:"filed"`
	Present  int            `json:"present"`
	Rejected []RejectedLine `json:"rejected"`
	// RejectedTotal counts every rejected line; Rejected lists at most
	// maxRejectedListed of them.
	RejectedTotal int `json:"rejected_total"`
}

// RejectedLine is one line of a batch that was not filed, and why.
type RejectedLine struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

const (
	maxRejectedListed = 10000
	batchChunk        = 2000
)

func (b *BatchResult) reject(line int, field, reason string) {
	b.RejectedTotal++
	if len(b.Rejected) < maxRejectedListed {
		b.Rejected = append(b.Rejected, RejectedLine{Line: line, Field: field, Reason: reason})
	}
}

func (b *BatchResult) rejectErr(line int, err error) {
	var ce *credo.Error
	if errors.As(err, &ce) && ce.Code != credo.EINTERNAL {
		b.reject(line, ce.Field, ce.Message)
		return
	}
	b.reject(line, "", "internal error")
}

// handleFileBatch files a batch of records: NDJSON, or CSV with a header
// row when the Content-Type is text/csv. Bad lines are reported
// with their line number, field and reason; the good lines are filed.
func (s *Server) handleFileBatch(w http.ResponseWriter, r *http.Request, p *principal) error {
	if r.ContentLength > maxNDJSONBody {
		return &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the batch is larger than %d bytes: split it", maxNDJSONBody)}
	}
	ctx := r.Context()
	pol, _, err := s.reg.Policy(ctx)
	if err != nil {
		return err
	}
	format := ingest.NDJSON
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/csv") {
		format = ingest.CSV
	}
	body := http.MaxBytesReader(w, r.Body, maxNDJSONBody)
	rd := ingest.NewReader("body", body, format, pol.Location())
	res := BatchResult{Rejected: []RejectedLine{}}
	var ok []batchLine
	remote := map[*registry.Shard][]batchLine{} // lines for other shards' subjects, to forward
	for {
		l, more := rd.Next()
		if !more {
			break
		}
		res.Lines = l.N
		if l.Err != nil {
			res.reject(l.N, l.Err.Field, l.Err.Reason)
			continue
		}
		if err := asAuthority(p, l.Record, "authority"); err != nil {
			res.rejectErr(l.N, err)
			continue
		}
		if to := s.shard.forwardTo(s, r, l.Record.Subject, l.Record.Kind); to != nil {
			remote[to] = append(remote[to], batchLine{l.N, l.Record})
			continue
		}
		if err := s.reg.Validate(ctx, l.Record); err != nil {
			if credo.ErrorCode(err) == credo.EINTERNAL || credo.ErrorCode(err) == credo.EUNAVAILABLE {
				return err
			}
			res.rejectErr(l.N, err)
			continue
		}
		ok = append(ok, batchLine{l.N, l.Record})
	}
	if err := rd.Err(); err != nil {
		var mbe *http.MaxBytesError
		var le *ingest.LineError
		switch {
		case errors.As(err, &mbe):
			return &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the batch is larger than %d bytes: split it (nothing was filed)", mbe.Limit)}
		case errors.As(err, &le):
			return invalid(le.Field, "line %d: %s (nothing was filed)", le.Line, le.Reason)
		}
		return invalid("", "reading the batch: %v (nothing was filed)", err)
	}
	if len(remote) > 0 {
		s.shard.fileRemote(ctx, r, remote, &res)
	}
	for len(ok) > 0 {
		chunk := ok[:min(batchChunk, len(ok))]
		ok = ok[len(chunk):]
		recs := make([]*credo.Record, len(chunk))
		for i, pd := range chunk {
			recs[i] = pd.rec
		}
		results, refused, err := s.reg.FileEach(ctx, recs)
		if err != nil {
			return fileBatchFailed(err, res)
		}
		for i, fr := range results {
			if refused[i] != nil {
				res.rejectErr(chunk[i].line, refused[i])
				continue
			}
			s.count(&res, fr)
		}
	}
	slices.SortStableFunc(res.Rejected, func(a, b RejectedLine) int { return a.Line - b.Line })
	return writeJSON(w, http.StatusOK, res)
}

// batchLine is a record of a batch and its line number.
type batchLine struct {
	line int
	rec  *credo.Record
}

func (s *Server) count(res *BatchResult, fr credo.FileResult) {
	s.metrics.fileResult(fr.Created)
	if fr.Created {
		res.Filed++
	} else {
		res.Present++
	}
}

// fileBatchFailed reports a store failure part-way through a batch: what
// was filed stays filed (re-sending the batch is safe: filing is
// idempotent).
func fileBatchFailed(err error, res BatchResult) error {
	var ce *credo.Error
	if errors.As(err, &ce) && ce.Code == credo.EUNAVAILABLE {
		return &credo.Error{Code: ce.Code, Message: fmt.Sprintf("%s (%d records were filed before the failure; re-sending the batch is safe)", ce.Message, res.Filed), Err: err}
	}
	return err
}

// ChangeRequest is the body of POST /v1/records/{id}/revoke, /fulfil and
// /repair.
type ChangeRequest struct {
	// At is when the change takes effect (default now).
	At     string `json:"at,omitempty"`
	Reason string `json:"reason"`
	// Void marks a revocation as a correction: the record is treated as
	// never having had effect. Revocations only.
	Void bool `json:"void,omitempty"`
}

// handleChange revokes a record, records its fulfilment or approves its
// repair: for the authority that filed it, or an admin.
func (s *Server) handleChange(w http.ResponseWriter, r *http.Request, p *principal) error {
	var typ credo.EventType
	switch {
	case strings.HasSuffix(r.Pattern, "/revoke"):
		typ = credo.EventRecordRevoked
	case strings.HasSuffix(r.Pattern, "/fulfil"):
		typ = credo.EventRecordFulfilled
	default:
		typ = credo.EventRepairApproved
	}
	id, err := parseID(r, "id")
	if err != nil {
		return err
	}
	var q ChangeRequest
	if err := decodeJSON(w, r, &q, maxJSONBody); err != nil {
		return err
	}
	ctx := r.Context()
	pol, _, err := s.reg.Policy(ctx)
	if err != nil {
		return err
	}
	var at time.Time
	if q.At != "" {
		if at, err = parseTime("at", q.At, pol.Location()); err != nil {
			return err
		}
	}
	actor := registry.ActorAdmin
	if p.is(rAuthority) {
		actor = p.token.Authority
	}
	// The registry checks the change (the CLI's path too), and a change
	// that changes nothing appends nothing: the earlier change is the
	// answer, 200.
	ev, err := s.reg.ChangeRecordAs(ctx, typ, id, at, actor, q.Reason, q.Void)
	if ce := (*credo.Error)(nil); errors.As(err, &ce) && ce.Code == credo.ENOTFOUND && ce.Field == "record_id" {
		return &credo.Error{Code: ce.Code, Message: ce.Message} // the id is in the path, not a field
	}
	if err != nil {
		if typ == credo.EventRepairApproved && credo.ErrorCode(err) == credo.ECONFLICT {
			if rec, rerr := s.reg.Store().Record(ctx, id); rerr == nil {
				return s.repairRefusal(ctx, rec, err)
			}
		}
		return err
	}
	return writeJSON(w, http.StatusOK, ev)
}

// repairRefusal adds the first day a repair is possible to the registry's
// refusal.
func (s *Server) repairRefusal(ctx context.Context, rec *credo.Record, err error) error {
	var ce *credo.Error
	if !errors.As(err, &ce) {
		return err
	}
	pol, _, perr := s.reg.Policy(ctx)
	if perr != nil {
		return err
	}
	rule := pol.Rule(rec.Rule)
	if rule == nil || !rule.Repair.IsAllowed() {
		return err
	}
	from, _ := engine.RepairFrom(pol, rule, rec)
	return repairError{err: ce, from: from.In(pol.Location()).Format("2006-01-02")}
}

// FileRecord files one record. Created is false when an identical record
// was already filed (the original is returned).
func (c *Client) FileRecord(ctx context.Context, rec *credo.Record) (credo.FileResult, error) {
	var out credo.Record
	status, err := c.doStatus(ctx, http.MethodPost, "/v1/records", nil, RecordRequestOf(rec), &out)
	if err != nil {
		return credo.FileResult{}, err
	}
	return credo.FileResult{Record: &out, Created: status == http.StatusCreated}, nil
}

// FileBatch files a batch of records in NDJSON or CSV (with a header row).
func (c *Client) FileBatch(ctx context.Context, r io.Reader, format ingest.Format) (*BatchResult, error) {
	ct := "application/x-ndjson"
	if format == ingest.CSV {
		ct = "text/csv"
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/records/batch", nil, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ct)
	var res BatchResult
	if _, err := c.send(req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ChangeRecord revokes a record ("revoke") or records its fulfilment
// ("fulfil") through the API.
func (c *Client) ChangeRecord(ctx context.Context, id int64, action string, q ChangeRequest) (*credo.Event, error) {
	var out credo.Event
	if err := c.do(ctx, http.MethodPost, "/v1/records/"+strconv.FormatInt(id, 10)+"/"+action, nil, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FileEach files a batch of records through POST /v1/records/batch
// (credo.RecordService): the server validates and files each, and reports
// the refused ones by line, which FileEach turns back into the index of
// the record refused. Batches larger than the server lists refusals of
// are sent in several requests.
func (c *Client) FileEach(ctx context.Context, recs []*credo.Record) (*credo.BatchFiled, error) {
	out := &credo.BatchFiled{Refused: make([]error, len(recs))}
	for from := 0; from < len(recs); from += maxRejectedListed {
		chunk := recs[from:min(from+maxRejectedListed, len(recs))]
		var body bytes.Buffer
		enc := json.NewEncoder(&body)
		for _, rec := range chunk {
			q := RecordRequestOf(rec)
			if rec.DecidedAt.IsZero() {
				q.DecidedAt = "" // absent: the server says it is required
			}
			if err := enc.Encode(q); err != nil {
				return out, credo.Errorf(credo.EINTERNAL, "encoding the batch: %v", err)
			}
		}
		res, err := c.FileBatch(ctx, &body, ingest.NDJSON)
		if err != nil {
			return out, err
		}
		out.Filed += res.Filed
		out.Present += res.Present
		if res.RejectedTotal > len(res.Rejected) {
			return out, credo.Errorf(credo.EINTERNAL, "the server listed %d of %d refused records", len(res.Rejected), res.RejectedTotal)
		}
		for _, rj := range res.Rejected {
			if rj.Line < 1 || rj.Line > len(chunk) {
				return out, credo.Errorf(credo.EINTERNAL, "the server refused line %d of a batch of %d", rj.Line, len(chunk))
			}
			code := credo.EINVALID
			switch {
			case rj.Reason == "internal error":
				code = credo.EINTERNAL
			case rj.Field == "": // a conflict with a record filed before names no field
				code = credo.ECONFLICT
			}
			out.Refused[from+rj.Line-1] = &credo.Error{Code: code, Field: rj.Field, Message: rj.Reason}
		}
	}
	return out, nil
}

// Change revokes a record or records its fulfilment through the API
// (credo.RecordService), as the token's authority (or as an admin).
func (c *Client) Change(ctx context.Context, typ credo.EventType, ch credo.RecordChange) (*credo.Event, error) {
	if err := noActor(ctx); err != nil {
		return nil, err
	}
	action := map[credo.EventType]string{credo.EventRecordRevoked: "revoke", credo.EventRecordFulfilled: "fulfil"}[typ]
	if action == "" {
		return nil, credo.Errorf(credo.EINVALID, "%s is not a change of a record the API makes through this call", typ)
	}
	q := ChangeRequest{Reason: ch.Reason, Void: ch.VoidAbInitio}
	if !ch.At.IsZero() {
		q.At = ch.At.Format(time.RFC3339Nano)
	}
	return c.ChangeRecord(ctx, ch.RecordID, action, q)
}
