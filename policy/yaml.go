package policy

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The policy's custom YAML forms. Each reports its own errors as
// yaml.TypeError lines ("line N: ...") so that the decoder collects them all
// and Parse turns them into FILE:LINE diagnostics.

func lineErr(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ", n.Line) + fmt.Sprintf(format, args...)}}
}

// checkKeys rejects mapping keys outside the allowed set: strictness for the
// forms decoded by hand (node.Decode does not inherit KnownFields).
func checkKeys(n *yaml.Node, what string, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return lineErr(n, "%s must be a mapping", what)
	}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !contains(allowed, k.Value) {
			errs = append(errs, fmt.Sprintf("line %d: unknown field %q in %s (allowed: %s)", k.Line, k.Value, what, strings.Join(allowed, ", ")))
		}
	}
	if errs != nil {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

// UnmarshalYAML reads "10d", "3wd", "6mo" or "2y".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineErr(n, "a duration must be written like 10d, 3wd, 6mo or 2y")
	}
	v, err := ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return lineErr(n, "%v", err)
	}
	*d = v
	return nil
}

// UnmarshalYAML reads a tier as {AAA: 1050} or {name: AAA, min: 1050, meaning: "..."}.
func (t *Tier) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineErr(n, "a tier must be written {NAME: MIN} or {name: NAME, min: MIN, meaning: TEXT}")
	}
	if len(n.Content) == 2 && n.Content[0].Value != "name" {
		min, err := strconv.Atoi(n.Content[1].Value)
		if err != nil {
			return lineErr(n.Content[1], "tier %s: minimum %q is not a whole number", n.Content[0].Value, n.Content[1].Value)
		}
		*t = Tier{Name: n.Content[0].Value, Min: min}
		return nil
	}
	if err := checkKeys(n, "tier", "name", "min", "meaning"); err != nil {
		return err
	}
	var v struct {
		Name    string `yaml:"name"`
		Min     int    `yaml:"min"`
		Meaning Text   `yaml:"meaning"`
	}
	if err := n.Decode(&v); err != nil {
		return err
	}
	*t = Tier{Name: v.Name, Min: v.Min, Meaning: v.Meaning}
	return nil
}

// UnmarshalYAML reads a point effect as a number (points per record) or
// {each|per_unit, unit, cap, per}.
func (p *PointSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := strconv.Atoi(n.Value)
		if err != nil {
			return lineErr(n, "points %q: want a whole number or {per_unit: N, unit: U, cap: N, per: DURATION}", n.Value)
		}
		*p = PointSpec{Each: v}
		return nil
	}
	if err := checkKeys(n, "points", "each", "per_unit", "unit", "cap", "per"); err != nil {
		return err
	}
	type plain PointSpec
	return n.Decode((*plain)(p))
}

// UnmarshalYAML reads a listing as a period ("2y"), "until_fulfilled", or
// {period: D} / {until_fulfilled: true, max: D}.
func (l *ListingSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value == "until_fulfilled" {
			*l = ListingSpec{UntilFulfilled: true}
			return nil
		}
		d, err := ParseDuration(n.Value)
		if err != nil {
			return lineErr(n, "listing %q: want a period (e.g. 2y), until_fulfilled, or {until_fulfilled: true, max: 5y}", n.Value)
		}
		*l = ListingSpec{Period: d}
		return nil
	}
	if err := checkKeys(n, "listing", "period", "until_fulfilled", "max"); err != nil {
		return err
	}
	type plain ListingSpec
	return n.Decode((*plain)(l))
}
