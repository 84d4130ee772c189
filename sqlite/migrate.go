package sqlite

import (
	"context"
	"database/sql"
	"embed"
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
	before, err := recordReferences(ctx, conn, cur, ms)
	if err != nil {
		return err
	}
	if err := applyMigrations(ctx, conn, ms, cur, math.MaxInt); err != nil {
		return err
	}
	if err := foreignKeyCheck(ctx, conn, before); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return internal("migrate", err)
	}
	return nil
}

// recordReferences counts the rows that refer to a record that does not
// exist, before migrations that rebuild the records table run (-1 when
// none is pending): a log altered by hand may hold some already, which the
// integrity checks report; the migrations must not add any.
func recordReferences(ctx context.Context, conn *sql.Conn, cur int, ms []storecore.Migration) (int, error) {
	if len(ms) == 0 || cur >= ms[len(ms)-1].Version || cur >= recordsRebuilt {
		return -1, nil
	}
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'records')").Scan(&exists); err != nil || !exists {
		return 0, internal("migrate", err)
	}
	return countRecordReferences(ctx, conn)
}

// recordsRebuilt is the migration that rebuilds the records table.
const recordsRebuilt = 96

func countRecordReferences(ctx context.Context, conn *sql.Conn) (int, error) {
	rows, err := conn.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return 0, internal("migrate", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return 0, internal("migrate", err)
		}
		if parent == "records" {
			n++
		}
	}
	return n, internal("migrate", rows.Err())
}

// foreignKeyCheck fails if the migrations (run with foreign keys off)
// left more rows referring to a missing record than there were before
// (before < 0: no migration that rebuilds records ran).
func foreignKeyCheck(ctx context.Context, conn *sql.Conn, before int) error {
	if before < 0 {
		return nil
	}
	after, err := countRecordReferences(ctx, conn)
	if err != nil {
		return err
	}
	if after > before {
		return credo.Errorf(credo.EINTERNAL, "sqlite: after the migrations, %d rows refer to a missing record (%d before): nothing migrated", after, before)
	}
	return nil
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
