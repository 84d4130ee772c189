package registry

import (
	"context"
	"time"

	"credo"
	"credo/engine"
)

// Erase erases a subject on request (a court order, a successful
// rectification): the store destroys the subject's data key after logging
// a subject.erased event with the reason and legal basis (package seal),
// and the decision table forgets the subject (and refreshes the persons
// linked to an erased organisation). From then on the subject is answered
// as an unknown one. A registry whose store is not sealed cannot erase
// (EUNAVAILABLE).
func (r *Registry) Erase(ctx context.Context, subject string, e credo.Erasure) (*credo.Event, error) {
	id, err := r.ParseSubject(subject)
	if err != nil {
		return nil, err
	}
	er, ok := r.store.(credo.SubjectEraser)
	if !ok {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "this registry is not sealed: erasure destroys a subject's data key, and its store keeps none (create the registry with keys: credo init --keys)")
	}
	var persons []string
	if id.Kind == credo.Org {
		if persons, err = r.store.LinkedPersons(ctx, id.Canonical); err != nil {
			return nil, err
		}
	}
	r.changeMu.Lock()
	defer r.changeMu.Unlock()
	ev, err := er.Erase(ctx, id.Canonical, e)
	if err != nil {
		return nil, err
	}
	if _, err := r.refresh(ctx, append(persons, id.Canonical)...); err != nil {
		r.log.Error("refreshing the decision table after an erasure", "err", err)
	}
	r.log.Info("subject erased", "seq", ev.Seq, "reason", e.Reason, "legal_basis", e.LegalBasis)
	return ev, nil
}

// Erasable is a subject whose every record is past retention at an
// instant: what EraseExpired erases.
type Erasable struct {
	Subject      string    `json:"subject"`
	RetentionEnd time.Time `json:"retention_end"` // the end of the last retained item
	LegalBasis   string    `json:"legal_basis"`   // that item's retention's legal basis
	Records      int       `json:"records"`
}

// Erasable lists the subjects whose last retained record is past its
// retention at t (engine.SubjectRetention.Forgettable).
func (r *Registry) Erasable(ctx context.Context, t time.Time) ([]Erasable, error) {
	var out []Erasable
	err := r.RetentionAll(ctx, t, func(s engine.SubjectRetention) {
		if !s.Forgettable() {
			return
		}
		e := Erasable{Subject: s.Subject, RetentionEnd: s.LastUntil, Records: len(s.Items)}
		for _, it := range s.Items {
			if it.Until.Equal(s.LastUntil) {
				e.LegalBasis = it.LegalBasis
			}
		}
		out = append(out, e)
	})
	return out, err
}

// EraseExpired erases every subject whose last retained record is past its
// retention at t (dry: only lists them). It returns the subjects erased
// (or, dry, to erase).
func (r *Registry) EraseExpired(ctx context.Context, t time.Time, dry bool) ([]Erasable, error) {
	es, err := r.Erasable(ctx, t)
	if err != nil || dry {
		return es, err
	}
	done := es[:0]
	for _, e := range es {
		basis := e.LegalBasis
		if basis == "" {
			basis = "the policy's retention period"
		}
		if _, err := r.Erase(ctx, e.Subject, credo.Erasure{Reason: "retention period ended", LegalBasis: basis, RetentionEnd: e.RetentionEnd}); err != nil {
			if credo.ErrorCode(err) == credo.ENOTFOUND {
				continue // erased meanwhile
			}
			return done, err
		}
		done = append(done, e)
	}
	return done, nil
}
