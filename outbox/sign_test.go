package outbox_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"credo/outbox"
)

func TestSignVerify(t *testing.T) {
	const secret = "whsec_0123456789abcdef"
	body := []byte(`{"seq":42,"type":"notice.issued"}`)
	sent := time.Unix(1767225600, 0)
	header := outbox.Sign(secret, body, sent)
	if !strings.HasPrefix(header, "t=1767225600,v1=") || len(header) != len("t=1767225600,v1=")+64 {
		t.Fatalf("header %q", header)
	}
	for _, tc := range []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", secret, header, body, sent.Add(30 * time.Second), nil},
		{"valid, receiver clock behind", secret, header, body, sent.Add(-time.Minute), nil},
		{"wrong secret", "whsec_another-secret", header, body, sent, outbox.ErrSignatureMismatch},
		{"tampered body", secret, header, []byte(`{"seq":43,"type":"notice.issued"}`), sent, outbox.ErrSignatureMismatch},
		{"stale: replayed later", secret, header, body, sent.Add(10 * time.Minute), outbox.ErrStaleTimestamp},
		{"timestamp far ahead", secret, header, body, sent.Add(-10 * time.Minute), outbox.ErrStaleTimestamp},
		{"timestamp changed to look fresh", secret, strings.Replace(header, "t=1767225600", "t=1767226200", 1), body, sent.Add(10 * time.Minute), outbox.ErrSignatureMismatch},
		{"rotated secrets: one of two signatures matches", secret, outbox.Sign("whsec_old-secret-123456", body, sent) + ",v1=" + strings.SplitN(header, "v1=", 2)[1], body, sent, nil},
		{"missing", secret, "", body, sent, outbox.ErrNoSignature},
		{"no timestamp", secret, "v1=" + strings.SplitN(header, "v1=", 2)[1], body, sent, outbox.ErrMalformedHeader},
		{"no signature", secret, "t=1767225600", body, sent, outbox.ErrMalformedHeader},
		{"signature not hex", secret, "t=1767225600,v1=zz", body, sent, outbox.ErrMalformedHeader},
		{"garbage", secret, "hello", body, sent, outbox.ErrMalformedHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := outbox.Verify(tc.secret, tc.header, tc.body, tc.now, time.Minute*5)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}
