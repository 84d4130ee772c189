// Package credo is the domain of the Credo trustworthiness registry: the
// types every other package speaks (subjects, records, the events of the
// hash-chained log, disputes and repair applications, notices, tokens,
// logged checks), the interfaces of the stores that keep them, and the one
// error type with its codes. It imports nothing of the project, so every
// package can depend on it and it depends on none.
//
// A registered authority files a [Record] about a subject under a rule of
// the published policy; every change, from a filing to a revocation, a
// dispute or a policy publication, is one [Event] in an append-only log
// whose events are chained by the SHA-256 of their [CanonicalEncoding]. A
// [Store] keeps that log and its projections; the optional store
// interfaces ([TokenStore], [CheckLog], [DueProcessStore], [NoticeStore],
// [Outbox]) keep what the services around it need. The services themselves
// are interfaces too ([CheckService], [SubjectService], [PolicyService],
// [RecordService], [LinkService], [DueProcessService]), implemented over a
// local store by package registry and over the API by package http's
// client. Failures are [*Error]s
// with a code (EINVALID, ENOTFOUND, ...) that the HTTP layer maps to a
// status and the CLI to an exit status.
//
// What the records mean (scores, tiers, lists, measures, decisions) is
// package engine's; the policy format is package policy's; package
// registry ties a store, the policy and the engine together. The design,
// the data flow of a filing and of a check, the rules on which package may
// import which, and the invariants and where each is enforced are in
// docs/architecture.md; the policy format is described for its readers in
// docs/policy.md, the domain facts the code relies on (with their sources)
// in docs/domain.md, and the founding brief in docs/design.md.
package credo
