package policy

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// Languages are the languages Credo renders: its own texts (portal,
// notices, reports) exist in each, and a policy may translate its texts
// into each. The tags are the only spelling used anywhere ("zh-CN", never
// "zh" or "zh_CN").
var Languages = []string{"en", "zh-CN"}

// DefaultLanguage is the language of a policy text written as a plain
// string in a policy that declares no languages, and the answer when no
// language is asked for.
const DefaultLanguage = "en"

var matcher = language.NewMatcher([]language.Tag{language.English, language.MustParse("zh-CN")})

// Negotiate picks the supported language an Accept-Language header (or a
// single tag) asks for, honouring q-weights; English when it asks for none
// Credo speaks.
func Negotiate(accept string) string {
	if strings.TrimSpace(accept) == "" {
		return DefaultLanguage
	}
	tags, _, err := language.ParseAcceptLanguage(accept)
	if err != nil || len(tags) == 0 {
		return DefaultLanguage
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return DefaultLanguage
	}
	return Languages[i]
}

// MatchLanguage maps a language tag a user typed ("zh", "zh-cn", "en-GB")
// to a supported language, or "" when Credo does not speak it.
func MatchLanguage(tag string) string {
	t, err := language.Parse(strings.TrimSpace(tag))
	if err != nil {
		return ""
	}
	_, i, conf := matcher.Match(t)
	if conf == language.No || conf == language.Low {
		return ""
	}
	return Languages[i]
}

// Text is a text of the policy shown to people (a name, a title, a legal
// basis, how to contest): written either as one string, in the policy's
// first language, or as a map from language tag to text
// ({en: ..., zh-CN: ...}).
type Text struct {
	def string            // the text in the policy's first language
	by  map[string]string // language tag -> text; nil for a plain string
}

// NewText returns a text in one language: lang "" is the policy's first.
func NewText(s string) Text { return Text{def: s} }

// Translations returns a text with a translation per language; def is the
// language whose text is shown when a language has none.
func Translations(def string, by map[string]string) Text {
	return Text{def: by[def], by: by}
}

// String returns the text in the policy's first language.
func (t Text) String() string { return t.def }

// IsZero reports whether the text is empty in every language.
func (t Text) IsZero() bool { return strings.TrimSpace(t.def) == "" && len(t.by) == 0 }

// For returns the text in lang, or in the policy's first language when it
// has no translation into lang.
func (t Text) For(lang string) string {
	if s, ok := t.by[lang]; ok && s != "" {
		return s
	}
	return t.def
}

// Has reports whether the text is written in lang. A plain string is
// written in the policy's first language only.
func (t Text) Has(lang, first string) bool {
	if t.by == nil {
		return lang == first && t.def != ""
	}
	return strings.TrimSpace(t.by[lang]) != ""
}

// MarshalYAML writes the text back as it was written.
func (t Text) MarshalYAML() (any, error) {
	if t.by == nil {
		return t.def, nil
	}
	return t.by, nil
}

// MarshalText makes a text print as its first-language string.
func (t Text) MarshalText() ([]byte, error) { return []byte(t.def), nil }

// UnmarshalYAML reads a string or a {LANG: TEXT} map.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			*t = Text{}
			return nil
		}
		*t = Text{def: n.Value}
		return nil
	case yaml.MappingNode:
		by := map[string]string{}
		first := ""
		var errs []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !contains(Languages, k.Value) {
				hint := ""
				if m := MatchLanguage(k.Value); m != "" {
					hint = fmt.Sprintf(" (write %s)", m)
				}
				errs = append(errs, fmt.Sprintf("line %d: unknown language %q%s: a text is a string or a map from %s to text", k.Line, k.Value, hint, strings.Join(Languages, ", ")))
				continue
			}
			if v.Kind != yaml.ScalarNode {
				errs = append(errs, fmt.Sprintf("line %d: the %s text must be a string", v.Line, k.Value))
				continue
			}
			if _, dup := by[k.Value]; dup {
				errs = append(errs, fmt.Sprintf("line %d: language %s is given twice", k.Line, k.Value))
				continue
			}
			by[k.Value] = v.Value
			if first == "" {
				first = k.Value
			}
		}
		if errs != nil {
			return &yaml.TypeError{Errors: errs}
		}
		*t = Text{def: by[first], by: by}
		return nil
	}
	return lineErr(n, "a text must be a string or a map from language to text ({en: ..., zh-CN: ...})")
}

// Map returns the text per language, or nil for a plain string.
func (t Text) Map() map[string]string {
	if t.by == nil {
		return nil
	}
	m := make(map[string]string, len(t.by))
	for k, v := range t.by {
		m[k] = v
	}
	return m
}

// all returns the text in every language it is written in.
func (t Text) all() []string {
	if t.by == nil {
		return []string{t.def}
	}
	out := make([]string, 0, len(t.by))
	for _, l := range t.langs() {
		out = append(out, t.by[l])
	}
	return out
}

// setDefault makes lang's text the one shown where a language has none.
func (t *Text) setDefault(lang string) {
	if s, ok := t.by[lang]; ok && s != "" {
		t.def = s
	}
}

// langs returns the languages a text is written in (sorted), for messages.
func (t Text) langs() []string {
	var ls []string
	for l := range t.by {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	return ls
}

// texts returns every text of the policy with its YAML path and a name
// for messages.
func (p *Policy) texts() []policyText {
	var ts []policyText
	add := func(path, what string, t *Text) { ts = append(ts, policyText{path, what, t}) }
	for i, a := range p.Authorities {
		add(fmt.Sprintf("authorities[%d].name", i), "authority "+a.ID+": name", &a.Name)
	}
	for i, s := range p.Sectors {
		add(fmt.Sprintf("sectors[%d].title", i), "sector "+s.ID+": title", &s.Title)
	}
	for i, s := range p.Schemes {
		add(fmt.Sprintf("schemes[%d].title", i), "scheme "+s.ID+": title", &s.Title)
		for j := range s.Tiers {
			t := &s.Tiers[j]
			add(fmt.Sprintf("schemes[%d].tiers[%d].meaning", i, j), "scheme "+s.ID+": tier "+t.Name+": meaning", &t.Meaning)
		}
	}
	for i, l := range p.Lists {
		add(fmt.Sprintf("lists[%d].title", i), "list "+l.ID+": title", &l.Title)
		add(fmt.Sprintf("lists[%d].legal_basis", i), "list "+l.ID+": legal_basis", &l.LegalBasis)
		add(fmt.Sprintf("lists[%d].contest", i), "list "+l.ID+": contest", &l.Contest)
	}
	for i, r := range p.Rules {
		add(fmt.Sprintf("rules[%d].title", i), "rule "+r.Code+": title", &r.Title)
		add(fmt.Sprintf("rules[%d].legal_basis", i), "rule "+r.Code+": legal_basis", &r.LegalBasis)
	}
	for i, m := range p.Measures {
		add(fmt.Sprintf("measures[%d].title", i), "measure "+m.ID+": title", &m.Title)
		add(fmt.Sprintf("measures[%d].legal_basis", i), "measure "+m.ID+": legal_basis", &m.LegalBasis)
	}
	return ts
}

type policyText struct {
	path, what string
	t          *Text
}

// NamedText is one text of a policy, named for messages ("list debtors:
// title").
type NamedText struct {
	What string
	Text Text
}

// Texts returns every text of the policy shown to people: names, titles,
// tier meanings, legal bases and contest texts.
func (p *Policy) Texts() []NamedText {
	var out []NamedText
	for _, x := range p.texts() {
		if !x.t.IsZero() {
			out = append(out, NamedText{What: x.what, Text: *x.t})
		}
	}
	return out
}

// validateLanguages checks the declared languages and reports every text
// that lacks one of them; it makes the first declared language the one
// shown where a text has no translation.
func (c *checker) validateLanguages() {
	p := c.p
	seen := map[string]bool{}
	for i, l := range p.Languages {
		switch {
		case !contains(Languages, l):
			hint := ""
			if m := MatchLanguage(l); m != "" {
				hint = fmt.Sprintf(" (write %s)", m)
			}
			c.errorf(fmt.Sprintf("languages[%d]", i), "languages: %q is not a language Credo renders%s; use %s", l, hint, strings.Join(Languages, ", "))
		case seen[l]:
			c.errorf(fmt.Sprintf("languages[%d]", i), "languages: %s is declared twice", l)
		}
		seen[l] = true
	}
	first := p.FirstLanguage()
	ts := p.texts()
	for _, x := range ts {
		x.t.setDefault(first)
	}
	if len(p.Languages) == 0 {
		for _, x := range ts {
			if x.t.by != nil {
				c.errorf(x.path, "%s is written in %s but the policy declares no languages: add languages: [%s]", x.what, strings.Join(x.t.langs(), ", "), strings.Join(x.t.langs(), ", "))
			}
		}
		return
	}
	for _, x := range ts {
		if x.t.IsZero() {
			continue // an absent text is checked (or allowed) where it is required
		}
		var missing []string
		for _, l := range p.Languages {
			if contains(Languages, l) && !x.t.Has(l, first) {
				missing = append(missing, l)
			}
		}
		if missing != nil {
			c.errorf(x.path, "%s has no %s translation (the policy declares languages: [%s])", x.what, strings.Join(missing, ", "), strings.Join(p.Languages, ", "))
		}
		for _, l := range x.t.langs() {
			if !contains(p.Languages, l) {
				c.warnf(x.path, "%s is written in %s, which the policy does not declare among its languages", x.what, l)
			}
		}
	}
}

// FirstLanguage is the language of the policy's plain-string texts and of
// the text shown where a translation is missing: the first it declares,
// else English.
func (p *Policy) FirstLanguage() string {
	if len(p.Languages) > 0 && contains(Languages, p.Languages[0]) {
		return p.Languages[0]
	}
	return DefaultLanguage
}
