package credo

import "net/http"

// HTTPStatus is the HTTP status that answers an error of a credo error
// code: the one mapping the API's problem responses and the portal's
// error pages share (500 for a code it does not know, EINTERNAL among
// them).
func HTTPStatus(code string) int {
	switch code {
	case EINVALID:
		return http.StatusBadRequest
	case EUNAUTHORIZED:
		return http.StatusUnauthorized
	case EFORBIDDEN:
		return http.StatusForbidden
	case ENOTFOUND:
		return http.StatusNotFound
	case ECONFLICT:
		return http.StatusConflict
	case EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
