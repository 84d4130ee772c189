package credo

import (
	"context"
	"time"
)

// Roles a bearer token can hold (docs/design.md §6).
const (
	RoleAdmin     = "admin"     // operates the registry: policies, tokens, everything
	RoleAuthority = "authority" // files records for one authority
	RoleChecker   = "checker"   // a service provider checking subjects in its sectors
	RoleSubject   = "subject"   // a person or organisation reading its own file
	RoleAuditor   = "auditor"   // aggregates and the log, no personal data
	RolePublic    = "public"    // anonymous: public lists only
)

// OneTimeCodeName names the tokens behind the web portal's one-time sign-in
// codes: subject tokens that sign in to the portal once, within a day, and
// are never accepted by the API.
const OneTimeCodeName = "one-time code"

// Token is an API credential. Only the SHA-256 of the secret is stored; the
// secret is shown once, when the token is created.
type Token struct {
	ID        string    `json:"id"`
	Hash      string    `json:"-"`
	Role      string    `json:"role"`
	Name      string    `json:"name,omitempty"`
	Authority string    `json:"authority,omitempty"` // role authority
	Sectors   []string  `json:"sectors,omitempty"`   // role checker
	Subject   string    `json:"subject,omitempty"`   // role subject
	Created   time.Time `json:"created"`
	Revoked   time.Time `json:"revoked,omitzero"`
}

// TokenStore keeps API tokens.
type TokenStore interface {
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash returns the token whose secret hashes to hash (ENOTFOUND if none).
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	Tokens(ctx context.Context) ([]*Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
}

// CheckEntry is one logged check: who asked about whom, for which sector,
// when, under which policy version, and what they were told. Subjects see
// every check run on them (principle 5); any check can be replayed by id.
type CheckEntry struct {
	ID       string    `json:"id"`
	Checker  string    `json:"checker"` // token id
	Org      string    `json:"org,omitempty"`
	Subject  string    `json:"subject"`
	Sector   string    `json:"sector"`
	At       time.Time `json:"at"`    // the instant decided for
	Known    time.Time `json:"known"` // the knowledge used (transaction time)
	Policy   string    `json:"policy"`
	Decision string    `json:"decision"`
	Measures []string  `json:"measures,omitempty"`
}

// CheckLog stores logged checks. Writers batch them off the hot path.
type CheckLog interface {
	LogChecks(ctx context.Context, cs []CheckEntry) error
	Check(ctx context.Context, id string) (*CheckEntry, error)
	// ChecksOf returns the checks run on a subject, newest first.
	ChecksOf(ctx context.Context, subject string, limit int) ([]CheckEntry, error)
}

// CheckCounter is an optional interface of a check log that can count
// the checks made in [from, to) by day (UTC), sector and decision, calling
// fn once per group. The API's /v1/stats and the portal's dashboard use it
// when the check log offers it; otherwise /v1/stats counts the server's
// own checks since it started.
type CheckCounter interface {
	CountChecks(ctx context.Context, from, to time.Time, fn func(day time.Time, sector, decision string, n int64) error) error
}
