package outbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	// HeaderSignature carries "t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
	// "<t>.<body>")>".
	HeaderSignature = "Credo-Signature"
	// HeaderEventID is the idempotency id: the event's sequence number in
	// the log. A redelivery carries the same id; receivers dedupe by it.
	HeaderEventID = "Credo-Event-Id"
	// HeaderEventType is the event's type (notice.issued, ...).
	HeaderEventType = "Credo-Event-Type"
	// HeaderAttempt is the attempt number, from 1.
	HeaderAttempt = "Credo-Delivery-Attempt"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns.
var (
	ErrNoSignature       = errors.New("outbox: no signature")
	ErrMalformedHeader   = errors.New("outbox: malformed signature header")
	ErrStaleTimestamp    = errors.New("outbox: signature timestamp outside the tolerance (replayed or clock skew)")
	ErrSignatureMismatch = errors.New("outbox: no signature matches the body")
)

// Sign returns the Credo-Signature header value for body sent at t.
func Sign(secret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a delivery as its receiver: header is the Credo-Signature
// value, body the raw request body, now the receiver's clock. It accepts
// the delivery if one of its v1 signatures is the HMAC-SHA256 under secret
// of "<t>.<body>" and t is within tolerance of now (DefaultTolerance if
// tolerance <= 0), which rejects a captured delivery replayed later. The
// comparison takes constant time.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrNoSignature
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformedHeader
		}
		switch k {
		case "t":
			if ts != "" {
				return ErrMalformedHeader
			}
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return ErrMalformedHeader
			}
			sigs = append(sigs, b)
		}
		// Other schemes are ignored: room for a future v2.
	}
	if ts == "" || len(sigs) == 0 {
		return ErrMalformedHeader
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return ErrMalformedHeader
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStaleTimestamp
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok
	}
	if !ok {
		return ErrSignatureMismatch
	}
	return nil
}
