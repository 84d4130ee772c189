package sqlite

import (
	"database/sql/driver"
	"fmt"

	msqlite "modernc.org/sqlite"

	"credo/internal/storecore"
)

// credo_case_key(authority, case_ref) is storecore.CaseKey in SQL: the
// migration that made the records table compact (0096) computes the keys
// of the records already filed with it.
func init() {
	msqlite.MustRegisterDeterministicScalarFunction("credo_case_key", 2, func(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		var s [2]string
		for i, a := range args {
			switch v := a.(type) {
			case string:
				s[i] = v
			case []byte:
				s[i] = string(v)
			default:
				return nil, fmt.Errorf("credo_case_key: argument %d is %T, not text", i+1, a)
			}
		}
		return storecore.CaseKey(s[0], s[1]), nil
	})
}
