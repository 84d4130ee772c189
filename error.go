package credo

import (
	"errors"
	"fmt"
)

// Error codes: the kinds of failure every layer of Credo reports. The HTTP
// layer maps each to one status; the CLI maps each to an exit status.
const (
	EINVALID      = "invalid"      // the input is malformed or breaks a rule
	ENOTFOUND     = "not_found"    // the thing asked for does not exist
	ECONFLICT     = "conflict"     // the request contradicts what is stored
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EFORBIDDEN    = "forbidden"    // valid credentials, not allowed
	EUNAVAILABLE  = "unavailable"  // try again later
	EINTERNAL     = "internal"     // a bug or a broken dependency
)

// Error is the one error type Credo's packages return to their callers. Op
// names the operation that failed, Field the input field at fault (if any);
// Message is safe to show to the caller, Err (if any) is for logs only.
type Error struct {
	Code    string
	Op      string
	Field   string
	Message string
	Err     error
}

func (e *Error) Error() string {
	s := e.Message
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil && e.Message == "" {
		s += e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an *Error of code EINVALID about one input field.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err: the message of the
// first *Error in its chain, or "internal error".
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		m := e.Message
		if e.Field != "" {
			m = e.Field + ": " + m
		}
		return m
	}
	return "internal error"
}
