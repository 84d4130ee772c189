package credo

import (
	"runtime/debug"
	"sync"
)

// Version describes the build: the module version, or for a build from a
// working tree "devel" followed by the VCS revision (and "+dirty" when the
// tree had uncommitted changes), as `credo --version`, /healthz and the
// portal's footer show it.
var Version = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && v == "devel" {
		v += " " + rev[:min(12, len(rev))]
		if modified == "true" {
			v += "+dirty"
		}
	}
	return v
})
