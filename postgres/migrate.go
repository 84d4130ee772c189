package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"credo"
	"credo/internal/storecore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]storecore.Migration, error) { return storecore.LoadMigrations(migrations) }

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
	if n := len(ms); n > 0 && cur > ms[n-1].Version {
		return credo.Errorf(credo.EINTERNAL, "postgres: database schema version %d is newer than this program's %d", cur, ms[n-1].Version)
	}
	if cur > 0 && cur < storecore.CompactSchema {
		var old bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM events)").Scan(&old); err != nil {
			return internal("migrate", err)
		}
		if old {
			return storecore.OldFormatError("postgres.Open", "the registry's database", cur, "credo migrate --postgres URL")
		}
	}
	for _, m := range ms {
		if m.Version <= cur {
			continue
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return internal("migrate", err)
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			tx.Rollback(context.Background())
			return internal("migrate", fmt.Errorf("%s: %w", m.Name, err))
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			tx.Rollback(context.Background())
			return internal("migrate", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return internal("migrate", fmt.Errorf("%s: %w", m.Name, err))
		}
	}
	return nil
}
