package storecore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"credo"
)

// Projections is a digest of the projection tables answers are made
// from: for each table, the number of rows and an order-independent sum
// of their hashes (SHA-256 of the row's canonical text, added lane by
// lane as four 64-bit integers). A store fills one from its tables (a
// Row method per table, given the stored values) and a ProjectionReplay
// fills one from the log; equal digests mean equal tables, row for row.
//
// The records table is digested in two parts: "records", the columns a
// filing sets and nothing changes, and "records.status", the columns
// later events change (status, revoked_at, fulfilled_at, repaired_at,
// changed_seq), only for records that some event changed; so that a
// replay holds in memory only the changed records.
//
// Times are given as the store's canonical text (see ProjectionReplay.Time),
// "" for NULL; sequence numbers 0 for NULL.
type Projections struct {
	tables map[string]*tableDigest
}

type tableDigest struct {
	rows int64
	sum  [4]uint64
}

// ProjectionTables are the tables (and parts of tables) Projections digests,
// in the order they are reported.
var ProjectionTables = []string{"subject_events", "subjects", "records", "records.status",
	"disputes", "repair_applications", "links", "policies", "notices", "facts"}

func (p *Projections) row(table string, fields ...string) {
	if p.tables == nil {
		p.tables = map[string]*tableDigest{}
	}
	d := p.tables[table]
	if d == nil {
		d = &tableDigest{}
		p.tables[table] = d
	}
	h := sha256.New()
	h.Write([]byte(table))
	for _, f := range fields {
		h.Write([]byte{0x1f})
		h.Write([]byte(f))
	}
	var sum [32]byte
	h.Sum(sum[:0])
	for i := range d.sum {
		d.sum[i] += binary.LittleEndian.Uint64(sum[i*8:])
	}
	d.rows++
}

func i64(n int64) string {
	if n == 0 {
		return "\x00"
	}
	return strconv.FormatInt(n, 10)
}

func text(s string) string {
	if s == "" {
		return "\x00"
	}
	return s
}

// Rows returns the number of rows of a table.
func (p *Projections) Rows(table string) int64 {
	if d := p.tables[table]; d != nil {
		return d.rows
	}
	return 0
}

// SubjectEvent adds a row of subject_events.
func (p *Projections) SubjectEvent(subject string, seq int64) {
	p.row("subject_events", subject, i64(seq))
}

// Subject adds a row of subjects.
func (p *Projections) Subject(id, kind string, first, last int64) {
	p.row("subjects", id, kind, i64(first), i64(last))
}

// Record adds a row of records.
// The part a filing sets is the record's id, authority, subject and case
// key (CaseKey): the rest of a record (rule, case reference, dates) is read
// from its record.filed event, which the hash chain covers, and not kept
// twice.
func (p *Projections) Record(id int64, authority, subject string, caseKey int64, status, revokedAt, fulfilledAt, repairedAt string, changedSeq int64) {
	p.row("records", i64(id), authority, subject, i64(caseKey))
	if status != "active" || revokedAt != "" || fulfilledAt != "" || repairedAt != "" || changedSeq != 0 {
		p.row("records.status", i64(id), status, text(revokedAt), text(fulfilledAt), text(repairedAt), i64(changedSeq))
	}
}

// Dispute adds a row of disputes.
func (p *Projections) Dispute(id, recordID int64, subject, openedAt string, appeal bool, decidedAt, outcome string, decidedSeq int64) {
	p.row("disputes", i64(id), i64(recordID), subject, openedAt, strconv.FormatBool(appeal), text(decidedAt), text(outcome), i64(decidedSeq))
}

// Repair adds a row of repair_applications.
func (p *Projections) Repair(id, recordID int64, subject, appliedAt, decidedAt, outcome string, decidedSeq int64) {
	p.row("repair_applications", i64(id), i64(recordID), subject, appliedAt, text(decidedAt), text(outcome), i64(decidedSeq))
}

// Link adds a row of links.
func (p *Projections) Link(seq int64, org, person, role, from, until string, untilSeq int64) {
	p.row("links", i64(seq), org, person, role, from, text(until), i64(untilSeq))
}

// Policy adds a row of policies (the source as its SHA-256).
func (p *Projections) Policy(hash, name, effective, published string, source []byte, seq int64) {
	p.row("policies", hash, name, effective, published, credo.HashBytes(source), i64(seq))
}

// Notice adds a row of notices.
func (p *Projections) Notice(recordID, seq int64, subject string) {
	p.row("notices", i64(recordID), i64(seq), subject)
}

// Fact adds a row of facts (the body in hex).
func (p *Projections) Fact(subject string, seq int64, body []byte) {
	p.row("facts", subject, i64(seq), hex.EncodeToString(body))
}

// Compare returns the tables of stored that differ from want (the replay).
func Compare(want, stored *Projections) []credo.ProjectionProblem {
	var out []credo.ProjectionProblem
	for _, name := range ProjectionTables {
		w, s := want.tables[name], stored.tables[name]
		if w == nil {
			w = &tableDigest{}
		}
		if s == nil {
			s = &tableDigest{}
		}
		if *w == *s {
			continue
		}
		pr := credo.ProjectionProblem{Table: name, LogRows: w.rows, Stored: s.rows}
		switch {
		case s.rows < w.rows:
			pr.Problem = fmt.Sprintf("%s: %d row(s) missing (the log gives %d, the table has %d)", name, w.rows-s.rows, w.rows, s.rows)
		case s.rows > w.rows:
			pr.Problem = fmt.Sprintf("%s: %d row(s) the log does not give (the log gives %d, the table has %d)", name, s.rows-w.rows, w.rows, s.rows)
		default:
			pr.Problem = fmt.Sprintf("%s: rows differ from the log's (%d rows on both sides)", name, w.rows)
		}
		out = append(out, pr)
	}
	return out
}

// ProjectionReplay computes the projections a log gives, event by event,
// as the stores' writers project them in the events' transactions.
type ProjectionReplay struct {
	// Time is the store's canonical text of a stored instant (its
	// precision and format), applied to the replay's times and the
	// store's alike.
	Time func(time.Time) string

	p        Projections
	subjects map[string]*SubjectRow
	changed  map[int64]*recordState
	disputes map[int64]*disputeRow
	repairs  map[int64]*repairRow
	links    map[int64]*linkRow
	open     map[string]int64 // org, person, role -> seq of the open link
}

type recordState struct {
	revoked, fulfilled, repaired string
	changedSeq                   int64
}

type disputeRow struct {
	recordID           int64
	subject, openedAt  string
	appeal             bool
	decidedAt, outcome string
	decidedSeq         int64
}

type repairRow struct {
	recordID                      int64
	subject, appliedAt, decidedAt string
	outcome                       string
	decidedSeq                    int64
}

type linkRow struct {
	org, person, role, from, until string
	untilSeq                       int64
}

func (r *ProjectionReplay) init() {
	if r.subjects == nil {
		r.subjects = map[string]*SubjectRow{}
		r.changed = map[int64]*recordState{}
		r.disputes = map[int64]*disputeRow{}
		r.repairs = map[int64]*repairRow{}
		r.links = map[int64]*linkRow{}
		r.open = map[string]int64{}
	}
}

func (r *ProjectionReplay) tm(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return r.Time(t)
}

func (r *ProjectionReplay) state(id int64) *recordState {
	s := r.changed[id]
	if s == nil {
		s = &recordState{}
		r.changed[id] = s
	}
	return s
}

func (r *ProjectionReplay) revoke(id int64, at string, seq int64) {
	s := r.state(id)
	if s.revoked == "" || at < s.revoked {
		s.revoked = at
	}
	s.changedSeq = seq
}

// Event replays the next event of the log.
func (r *ProjectionReplay) Event(ev *credo.Event) {
	r.init()
	r.concerned(ev)
	switch ev.Type {
	case credo.EventRecordFiled, credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved:
		r.recordEvent(ev)
	case credo.EventDisputeOpened, credo.EventDisputeDecided, credo.EventRepairApplied, credo.EventRepairRefused:
		r.dueProcessEvent(ev)
	case credo.EventLinkAdded, credo.EventLinkRemoved:
		r.linkEvent(ev)
	case credo.EventPolicyPublished:
		pv := ev.Policy
		r.p.Policy(pv.Hash, pv.Name, r.tm(pv.Effective), r.tm(pv.Published), pv.Source, ev.Seq)
	case credo.EventNoticeIssued:
		r.p.Notice(ev.Notice.RecordID, ev.Seq, ev.Subject)
	}
	for _, f := range FactRows(ev) {
		r.p.Fact(f.Subject, f.Seq, f.Body)
	}
}

// concerned indexes the event under each subject it concerns and keeps
// the subjects' rows (kind, first and last event).
func (r *ProjectionReplay) concerned(ev *credo.Event) {
	for _, c := range Concerned(ev) {
		r.p.SubjectEvent(c.Subject, ev.Seq)
		row := r.subjects[c.Subject]
		if row == nil {
			kind := SubjectKind(c.Subject)
			if kind == "unknown" && c.Kind != "" {
				kind = c.Kind
			}
			r.subjects[c.Subject] = &SubjectRow{ID: c.Subject, Kind: kind, First: ev.Seq, Last: ev.Seq}
			continue
		}
		if ev.Seq > row.Last {
			row.Last = ev.Seq
		}
		if row.Kind == "unknown" && c.Kind != "" {
			row.Kind = c.Kind
		}
	}
}

// recordEvent replays a record's filing and the changes to it.
func (r *ProjectionReplay) recordEvent(ev *credo.Event) {
	switch ev.Type {
	case credo.EventRecordFiled:
		if rec := ev.Record; rec != nil {
			r.p.row("records", i64(ev.Seq), rec.Authority, rec.Subject, i64(CaseKey(rec.Authority, rec.CaseRef)))
		}
	case credo.EventRecordRevoked:
		r.revoke(ev.Change.RecordID, r.tm(ev.Change.At), ev.Seq)
	case credo.EventRecordFulfilled:
		s := r.state(ev.Change.RecordID)
		if s.fulfilled == "" {
			s.fulfilled = r.tm(ev.Change.At)
		}
		s.changedSeq = ev.Seq
	case credo.EventRepairApproved:
		c := ev.Change
		s := r.state(c.RecordID)
		if s.repaired == "" {
			s.repaired = r.tm(c.At)
		}
		s.changedSeq = ev.Seq
		for _, a := range r.repairs {
			if a.recordID == c.RecordID && a.outcome == "" {
				a.decidedAt, a.outcome, a.decidedSeq = r.tm(c.At), credo.RepairApproved, ev.Seq
			}
		}
	}
}

// dueProcessEvent replays disputes and repair applications, opened and
// decided.
func (r *ProjectionReplay) dueProcessEvent(ev *credo.Event) {
	switch ev.Type {
	case credo.EventDisputeOpened:
		d := ev.Dispute
		r.disputes[ev.Seq] = &disputeRow{recordID: d.RecordID, subject: ev.Subject, openedAt: r.tm(d.OpenedAt), appeal: d.Appeal}
	case credo.EventDisputeDecided:
		d := ev.Decision
		if row := r.disputes[d.DisputeID]; row != nil {
			row.decidedAt, row.outcome, row.decidedSeq = r.tm(d.At), d.Outcome, ev.Seq
		}
		if d.Outcome == credo.OutcomeRevoked || d.Outcome == credo.OutcomeCorrected {
			r.revoke(d.RecordID, r.tm(d.At), ev.Seq)
		}
	case credo.EventRepairApplied:
		a := ev.Repair
		r.repairs[ev.Seq] = &repairRow{recordID: a.RecordID, subject: ev.Subject, appliedAt: r.tm(a.AppliedAt)}
	case credo.EventRepairRefused:
		f := ev.Refusal
		if row := r.repairs[f.ApplicationID]; row != nil {
			row.decidedAt, row.outcome, row.decidedSeq = r.tm(f.At), credo.RepairRefused, ev.Seq
		}
	}
}

// linkEvent replays links added and ended.
func (r *ProjectionReplay) linkEvent(ev *credo.Event) {
	l := ev.Link
	if ev.Type == credo.EventLinkAdded {
		r.links[ev.Seq] = &linkRow{org: l.Org, person: l.Person, role: l.Role, from: r.tm(l.From), until: r.tm(l.Until)}
		if l.Until.IsZero() {
			r.open[linkKey(l)] = ev.Seq
		}
		return
	}
	until := l.Until
	if until.IsZero() {
		until = ev.Recorded
	}
	if seq, ok := r.open[linkKey(l)]; ok {
		row := r.links[seq]
		row.until, row.untilSeq = r.tm(until), ev.Seq
		delete(r.open, linkKey(l))
	}
}

func linkKey(l *credo.Link) string { return l.Org + "\x1f" + l.Person + "\x1f" + l.Role }

// Projections returns the projections of the events replayed so far.
func (r *ProjectionReplay) Projections() *Projections {
	r.init()
	p := &Projections{tables: map[string]*tableDigest{}}
	for k, v := range r.p.tables {
		c := *v
		p.tables[k] = &c
	}
	for _, s := range r.subjects {
		p.Subject(s.ID, s.Kind, s.First, s.Last)
	}
	for id, s := range r.changed {
		status := "active"
		switch {
		case s.revoked != "":
			status = "revoked"
		case s.repaired != "":
			status = "repaired"
		case s.fulfilled != "":
			status = "fulfilled"
		}
		p.row("records.status", i64(id), status, text(s.revoked), text(s.fulfilled), text(s.repaired), i64(s.changedSeq))
	}
	for id, d := range r.disputes {
		p.Dispute(id, d.recordID, d.subject, d.openedAt, d.appeal, d.decidedAt, d.outcome, d.decidedSeq)
	}
	for id, a := range r.repairs {
		p.Repair(id, a.recordID, a.subject, a.appliedAt, a.decidedAt, a.outcome, a.decidedSeq)
	}
	for seq, l := range r.links {
		p.Link(seq, l.org, l.person, l.role, l.from, l.until, l.untilSeq)
	}
	return p
}

// Result compares stored with the replay and returns the outcome.
func (r *ProjectionReplay) Result(events int64, stored *Projections) credo.ProjectionResult {
	res := credo.ProjectionResult{Events: events, Tables: map[string]int64{}}
	for _, name := range ProjectionTables {
		res.Tables[name] = stored.Rows(name)
	}
	res.Problems = Compare(r.Projections(), stored)
	res.OK = len(res.Problems) == 0
	return res
}

// Tally counts the rows each projection table gains from events, for the
// cheap check (credo.ProjectionVerifier.CheckProjections): rows are only
// ever inserted by one kind of event each, so a table's row count is a
// function of the log's events.
type Tally map[string]int64

// CountedTables are the tables a Tally counts.
var CountedTables = []string{"subject_events", "records", "disputes", "repair_applications", "links", "policies", "notices", "facts"}

// Event adds the rows event gives: typ and subject are its columns, link
// its link (link events only; nil otherwise).
func (t Tally) Event(typ credo.EventType, subject string, link *credo.Link) {
	ev := credo.Event{Type: typ, Subject: subject, Link: link}
	t["subject_events"] += int64(len(Concerned(&ev)))
	if HasFacts(typ) {
		t["facts"] += int64(len(Concerned(&ev)))
	}
	switch typ {
	case credo.EventRecordFiled:
		t["records"]++
	case credo.EventDisputeOpened:
		t["disputes"]++
	case credo.EventRepairApplied:
		t["repair_applications"]++
	case credo.EventLinkAdded:
		t["links"]++
	case credo.EventPolicyPublished:
		t["policies"]++
	case credo.EventNoticeIssued:
		t["notices"]++
	}
}

// CheckCounts compares stored row counts with the tally (want) and, for
// subjects, with the distinct subjects of the subject index.
func CheckCounts(want, stored Tally, subjects, distinct int64) []credo.ProjectionProblem {
	var out []credo.ProjectionProblem
	for _, name := range CountedTables {
		w, s := want[name], stored[name]
		if w == s {
			continue
		}
		p := credo.ProjectionProblem{Table: name, LogRows: w, Stored: s}
		if s < w {
			p.Problem = fmt.Sprintf("%s: %d row(s) missing (the log gives %d, the table has %d)", name, w-s, w, s)
		} else {
			p.Problem = fmt.Sprintf("%s: %d row(s) the log does not give (the log gives %d, the table has %d)", name, s-w, w, s)
		}
		out = append(out, p)
	}
	if subjects != distinct {
		out = append(out, credo.ProjectionProblem{Table: "subjects", LogRows: distinct, Stored: subjects,
			Problem: fmt.Sprintf("subjects: %d rows for the %d subjects of the subject index", subjects, distinct)})
	}
	return out
}

// LinkEvent reports whether events of type typ carry a link (whose body
// the tally needs).
func LinkEvent(typ string) bool {
	return typ == string(credo.EventLinkAdded) || typ == string(credo.EventLinkRemoved)
}
