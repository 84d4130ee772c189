package http

import (
	"net/http"

	"credo"
)

// EraseRequest is the body of POST /v1/subjects/{id}/erase: why the
// subject is erased and under which provision (logged, without personal
// data).
type EraseRequest struct {
	Reason     string `json:"reason"`
	LegalBasis string `json:"legal_basis"`
}

// handleErase erases a subject on request (a court order, a successful
// rectification): the registry destroys the subject's data key after
// logging a subject.erased event; from then on the subject is answered as
// an unknown one (package seal).
func (s *Server) handleErase(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q EraseRequest
	if err := decodeJSON(w, r, &q, maxJSONBody); err != nil {
		return err
	}
	if q.Reason == "" {
		return invalid("reason", "is required: why the subject is erased")
	}
	if q.LegalBasis == "" {
		return invalid("legal_basis", "is required: the provision the erasure is made under")
	}
	id, err := s.reg.ParseSubject(r.PathValue("id"))
	if err != nil {
		return invalid("id", "%s", credo.ErrorMessage(err))
	}
	ev, err := s.reg.Erase(r.Context(), id.Canonical, credo.Erasure{Reason: q.Reason, LegalBasis: q.LegalBasis})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, ev)
}
