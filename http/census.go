package http

import (
	"time"

	"credo/registry"
)

// The public lists and the statistics are answered from the registry's
// census: a scan of the whole event log evaluating every subject, reused
// for Options.CensusTTL and rebuilt while the caller waits once older.
type (
	censusCache = registry.CensusCache
	listEntry   = registry.ListEntry
)

func newCensusCache(reg *registry.Registry, ttl time.Duration) *censusCache {
	return registry.NewCensusCache(reg, registry.CensusOptions{TTL: ttl})
}
