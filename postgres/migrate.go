package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

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

// migrationLock is the key of the advisory lock migrations run under
// ("credo" in ASCII).
const migrationLock = 0x637265646f

// migrate applies the pending migrations in order, each in its own
// transaction, recording each in schema_migrations. It holds a session
// advisory lock throughout, so that two nodes starting at once apply them
// one after the other: the second finds nothing pending. Every migration
// is idempotent (IF NOT EXISTS), so one that was applied but not recorded
// (it cannot be: the record is in its transaction) would run again
// harmlessly.
func migrate(ctx context.Context, pool *pgxpool.Pool) (err error) {
	ms, err := loadMigrations()
	if err != nil {
		return internal("migrate", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return internal("migrate", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return internal("migrate", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY,
		name    text NOT NULL,
		applied timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return internal("migrate", err)
	}
	var cur int
	if err := conn.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return internal("migrate", err)
	}
	if n := len(ms); n > 0 && cur > ms[n-1].version {
		return credo.Errorf(credo.EINTERNAL, "postgres: database schema version %d is newer than this program's %d", cur, ms[n-1].version)
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return internal("migrate", err)
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			tx.Rollback(context.Background())
			return internal("migrate", fmt.Errorf("%s: %w", m.name, err))
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			tx.Rollback(context.Background())
			return internal("migrate", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return internal("migrate", fmt.Errorf("%s: %w", m.name, err))
		}
	}
	return nil
}
