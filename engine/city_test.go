package engine_test

import (
	"testing"
	"time"

	"credo/engine"
	"credo/engine/enginetest"
	"credo/policy"
)

// genCity is a synthetic city as the engine sees it (enginetest.City).
type genCity struct {
	end      time.Time
	subjects []string
	facts    map[string]*engine.Facts
	records  int
}

// cityFacts generates a city with enginetest.CityFacts.
func cityFacts(tb testing.TB, pol *policy.Policy, people, orgs int) *genCity {
	tb.Helper()
	c := enginetest.CityFacts(tb, pol, people, orgs)
	return &genCity{end: c.End, subjects: c.Subjects, facts: c.Facts, records: c.Records}
}
