// Package pgtest gives tests a real PostgreSQL database.
//
// The server comes from the environment: CREDO_TEST_POSTGRES holds the DSN of
// a database whose user may create databases (.ci/run starts a throwaway
// cluster and sets it). Without it a test is skipped on a developer's
// machine and fails in CI (CI=true), so a missing database is never mistaken
// for a passing suite.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable that holds the server's DSN.
const EnvDSN = "CREDO_TEST_POSTGRES"

// DSN returns the server's DSN, skipping the test (failing it in CI) when
// none is configured.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must provide a PostgreSQL server (see .ci/run)", EnvDSN)
		}
		t.Skipf("%s is not set: no PostgreSQL server to test against", EnvDSN)
	}
	return dsn
}

// NewDatabase creates an empty database for the test on the configured
// server and returns its DSN; the database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := DSN(t)
	var b [6]byte
	rand.Read(b[:])
	name := "credo_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connecting to %s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: creating database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("pgtest: dropping %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: dropping %s: %v", name, err)
		}
	})
	return WithDatabase(t, base, name)
}

// WithDatabase returns dsn with its database name replaced.
func WithDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		t.Fatalf("pgtest: %s must be a URL (postgres://user@host:port/db): %q", EnvDSN, dsn)
	}
	u.Path = "/" + name
	return u.String()
}
