package http_test

import (
	"context"
	"strings"
	"testing"

	credohttp "credo/http"
)

func TestSubjectNotices(t *testing.T) {
	e := newEnv(t, credohttp.Options{})
	rec := e.file(alice, "(2025)Notice-1")
	e.file(bob, "(2025)Notice-2")

	r := e.do("GET", "/v1/subjects/"+alice+"/notices", "alice", nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got credohttp.SubjectNotices
	r.decode(t, &got)
	if got.Subject != alice || len(got.Notices) != 1 {
		t.Fatalf("notices %+v", got)
	}
	n := got.Notices[0]
	if n.Notice.RecordID != rec.ID || n.Seq <= rec.ID || n.Issued.IsZero() || len(n.Notice.Lists) != 1 || n.Notice.Lists[0].List != "debtors" {
		t.Errorf("notice %+v", n)
	}
	if !strings.Contains(n.Notice.Text.EN, "Test People's Court") || n.Notice.Text.ZH == "" {
		t.Errorf("text %+v", n.Notice.Text)
	}

	t.Run("client", func(t *testing.T) {
		c := credohttp.NewClient(e.ts.URL, e.secret["admin"])
		ns, err := c.Notices(context.Background(), bob)
		if err != nil || len(ns) != 1 || ns[0].Notice.Subject != bob {
			t.Errorf("Notices = %+v, %v", ns, err)
		}
	})
	t.Run("another subject's notices are refused", func(t *testing.T) {
		if r := e.do("GET", "/v1/subjects/"+bob+"/notices", "alice", nil); r.status != 403 {
			t.Errorf("status %d", r.status)
		}
	})
}
