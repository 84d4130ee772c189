package registry

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"credo"
	"credo/ident"
)

// Province shards: a national deployment splits the registry by province.
// Each shard is a registry of its own (its own log, database and nodes)
// holding the subjects whose identifier carries one of its province codes
// (the first two digits of the region code of a RIC or USCC); passports
// and provinces no shard names go to the default shard. The shard map
// says which shard holds which subject, and where its nodes answer; a
// shard's registry refuses to file others' subjects (ShardMap.Refuser),
// and the API forwards requests about them (package http, shard.go).

// ShardMap assigns subjects to shards by province.
type ShardMap struct {
	// Default is the shard of passports and of provinces no shard lists.
	Default string `yaml:"default" json:"default"`
	// Shards by name.
	Shards map[string]*Shard `yaml:"shards" json:"shards"`

	byProvince map[string]string
}

// Shard is one shard of the map.
type Shard struct {
	// Provinces are the two-digit province codes (GB/T 2260) it holds.
	Provinces []string `yaml:"provinces" json:"provinces"`
	// URL is the base URL of the nodes serving it (a load balancer).
	URL string `yaml:"url" json:"url"`

	name string
	base *url.URL
}

// Name returns the shard's name.
func (s *Shard) Name() string { return s.name }

// BaseURL returns the shard's base URL, parsed (without a trailing slash).
func (s *Shard) BaseURL() *url.URL { return s.base }

// LoadShardMap reads a shard map file (YAML, of which JSON is a subset).
func LoadShardMap(path string) (*ShardMap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "shard map: %v", err)
	}
	return ParseShardMap(path, b)
}

// ParseShardMap parses and validates a shard map; name prefixes errors.
func ParseShardMap(name string, data []byte) (*ShardMap, error) {
	fail := func(format string, args ...any) error {
		return credo.Errorf(credo.EINVALID, "%s: %s", name, fmt.Sprintf(format, args...))
	}
	var m ShardMap
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fail("%v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(m.Shards) == 0 {
		return nil, fail("shards: at least one shard is required")
	}
	if m.Default == "" {
		return nil, fail("default: is required (the shard of passports and of provinces no shard lists)")
	}
	if m.Shards[m.Default] == nil {
		return nil, fail("default: %q is not one of the shards (%s)", m.Default, strings.Join(m.Names(), ", "))
	}
	m.byProvince = map[string]string{}
	for _, n := range m.Names() {
		sh := m.Shards[n]
		if sh == nil {
			return nil, fail("shards.%s: is empty", n)
		}
		sh.name = n
		u, err := url.Parse(sh.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fail("shards.%s.url: %q is not an absolute http(s) base URL", n, sh.URL)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		sh.base = u
		if len(sh.Provinces) == 0 && n != m.Default {
			return nil, fail("shards.%s.provinces: at least one province code is required", n)
		}
		for i, p := range sh.Provinces {
			if len(p) != 2 || ident.ProvinceName(p) == "" {
				return nil, fail("shards.%s.provinces[%d]: %q is not a two-digit province code (GB/T 2260: 11 Beijing … 65 Xinjiang, 71, 81, 82)", n, i, p)
			}
			if other, dup := m.byProvince[p]; dup {
				return nil, fail("shards.%s.provinces[%d]: province %s (%s) is already in shard %s", n, i, p, ident.ProvinceName(p), other)
			}
			m.byProvince[p] = n
		}
	}
	return &m, nil
}

// Names returns the shard names, sorted.
func (m *ShardMap) Names() []string {
	ns := make([]string, 0, len(m.Shards))
	for n := range m.Shards {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// ShardOf returns the shard that holds a subject.
func (m *ShardMap) ShardOf(id ident.ID) *Shard {
	if n, ok := m.byProvince[id.ProvinceCode]; ok {
		return m.Shards[n]
	}
	return m.Shards[m.Default]
}

// Refuser returns a check for registry.Options.Accept: it refuses the
// subjects of shards other than local, naming the shard to file them in.
func (m *ShardMap) Refuser(local []string) func(id ident.ID) error {
	return func(id ident.ID) error {
		sh := m.ShardOf(id)
		if slices.Contains(local, sh.name) {
			return nil
		}
		return &credo.Error{Code: credo.EINVALID, Field: "subject", Message: fmt.Sprintf("%s belongs to shard %s (%s): file it there; this node serves %s",
			id.Canonical, sh.name, sh.URL, strings.Join(local, ", "))}
	}
}

// Validate checks that the node's shards are in the map.
func (m *ShardMap) Validate(local []string) error {
	if len(local) == 0 {
		return credo.FieldErrorf("shard", "name the shard(s) this node serves (%s)", strings.Join(m.Names(), ", "))
	}
	for _, n := range local {
		if m.Shards[n] == nil {
			return credo.FieldErrorf("shard", "%q is not in the shard map (%s)", n, strings.Join(m.Names(), ", "))
		}
	}
	return nil
}
