package storecore

import (
	"context"
	"encoding/json"

	"credo"
)

// Rows is the part of a query's result the shared store logic reads
// (*sql.Rows and pgx.Rows, behind a small adapter in each store).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Close()
	Err() error
}

// Row is one row of a query (*sql.Row, pgx.Row).
type Row interface {
	Scan(dest ...any) error
}

// Querier runs queries in one read snapshot of a store. Placeholder
// style is the store's: Numbered says whether it is $1 (else ?), and
// NoRows reports the driver's "no rows" error.
type Querier interface {
	QueryRow(ctx context.Context, q string, args ...any) Row
	Query(ctx context.Context, q string, args ...any) (Rows, error)
	NoRows(err error) bool
	Numbered() bool
}

func ph(q Querier) string {
	if q.Numbered() {
		return "$1"
	}
	return "?"
}

// ReplayLog feeds the whole log, in sequence order, to replay, and
// returns the number of events read. The caller wraps errors.
func ReplayLog(ctx context.Context, q Querier, replay *ProjectionReplay) (int64, error) {
	var n int64
	var bodies [][]byte
	var hashes []string
	flush := func() error {
		evs, err := DecodeEvents(bodies, hashes)
		if err != nil {
			return err
		}
		for i := range evs {
			replay.Event(&evs[i])
		}
		n += int64(len(evs))
		bodies, hashes = bodies[:0], hashes[:0]
		return ctx.Err()
	}
	rows, err := q.Query(ctx, "SELECT body, hash FROM events ORDER BY seq")
	if err != nil {
		return n, err
	}
	for rows.Next() {
		var body []byte
		var hash HashScan
		if err := rows.Scan(&body, &hash); err != nil {
			rows.Close()
			return n, err
		}
		bodies, hashes = append(bodies, body), append(hashes, hash.Hex)
		if len(bodies) == 4096 {
			if err := flush(); err != nil {
				rows.Close()
				return n, err
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return n, err
	}
	if err := flush(); err != nil {
		return n, err
	}
	return n, nil
}

// Baseline is a new projection_audit row a passing CheckProjections asks
// its store to write: the last event's seq and hash and the counts (JSON).
type Baseline struct {
	Seq    int64
	Hash   string
	Counts string
}

// CheckProjections is both stores' cheap projection check (see
// credo.ProjectionVerifier): the recorded head (in headTable) is the end
// of the log, and every projection table has the number of rows the log
// gives, counted from the baseline in projection_audit. op names the
// store's method in the head error. A non-nil Baseline is the new
// baseline to record; errors are the driver's, for the caller to wrap.
func CheckProjections(ctx context.Context, q Querier, op, headTable string) (credo.ProjectionResult, *Baseline, error) {
	res := credo.ProjectionResult{Tables: map[string]int64{}}
	var headSeq, lastSeq int64
	var headHash, lastHash HashScan
	err := q.QueryRow(ctx, "SELECT seq, hash FROM "+headTable+" WHERE id = 1").Scan(&headSeq, &headHash)
	haveHead := err == nil
	if err != nil && !q.NoRows(err) {
		return res, nil, err
	}
	err = q.QueryRow(ctx, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").Scan(&lastSeq, &lastHash)
	if err != nil && !q.NoRows(err) {
		return res, nil, err
	}
	if err := HeadAgreement(op, haveHead, headSeq, headHash.Hex, lastSeq, lastHash.Hex); err != nil {
		res.Problems = append(res.Problems, credo.ProjectionProblem{Table: "head", LogRows: lastSeq, Stored: headSeq, Problem: credo.ErrorMessage(err)})
		return res, nil, nil
	}

	// The baseline: the counts at the last passing check, if its event
	// is still the one it saw.
	want := Tally{}
	var from int64
	var auditHash HashScan
	var counts string
	err = q.QueryRow(ctx, "SELECT seq, hash, counts FROM projection_audit WHERE id = 1").Scan(&from, &auditHash, &counts)
	switch {
	case q.NoRows(err):
		from = 0
	case err != nil:
		return res, nil, err
	default:
		var hash HashScan
		err := q.QueryRow(ctx, "SELECT hash FROM events WHERE seq = "+ph(q), from).Scan(&hash)
		if err != nil || hash.Hex != auditHash.Hex || json.Unmarshal([]byte(counts), &want) != nil {
			res.Problems = append(res.Problems, credo.ProjectionProblem{Table: "events", LogRows: from,
				Problem: "the event the last projection check stood at is no longer in the log as it was: run `credo verify`"})
			return res, nil, nil
		}
	}
	// The body is read for a link (its parties) and for a compact row,
	// whose subject column is empty (columns.go): only its head is read.
	links := "'" + string(credo.EventLinkAdded) + "', '" + string(credo.EventLinkRemoved) + "', '" +
		TypeColumn(credo.EventLinkAdded) + "', '" + TypeColumn(credo.EventLinkRemoved) + "'"
	rows, err := q.Query(ctx, "SELECT type, subject, CASE WHEN type IN ("+links+") OR subject = '' THEN body END FROM events WHERE seq > "+ph(q)+" ORDER BY seq", from)
	if err != nil {
		return res, nil, err
	}
	for rows.Next() {
		var col, subject string
		var body []byte
		if err := rows.Scan(&col, &subject, &body); err != nil {
			rows.Close()
			return res, nil, err
		}
		typ := ColumnType(col)
		var link *credo.Link
		switch {
		case LinkEvent(string(typ)):
			if ev, err := credo.DecodeCanonical(body); err == nil {
				link, subject = ev.Link, ev.Subject
			}
		case subject == "":
			subject, _ = BodySubject(body) // an unreadable body fails Verify
		}
		want.Event(typ, subject, link)
		res.Events++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, nil, err
	}

	// The subject index is read once for its rows and its distinct
	// subjects: at the size of a city each pass is gigabytes.
	stored := Tally{}
	var subjects, distinct int64
	for _, t := range CountedTables {
		var n int64
		var err error
		if t == "subject_events" {
			// Grouped, the index's order serves (count(DISTINCT) beside
			// count(*) would sort every row again).
			err = q.QueryRow(ctx, "SELECT CAST(COALESCE(sum(n), 0) AS BIGINT), count(*) FROM (SELECT count(*) AS n FROM subject_events GROUP BY subject) AS g").Scan(&n, &distinct)
		} else {
			err = q.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n)
		}
		if err != nil {
			return res, nil, err
		}
		stored[t] = n
		res.Tables[t] = n
	}
	if err := q.QueryRow(ctx, "SELECT count(*) FROM subjects").Scan(&subjects); err != nil {
		return res, nil, err
	}
	res.Tables["subjects"] = subjects
	res.Problems = CheckCounts(want, stored, subjects, distinct)
	res.OK = len(res.Problems) == 0
	if res.OK && lastSeq > from {
		b, _ := json.Marshal(want)
		return res, &Baseline{Seq: lastSeq, Hash: lastHash.Hex, Counts: string(b)}, nil
	}
	return res, nil, nil
}

// PolicySeqs returns the sequence numbers of the policy.published events,
// in order. Errors are the driver's, for the caller to wrap.
func PolicySeqs(ctx context.Context, q Querier) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT seq FROM policies ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, err
		}
		out = append(out, seq)
	}
	return out, rows.Err()
}

// EventBodies calls fn with the stored body of every event with after <
// seq <= upTo, in order. fn's error is returned as it is; the driver's
// go through wrap.
func EventBodies(ctx context.Context, q Querier, after, upTo int64, fn func(seq int64, body []byte) error, wrap func(error) error) error {
	query := "SELECT seq, body FROM events WHERE seq > ? AND seq <= ? ORDER BY seq"
	if q.Numbered() {
		query = "SELECT seq, body FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq"
	}
	rows, err := q.Query(ctx, query, after, upTo)
	if err != nil {
		return wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			return wrap(err)
		}
		if err := fn(seq, body); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(err)
	}
	return nil
}
