package simulate_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"credo/simulate"
)

func TestWriteHTML(t *testing.T) {
	reg, st, _ := city(t)
	cur, draft := versions(t, reg)
	r, err := simulate.Run(context.Background(), st, cur, draft, T, simulate.Options{MinGroup: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			var admin, auditor bytes.Buffer
			if err := simulate.WriteHTML(&admin, r, lang); err != nil {
				t.Fatal(err)
			}
			if err := simulate.WriteHTML(&auditor, r.Redact(), lang); err != nil {
				t.Fatal(err)
			}
			page := admin.String()
			for _, want := range []string{`<html lang="` + lang + `">`, "<title>", `id="tiers-civic"`, `id="groups-person.district"`, `id="disparities"`, `id="threshold"`, `aria-label=`, "Chaoyang", p2} {
				if !strings.Contains(page, want) {
					t.Errorf("admin page lacks %q", want)
				}
			}
			for _, id := range []string{p1, p2, p3, p4, p5, p6, o1} {
				if strings.Contains(auditor.String(), id) {
					t.Errorf("auditor page shows subject %s", id)
				}
			}
			if strings.Contains(page, "<no value>") || strings.Contains(page, "%!") {
				t.Error("a string is missing or badly formatted")
			}
			if strings.Contains(page, "<script") || strings.Contains(page, `src="`) || strings.Contains(page, `href="http`) {
				t.Error("the report must be self-contained")
			}
		})
	}
	var zh bytes.Buffer
	simulate.WriteHTML(&zh, r, "zh")
	if !strings.Contains(zh.String(), "政策影响模拟") {
		t.Error("the Chinese page is not in Chinese")
	}
}
