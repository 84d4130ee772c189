package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"credo"
)

// ProblemBase is the prefix of every problem type URI; the last path
// segment is a credo error code or one of the HTTP-level kinds below.
const ProblemBase = "https://credo.example/problems/"

// HTTP-level problem kinds that have no credo error code.
const (
	kindTooLarge         = "too_large"
	kindRateLimited      = "rate_limited"
	kindOverloaded       = "overloaded"
	kindMethodNotAllowed = "method_not_allowed"
	kindMediaType        = "unsupported_media_type"
)

// Problem is an RFC 9457 problem details object: the body of every error
// response, with a stable type URI per kind of failure.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the input at fault: a JSON field, a query parameter, a
	// path parameter or a header.
	Field string `json:"field,omitempty"`
	// Errors carries the FILE:LINE messages of a policy that fails to lint.
	Errors []string `json:"errors,omitempty"`
	// RepairFrom is the first day a refused repair becomes possible.
	RepairFrom string `json:"repair_from,omitempty"`
}

// errorStatus maps a credo error code (credo.HTTPStatus) or an HTTP-level
// problem kind to its HTTP status.
func errorStatus(code string) int {
	switch code {
	case kindTooLarge:
		return http.StatusRequestEntityTooLarge
	case kindRateLimited:
		return http.StatusTooManyRequests
	case kindOverloaded:
		return http.StatusServiceUnavailable
	case kindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case kindMisdirected:
		return http.StatusMisdirectedRequest
	case kindBadGateway:
		return http.StatusBadGateway
	case kindMediaType:
		return http.StatusUnsupportedMediaType
	}
	return credo.HTTPStatus(code)
}

// codeOfType maps a problem type URI back to a credo error code (for the
// client); unknown types are internal.
func codeOfType(typ string) string {
	code, ok := strings.CutPrefix(typ, ProblemBase)
	if !ok {
		return credo.EINTERNAL
	}
	switch code {
	case credo.EINVALID, credo.EUNAUTHORIZED, credo.EFORBIDDEN, credo.ENOTFOUND, credo.ECONFLICT, credo.EUNAVAILABLE:
		return code
	case kindTooLarge, kindMethodNotAllowed, kindMediaType:
		return credo.EINVALID
	case kindRateLimited, kindOverloaded, kindBadGateway:
		return credo.EUNAVAILABLE
	case kindMisdirected:
		return credo.EINVALID
	}
	return credo.EINTERNAL
}

var problemTitles = map[string]string{
	credo.EINVALID:       "Invalid request",
	credo.EUNAUTHORIZED:  "Unauthorized",
	credo.EFORBIDDEN:     "Forbidden",
	credo.ENOTFOUND:      "Not found",
	credo.ECONFLICT:      "Conflict",
	credo.EUNAVAILABLE:   "Service unavailable",
	credo.EINTERNAL:      "Internal error",
	kindTooLarge:         "Request body too large",
	kindRateLimited:      "Too many requests",
	kindOverloaded:       "Server overloaded",
	kindMethodNotAllowed: "Method not allowed",
	kindMisdirected:      "Misdirected request: another shard holds this subject",
	kindBadGateway:       "Another shard did not answer",
	kindMediaType:        "Unsupported media type",
}

// httpError is an error that carries an HTTP-level problem kind and extra
// headers (Retry-After, Allow, WWW-Authenticate).
type httpError struct {
	kind    string
	detail  string
	field   string
	headers map[string]string
}

func (e *httpError) Error() string { return e.detail }

// problemOf builds the problem for an error. Internal errors carry no
// detail: their causes are for the log only.
func problemOf(err error) (Problem, map[string]string) {
	var rl *relayed
	if errors.As(err, &rl) {
		return rl.p, nil
	}
	var he *httpError
	if errors.As(err, &he) {
		return Problem{Type: ProblemBase + he.kind, Title: problemTitles[he.kind], Status: errorStatus(he.kind), Detail: he.detail, Field: he.field}, he.headers
	}
	code := credo.ErrorCode(err)
	if _, ok := problemTitles[code]; !ok {
		code = credo.EINTERNAL
	}
	p := Problem{Type: ProblemBase + code, Title: problemTitles[code], Status: errorStatus(code)}
	if code == credo.EINTERNAL {
		p.Detail = "an internal error occurred; it has been logged"
		return p, nil
	}
	var ce *credo.Error
	if errors.As(err, &ce) {
		p.Detail, p.Field = ce.Message, ce.Field
		if p.Detail == "" && ce.Err != nil {
			p.Detail = ce.Err.Error()
		}
	}
	var le lintError
	if errors.As(err, &le) {
		p.Errors = le.messages
	}
	var re repairError
	if errors.As(err, &re) {
		p.RepairFrom = re.from
	}
	var h map[string]string
	if code == credo.EUNAUTHORIZED {
		h = map[string]string{"WWW-Authenticate": `Bearer realm="credo"`}
	}
	if code == credo.EUNAVAILABLE {
		h = map[string]string{"Retry-After": "1"}
		if storeFaultOf(err) {
			h["Retry-After"] = "5" // an outage of the store: a full disk takes an operator
		}
	}
	return p, h
}

// writeError writes err as a problem+json response and logs server-side
// failures with their cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p, headers := problemOf(err)
	s.noteError(err)
	if p.Status >= 500 && p.Type == ProblemBase+credo.EINTERNAL {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("method", r.Method), slog.String("route", r.Pattern), slog.Any("err", err))
	}
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// invalid returns an EINVALID error about one input field.
func invalid(field, format string, args ...any) error {
	return credo.FieldErrorf(field, format, args...)
}

// lintError carries a policy's FILE:LINE error messages.
type lintError struct {
	err      *credo.Error
	messages []string
}

func (e lintError) Error() string { return e.err.Error() }
func (e lintError) Unwrap() error { return e.err }

// repairError carries the first day a refused repair is possible.
type repairError struct {
	err  *credo.Error
	from string
}

func (e repairError) Error() string { return e.err.Error() }
func (e repairError) Unwrap() error { return e.err }

// decodeError turns an error from json.Decoder into an EINVALID error that
// names the field at fault, or a 413 when the body was too long.
func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)}
	case errors.Is(err, io.EOF):
		return invalid("", "the request body is empty: a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "the request body ends in the middle of a JSON value")
	case errors.As(err, &ute):
		field := ute.Field
		if field == "" {
			return invalid("", "the request body must be a JSON object, not %s", jsonKind(ute.Value))
		}
		return invalid(field, "must be %s, not %s", jsonTypeName(ute.Type.String()), jsonKind(ute.Value))
	case errors.As(err, &se):
		return invalid("", "malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f, _ = strconv.Unquote(f)
		return invalid(f, "unknown field")
	}
	return invalid("", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(v string) string {
	switch v {
	case "number", "string", "bool", "array", "object":
		return "a JSON " + v
	case "":
		return "that"
	}
	if strings.HasPrefix(v, "number") {
		return "a JSON number (" + strings.TrimSpace(strings.TrimPrefix(v, "number")) + ")"
	}
	return v
}

func jsonTypeName(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "struct"), strings.Contains(goType, "."):
		return "an object"
	}
	return goType
}
