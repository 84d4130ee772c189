package registry_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/policies"
	"credo/policy"
	"credo/synth"
)

// TestF07NoticeChinese files a small synthetic city's records under the
// demo policy (persons, companies, and the persons a company's listing
// reaches through its links) and reads every notice issued: its Chinese
// text contains no text of the policy in English (rule and list titles,
// authority names, legal bases, how to contest, measure titles), and its
// English text none in Chinese.
func TestF07NoticeChinese(t *testing.T) {
	c := &clock{at(2026, 3, 1, 9, 0)}
	reg := openExample(t, c)
	ctx := context.Background()
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	city, err := synth.New(synth.Config{People: 1500, Orgs: 300, Years: 2, Seed: 7, End: c.t, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	var links []*credo.Event
	if err := city.Links(func(l credo.Link) error {
		links = append(links, &credo.Event{Type: credo.EventLinkAdded, Subject: l.Org, Actor: "samr.beijing", Link: &l})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Append(ctx, links...); err != nil {
		t.Fatal(err)
	}
	var recs []*credo.Record
	subjects := map[string]bool{}
	if err := city.Records(func(r *credo.Record) error {
		c := *r
		recs = append(recs, &c)
		subjects[r.Subject] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A court lists a linked company as a judgment defaulter: the flight
	// ban reaches its legal representative, who gets a notice of their own.
	for i, l := range links[:min(3, len(links))] {
		decided := c.t.AddDate(0, 0, -10-i)
		recs = append(recs, &credo.Record{Subject: l.Subject, Rule: "JUDGMENT_DEFAULT_ABILITY", Authority: "court.beijing.chaoyang",
			CaseRef: fmt.Sprintf("(2026)京0105执%03d号", 900+i), DecidedAt: decided, NotifiedAt: decided.Add(24 * time.Hour), EvidenceSHA256: evidence})
	}
	if _, err := reg.FileRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	persons := map[string]bool{}
	for _, l := range links {
		subjects[l.Subject] = true
		persons[l.Link.Person] = true
	}
	// The texts whose two languages differ, long enough not to occur by
	// chance inside other words.
	var texts []policy.NamedText
	for _, x := range pol.Texts() {
		if x.Text.For("en") != x.Text.For("zh-CN") && len(x.Text.For("en")) >= 4 {
			texts = append(texts, x)
		}
	}
	notices, parties := 0, 0
	rules := map[string]bool{}
	var all []*credo.Notice
	for s := range subjects {
		for _, ev := range noticesOf(t, reg, s) {
			all = append(all, ev.Notice)
		}
	}
	for p := range persons {
		ns, err := reg.PartyNotices(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ns {
			all = append(all, &ns[i])
		}
	}
	{
		for _, n := range all {
			notices++
			if n.Party != nil {
				parties++
			}
			rules[n.Rule] = true
			for _, x := range texts {
				if en := x.Text.For("en"); strings.Contains(n.Text.ZH, en) {
					t.Errorf("the Chinese notice of record %d (%s, party %v) has %s in English: %q\n%s", n.RecordID, n.Rule, n.Party != nil, x.What, en, n.Text.ZH)
				}
				if zh := x.Text.For("zh-CN"); strings.Contains(n.Text.EN, zh) {
					t.Errorf("the English notice of record %d (%s, party %v) has %s in Chinese: %q", n.RecordID, n.Rule, n.Party != nil, x.What, zh)
				}
			}
		}
	}
	t.Logf("%d notices (%d to parties) of %d rules", notices, parties, len(rules))
	if notices < 100 || parties == 0 || len(rules) < 10 {
		t.Fatalf("%d notices (%d to parties) of %d rules: the city does not exercise the notices", notices, parties, len(rules))
	}
}
