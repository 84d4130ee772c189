package main

import (
	"context"
	"errors"

	"credo"
	"credo/engine"
	"credo/registry"
)

// A check answered from the registry's own store (`credo check --db`) is
// made and logged like one the server answers, by the registry's one check
// path (registry.Checks.CheckAndLog): the subject's "who checked me" must
// be complete whoever asked. The checker is the operator at the command
// line.

// CLIChecker is the checker a command-line check is logged under.
const CLIChecker = "cli"

// cliCheck is a command-line check of subject in sector (for now: set At
// and Known to decide as at another instant).
func cliCheck(subject, sector string) registry.CheckRequest {
	return registry.CheckRequest{Subject: subject, Sector: sector, Checker: CLIChecker, Org: "operator (credo check --db)"}
}

// notLogged says, of a check the check log refused, how to read a file
// without checking.
func notLogged(err error) error {
	var e *credo.Error
	if !errors.As(err, &e) || e.Op != "checklog" {
		return err
	}
	return &credo.Error{Code: credo.EUNAVAILABLE, Op: "credo check",
		Message: "the check could not be logged, so it is not answered (the subject must see every check): use `credo show` to read a file without checking", Err: err}
}

// loggedChecks is the check service of a local registry: every answer is
// made and logged by the registry's one check path before it is given.
type loggedChecks struct {
	checks *registry.Checks
}

func (l loggedChecks) Answer(ctx context.Context, q credo.CheckQuery) (engine.Decision, error) {
	req := cliCheck(q.Subject, q.Sector)
	req.At, req.Known = q.At, q.Known
	a, err := l.checks.CheckAndLog(ctx, req)
	if err != nil {
		return engine.Decision{}, notLogged(err)
	}
	d := a.Decision
	if q.Lang != "" && a.Policy != nil {
		for i, r := range d.Reasons {
			d.Reasons[i].LegalBasis, d.Reasons[i].Contest = r.LegalBasisIn(a.Policy, q.Lang), r.ContestIn(a.Policy, q.Lang)
		}
	}
	return d, nil
}
