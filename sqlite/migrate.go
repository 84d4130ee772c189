package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math"
	"time"

	"credo"
	"credo/internal/storecore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]storecore.Migration, error) { return storecore.LoadMigrations(migrations) }

// migrate applies the pending migrations in order, all in one immediate
// transaction, recording each in schema_version. Two processes opening the
// same new file cannot both apply them: the second waits for the write lock
// and then finds nothing pending.
func migrate(ctx context.Context, conn *sql.Conn, path string) (err error) {
	ms, err := loadMigrations()
	if err != nil {
		return internal("migrate", err)
	}
	// Foreign keys are off while migrations run, as SQLite's way of
	// rebuilding a table (0096) needs, and checked before the commit.
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return internal("migrate", err)
	}
	defer func() {
		if _, e := conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON"); e != nil && err == nil {
			err = internal("migrate", e)
		}
	}()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return internal("migrate", err)
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, createSchemaVersion); err != nil {
		return internal("migrate", err)
	}
	var cur int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return internal("migrate", err)
	}
	if n := len(ms); n > 0 && cur > ms[n-1].Version {
		return credo.Errorf(credo.EINTERNAL, "sqlite: database schema version %d is newer than this program's %d", cur, ms[n-1].Version)
	}
	if cur > 0 && cur < storecore.CompactSchema {
		var old bool
		if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM events)").Scan(&old); err != nil {
			return internal("migrate", err)
		}
		if old {
			return storecore.OldFormatError("sqlite.Open", "the registry "+path, cur, "credo migrate --db "+path)
		}
	}
	if err := applyMigrations(ctx, conn, ms, cur, math.MaxInt); err != nil {
		return err
	}
	if err := foreignKeyCheck(ctx, conn); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return internal("migrate", err)
	}
	return nil
}

// foreignKeyCheck fails if a row refers to a row that does not exist: the
// check of what migrations did with foreign keys off.
func foreignKeyCheck(ctx context.Context, conn *sql.Conn) error {
	var table string
	var rowid sql.NullInt64
	var parent string
	var fkid int64
	err := conn.QueryRowContext(ctx, "PRAGMA foreign_key_check").Scan(&table, &rowid, &parent, &fkid)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return internal("migrate", err)
	}
	return credo.Errorf(credo.EINTERNAL, "sqlite: after the migrations, row %d of %s refers to a missing row of %s: nothing migrated", rowid.Int64, table, parent)
}

// createSchemaVersion creates the table of applied migrations.
const createSchemaVersion = `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY,
		name    TEXT NOT NULL,
		applied TEXT NOT NULL
	)`

// applyMigrations applies, in the caller's transaction, the migrations of
// ms after version from up to version upTo, recording each.
func applyMigrations(ctx context.Context, conn *sql.Conn, ms []storecore.Migration, from, upTo int) error {
	for _, m := range ms {
		if m.Version <= from || m.Version > upTo {
			continue
		}
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return internal("migrate", fmt.Errorf("%s: %w", m.Name, err))
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO schema_version (version, name, applied) VALUES (?, ?, ?)",
			m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
			return internal("migrate", err)
		}
	}
	return nil
}
