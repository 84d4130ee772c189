package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"

	"credo"
)

// tokenRoles are the roles a token may be issued for.
var tokenRoles = []string{credo.RoleAdmin, credo.RoleAuthority, credo.RoleChecker, credo.RoleSubject, credo.RoleAuditor}

// IssueToken validates a token's binding against the policy in force (an
// authority token's authority is declared, a checker token's sectors
// exist, a subject token's subject is a valid identifier, made canonical),
// gives it an id and a new secret, stores it in ts and returns the secret:
// shown once, only its hash is kept (credo.NewTokenSecret). Errors name
// the token's field: role, authority, sectors or subject.
func (r *Registry) IssueToken(ctx context.Context, ts credo.TokenStore, t *credo.Token) (secret string, err error) {
	if !slices.Contains(tokenRoles, t.Role) {
		return "", credo.FieldErrorf("role", "must be one of admin, authority, checker, subject, auditor; got %q", t.Role)
	}
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return "", err
	}
	switch t.Role {
	case credo.RoleAuthority:
		if t.Authority == "" || pol.Authority(t.Authority) == nil {
			return "", credo.FieldErrorf("authority", "an authority token needs an authority declared in the policy; got %q", t.Authority)
		}
	case credo.RoleChecker:
		if len(t.Sectors) == 0 {
			return "", credo.FieldErrorf("sectors", "a checker token needs at least one sector")
		}
		for _, s := range t.Sectors {
			if pol.Sector(s) == nil {
				return "", credo.FieldErrorf("sectors", "unknown sector %q", s)
			}
		}
	case credo.RoleSubject:
		id, err := r.ParseSubject(t.Subject)
		if err != nil {
			return "", credo.FieldErrorf("subject", "%s", credo.ErrorMessage(err))
		}
		t.Subject = id.Canonical
	}
	if t.Role != credo.RoleAuthority && t.Authority != "" || t.Role != credo.RoleChecker && len(t.Sectors) > 0 || t.Role != credo.RoleSubject && t.Subject != "" {
		return "", credo.Errorf(credo.EINVALID, "an authority, sectors and a subject go only with the roles authority, checker and subject")
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	t.ID = "tok_" + hex.EncodeToString(b[:])
	secret, t.Hash = credo.NewTokenSecret()
	t.Created = time.Now().UTC()
	if err := ts.CreateToken(ctx, t); err != nil {
		return "", err
	}
	return secret, nil
}
