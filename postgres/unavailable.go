package postgres

import (
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// unreachable reports whether err means the database cannot be reached
// (down, restarting, in recovery, the connection lost) rather than a bug:
// such failures are EUNAVAILABLE, which a client may retry.
func unreachable(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	case errors.As(err, &pe):
		// Class 08: connection exception; 57P01-57P03: admin shutdown,
		// crash shutdown, cannot connect now; 25006: read-only (a
		// primary that came back as a standby).
		return pe.Code[:2] == "08" || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "25006"
	}
	return pgconn.SafeToRetry(err) || err.Error() == "conn closed"
}

// noRoom reports whether err is the database's lack of resources (class
// 53: disk full, out of memory, too many connections): an outage, not a
// bug.
func noRoom(err error) (string, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || len(pe.Code) < 2 || pe.Code[:2] != "53" {
		return "", false
	}
	if pe.Code == "53100" {
		return "the disk is full", true
	}
	return pe.Message, true
}
