// Package engine computes what the registry's records mean: the pure,
// deterministic functions from (events known by an instant, the policy in
// force, an instant) to scores, tiers, listings, measures and decisions, and
// the compact decision table that answers checks without evaluating CEL.
package engine
