package ident

import "fmt"

// Countries is the built-in ISO 3166-1 alpha-3 table, for tests.
const Countries = countries

// CurrentRegions returns the division codes still in force.
func CurrentRegions() []string {
	var out []string
	for _, d := range divisions {
		if d.last == 0 && d.code%100 != 0 {
			out = append(out, fmt.Sprintf("%06d", d.code))
		}
	}
	return out
}
