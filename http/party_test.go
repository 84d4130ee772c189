package http_test

import (
	"net/http"
	"strings"
	"testing"

	credohttp "credo/http"
	"credo/storetest"
)

// TestG06PartyMayObject: a legal representative whom a company's listing
// reaches sees the party notice in their file and may object to the
// company's record (403 "not about you" before); a stranger still may not.
func TestG06PartyMayObject(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	org := storetest.USCC(1)
	rec := e.file(org, "(2024)Org-1")
	r := e.do("POST", "/v1/links", "court", map[string]any{"org": org, "person": bob, "role": "legal_representative",
		"legal_basis": "Company Law art 10", "from": "2020-06-01T00:00:00+08:00"})
	if r.status != http.StatusCreated {
		t.Fatalf("link: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/links", "court", map[string]any{"org": org, "person": bob, "role": "chairman",
		"legal_basis": "x", "from": "2020-06-01T00:00:00+08:00"}); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "role") {
		t.Errorf("bad role: %d %s", r.status, r.body)
	}
	var st credohttp.StateResponse
	e.do("GET", "/v1/subjects/"+bob, "bob", nil).decode(t, &st)
	if len(st.PartyNotices) != 1 || st.PartyNotices[0].RecordID != rec.ID || st.PartyNotices[0].Party == nil {
		t.Errorf("bob's file has party notices %+v", st.PartyNotices)
	}
	if r := e.do("POST", "/v1/disputes", "bob", map[string]any{"record_id": rec.ID, "grounds": "I left the company"}); r.status != http.StatusCreated {
		t.Errorf("the representative objects: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/disputes", "alice", map[string]any{"record_id": rec.ID, "grounds": "not mine"}); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
		t.Errorf("a stranger objects: %d %s", r.status, r.body)
	}
}
