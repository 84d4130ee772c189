package credo_test

import (
	"net/http"
	"testing"

	"credo"
)

// TestH05OneStatusMap holds issue 16 item 5 (one source for the error to
// status map): the API's problem responses and the portal's error pages
// both answer with credo.HTTPStatus.
func TestH05OneStatusMap(t *testing.T) {
	for code, want := range map[string]int{
		credo.EINVALID:      http.StatusBadRequest,
		credo.EUNAUTHORIZED: http.StatusUnauthorized,
		credo.EFORBIDDEN:    http.StatusForbidden,
		credo.ENOTFOUND:     http.StatusNotFound,
		credo.ECONFLICT:     http.StatusConflict,
		credo.EUNAVAILABLE:  http.StatusServiceUnavailable,
		credo.EINTERNAL:     http.StatusInternalServerError,
		"":                  http.StatusInternalServerError,
		"no_such_code":      http.StatusInternalServerError,
	} {
		if got := credo.HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, want)
		}
	}
}
