package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"credo"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migration is one schema step: migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", base)
		}
		b, err := migrations.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies the pending migrations in order, all in one immediate
// transaction, recording each in schema_version. Two processes opening the
// same new file cannot both apply them: the second waits for the write lock
// and then finds nothing pending.
func migrate(ctx context.Context, conn *sql.Conn) (err error) {
	ms, err := loadMigrations()
	if err != nil {
		return internal("migrate", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return internal("migrate", err)
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY,
		name    TEXT NOT NULL,
		applied TEXT NOT NULL
	)`); err != nil {
		return internal("migrate", err)
	}
	var cur int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return internal("migrate", err)
	}
	if n := len(ms); n > 0 && cur > ms[n-1].version {
		return credo.Errorf(credo.EINTERNAL, "sqlite: database schema version %d is newer than this program's %d", cur, ms[n-1].version)
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			return internal("migrate", fmt.Errorf("%s: %w", m.name, err))
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO schema_version (version, name, applied) VALUES (?, ?, ?)",
			m.version, m.name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
			return internal("migrate", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return internal("migrate", err)
	}
	return nil
}
