package http

import (
	"time"

	"credo/registry"
)

// The public lists and the statistics are answered from the registry's
// census: a scan of the whole event log evaluating every subject, reused
// for Options.CensusTTL. Anonymous requests take the census as it is and
// only ever start a rebuild in the background (CensusCache.Current);
// authenticated ones may wait for a fresh one.
type (
	censusCache = registry.CensusCache
	listEntry   = registry.ListEntry
)

func newCensusCache(reg *registry.Registry, ttl time.Duration) *censusCache {
	return registry.NewCensusCache(reg, registry.CensusOptions{TTL: ttl})
}
