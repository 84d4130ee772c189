package portal_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/registry"
)

// TestG06PartyNoticeInTheFile: a person whom a company's listing reaches
// through their role (here alice as the listed company's legal
// representative) sees the party notice in their own file on /me, in
// their language, naming the company — not only in the API.
func TestG06PartyNoticeInTheFile(t *testing.T) {
	e := newEnv(t)
	l := credo.Link{Org: company, Person: alice, Role: credo.RoleLegalRepresentative, Authority: "court.beijing.chaoyang",
		LegalBasis: "Company Law art 10", From: time.Now().AddDate(-1, 0, 0)}
	if _, _, err := e.reg.AddLink(context.Background(), l, registry.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	notices, err := e.reg.PartyNotices(context.Background(), alice)
	if err != nil || len(notices) == 0 {
		t.Fatalf("the registry has no party notice for alice: %v %v", notices, err)
	}
	for lang, want := range map[string]string{"en": "as a responsible person of " + company, "zh-CN": "作为其负责人的单位 " + company} {
		b := e.signedIn("tok-alice")
		b.lang = lang
		pg := b.get("/me")
		if pg.status != http.StatusOK {
			t.Fatalf("%s: status %d", lang, pg.status)
		}
		if !strings.Contains(pg.body, want) {
			t.Errorf("%s: /me does not show the party notice (%q)", lang, want)
		}
		text := notices[0].Text.EN
		if lang == "zh-CN" {
			text = notices[0].Text.ZH
		}
		first := strings.SplitN(text, "。", 2)[0]
		first = strings.SplitN(first, ". ", 2)[0]
		if !strings.Contains(pg.body, htmlEscape(first)) {
			t.Errorf("%s: /me does not carry the party notice's text (%q)", lang, first)
		}
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
