// Package http is Credo's JSON API: the server that exposes a registry to
// authorities, service providers, subjects, auditors and the public, and
// the Go client the CLI uses to talk to it.
//
// Every request is authenticated by bearer token (or is public), checked
// against the roles its route allows, rate limited per token, and admitted
// only while the server has capacity. Errors are RFC 9457 problem+json
// with a stable type per credo error code. Checks are answered from the
// registry's decision table and answered once their log entry is committed.
//
// [Client] implements the service interfaces of package credo over the API
// (as registry.Services does over a local store); its methods for each
// endpoint live beside the endpoint's handler, client.go holding only the
// transport.
package http
