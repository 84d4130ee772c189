// Package policies embeds the example policies shipped with Credo, so that
// `credo demo` works from any directory.
package policies

import _ "embed"

// Beijing is the example municipal policy (policies/beijing.yaml).
//
//go:embed beijing.yaml
var Beijing []byte
