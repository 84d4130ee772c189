package synth

import (
	"time"

	"credo"
)

// tagConsent seeds the per-person stream of consents (apart from the
// record streams, so that consents change no record).
const tagConsent = 0x636f6e73656e74 // "consent"

// Consents streams, in person order, the opt-ins of the city's residents
// to the schemes that score a person only with consent: each person who
// is an adult at the end of the window consents to each such scheme with
// probability share, at an instant in the window after their 18th
// birthday. Without consents every person is "not scored" in such a
// scheme, and its tiers, rewards and derived lists stay empty.
func (c *City) Consents(share float64, fn func(subject string, consent credo.Consent) error) error {
	var schemes []string
	for _, s := range c.cfg.Policy.Schemes {
		if s.ConsentRequired() && s.Applies("person") {
			schemes = append(schemes, s.ID)
		}
	}
	if len(schemes) == 0 || share <= 0 {
		return nil
	}
	endDay := c.endUnix / 86400
	window := int64(c.years * 365)
	for i := 0; i < c.cfg.People; i++ {
		p := c.people.attrs(i)
		if p.adult >= endDay {
			continue // a minor: no score, and no consent asked
		}
		var r rng
		r.seed(c.seed, tagConsent, uint64(i))
		for _, sc := range schemes {
			if r.float() >= share {
				continue
			}
			from := max(p.adult, endDay-window)
			day := from + int64(r.intn(int(endDay-from)))
			at := time.Unix(day*86400+int64(r.intn(86400)), 0).In(c.loc)
			if err := fn(p.ric(), credo.Consent{Scheme: sc, At: at, Given: true}); err != nil {
				return err
			}
		}
	}
	return nil
}
