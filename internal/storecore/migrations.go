package storecore

import (
	"fmt"

	"credo"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step of a store: migrations/NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations returns the migrations/*.sql files of fsys (a store's
// embedded files) in version order, refusing a misnamed file or two files
// of one version.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", base)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// CompactSchema is the schema version (migration 0090 of both stores)
// from which event bodies are the compact canonical encoding
// (credo.EncodingVersion 2) and hash columns hold bytes. A store whose
// schema is older and whose log has events is in the JSON format: it is
// refused, never read as it is, until `credo migrate` converts it.
const CompactSchema = 90

// OldFormatError is the refusal to open a log in the JSON format; convert
// names the command that converts it.
func OldFormatError(op, what string, schema int, convert string) error {
	return &credo.Error{Code: credo.EUNAVAILABLE, Op: op, Message: fmt.Sprintf(
		"%s is in the format before the compact event encoding (schema version %d: JSON event bodies, hex hashes); "+
			"this program reads only the compact format and never rereads old bodies silently: convert it with `%s` "+
			"(it verifies the old chain, re-encodes every event, verifies the new chain and records the old head in a log.migrated event)",
		what, schema, convert)}
}
