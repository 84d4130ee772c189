package policy_test

import (
	"os"
	"strings"
	"testing"

	"credo/policy"
)

// TestF07Translations: a text is a string or a per-language map; a
// policy that declares languages is linted for every missing translation,
// by line; unknown languages are refused; plain policies still parse.
func TestF07Translations(t *testing.T) {
	src, err := os.ReadFile("../policies/beijing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse("beijing.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if got := pol.List("dishonest-debtors").Title.For("zh-CN"); got != "失信被执行人名单" {
		t.Errorf("zh-CN title %q", got)
	}
	if got := pol.List("dishonest-debtors").Title.String(); got != "List of dishonest judgment debtors" {
		t.Errorf("first-language title %q", got)
	}
	if lb := pol.List("dishonest-debtors").LegalBasis.For("zh-CN"); !strings.Contains(lb, "《最高人民法院关于公布失信被执行人名单信息的若干规定》") || !strings.Contains(lb, "《中华人民共和国民事诉讼法》") {
		t.Errorf("zh-CN legal basis %q", lb)
	}
	// Drop one translation: the lint names it, at its line.
	doc := strings.Replace(string(src), "      zh-CN: \"失信被执行人名单\"\n", "", 1)
	_, err = policy.Parse("beijing.yaml", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), "list dishonest-debtors: title has no zh-CN translation") {
		t.Errorf("missing translation: %v", err)
	}
	// An unknown language key.
	doc = strings.Replace(string(src), "      zh-CN: \"失信被执行人名单\"\n", "      zh: \"失信被执行人名单\"\n", 1)
	_, err = policy.Parse("beijing.yaml", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), `unknown language "zh" (write zh-CN)`) {
		t.Errorf("unknown language: %v", err)
	}
	// Translations without a languages declaration.
	doc = strings.Replace(string(src), "languages: [en, zh-CN]", "", 1)
	_, err = policy.Parse("beijing.yaml", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), "declares no languages") {
		t.Errorf("undeclared languages: %v", err)
	}
	// A policy of plain strings parses as before.
	plain, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Parse("policy.yaml", plain); err != nil {
		t.Errorf("plain policy: %v", err)
	}
}

// TestF07Negotiate: one tag everywhere, q-weights honoured.
func TestF07Negotiate(t *testing.T) {
	for in, want := range map[string]string{
		"": "en", "zh-CN": "zh-CN", "zh": "zh-CN", "zh-Hans-CN": "zh-CN", "en-GB": "en",
		"en;q=0.4, zh-CN;q=0.8": "zh-CN", "zh-CN;q=0.1, en": "en", "fr": "en", "garbage;;": "en",
	} {
		if got := policy.Negotiate(in); got != want {
			t.Errorf("Negotiate(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"zh": "zh-CN", "zh-cn": "zh-CN", "en": "en", "fr": "", "": ""} {
		if got := policy.MatchLanguage(in); got != want {
			t.Errorf("MatchLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}
