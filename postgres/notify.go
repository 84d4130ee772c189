package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"credo"
)

// notifyChannel is the channel every appending transaction notifies on
// commit (migration 0040).
const notifyChannel = "credo_log"

// Notify listens for appends to the log on a connection of its own: the
// channel receives a value after a transaction that appended events
// commits (values are folded while the reader is busy), and is closed when
// ctx ends or the connection is lost (the caller polls meanwhile and may
// call Notify again). It implements registry.Notifier. A hot standby
// relays no notifications: listen on the primary.
func (db *DB) Notify(ctx context.Context) (<-chan struct{}, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, &credo.Error{Code: credo.EUNAVAILABLE, Op: "postgres.Notify", Message: "cannot reach the database: " + err.Error(), Err: err}
	}
	if _, err := conn.Exec(cctx, "LISTEN "+notifyChannel); err != nil {
		conn.Close(context.Background())
		return nil, internal("Notify", err)
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		defer conn.Close(context.Background())
		for {
			if _, err := conn.WaitForNotification(ctx); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ch, nil
}

// checkSchema makes sure a database opened read-only (a hot standby) has
// this program's schema, which only the primary can create.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := loadMigrations()
	if err != nil {
		return internal("Open", err)
	}
	var cur int
	if err := pool.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return credo.Errorf(credo.EUNAVAILABLE, "postgres: the read-only database has no Credo schema (open the primary once to create it): %v", err)
	}
	if want := ms[len(ms)-1].Version; cur != want {
		return credo.Errorf(credo.EUNAVAILABLE, "postgres: the read-only database has schema version %d, this program needs %d (upgrade the primary first)", cur, want)
	}
	return nil
}
