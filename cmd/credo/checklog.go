package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"time"

	"credo"
	"credo/engine"
)

// A check answered from the registry's own store (`credo check --db`) is
// logged like one the server answers: the subject's "who checked me" must
// be complete whoever asked. The checker is the operator at the command
// line.

// CLIChecker is the checker a command-line check is logged under.
const CLIChecker = "cli"

// logCLICheck logs a decision made at the command line and returns its
// check id. It refuses to answer (returns the error) if it cannot log.
func logCLICheck(ctx context.Context, log credo.CheckLog, d engine.Decision, at, known, now time.Time) (string, error) {
	if at.IsZero() {
		at = now
	}
	if known.IsZero() {
		known = now
	}
	e := credo.CheckEntry{ID: cliCheckID(now), Checker: CLIChecker, Org: "operator (credo check --db)",
		Subject: d.Subject, Sector: d.Sector, At: at, Known: known, Policy: d.Policy, Decision: d.Decision}
	for _, r := range d.Reasons {
		e.Measures = append(e.Measures, r.Code)
	}
	e.Measures = append(e.Measures, d.Grants...)
	if err := log.LogChecks(ctx, []credo.CheckEntry{e}); err != nil {
		return "", &credo.Error{Code: credo.EUNAVAILABLE, Op: "credo check",
			Message: "the check could not be logged, so it is not answered (the subject must see every check): use `credo show` to read a file without checking", Err: err}
	}
	return e.ID, nil
}

// cliCheckID returns a check id of the server's form (16 Crockford base32
// characters: 48 bits of Unix milliseconds, then 32 random bits).
func cliCheckID(now time.Time) string {
	const crockford = "0123456789abcdefghjkmnpqrstvwxyz"
	var raw [10]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(now.UnixMilli())<<16)
	rand.Read(raw[6:])
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := uint64(raw[8])<<8 | uint64(raw[9])
	var out [16]byte
	for i := 15; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | (hi&31)<<11
		hi >>= 5
	}
	return string(out[:])
}

// loggedChecks is the check service of a local registry with every answer
// logged (logCLICheck) before it is given.
type loggedChecks struct {
	credo.CheckService[engine.Decision]
	log credo.CheckLog
	now func() time.Time
}

func (l loggedChecks) Answer(ctx context.Context, q credo.CheckQuery) (engine.Decision, error) {
	d, err := l.CheckService.Answer(ctx, q)
	if err != nil {
		return d, err
	}
	if _, err := logCLICheck(ctx, l.log, d, q.At, q.Known, l.now()); err != nil {
		return engine.Decision{}, err
	}
	return d, nil
}
