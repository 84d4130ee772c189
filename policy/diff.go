package policy

import (
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Diff is the difference between two policies by concept — rules, lists,
// measures, schemes and their tiers, sectors, authorities, procedures and
// the calendar — rather than by line of text.
type Diff struct {
	Old     DiffSide `json:"old"`
	New     DiffSide `json:"new"`
	Changes []Change `json:"changes"`
}

// DiffSide names one of the two policies compared.
type DiffSide struct {
	File    string `json:"file,omitempty"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Change is one concept added, removed or changed.
type Change struct {
	// Section is policy, calendar, authorities, sectors, schemes, lists,
	// rules, measures or procedures.
	Section string        `json:"section"`
	ID      string        `json:"id"` // the rule code, list id...; "" for policy-wide settings
	Op      string        `json:"op"` // added | removed | changed
	Title   string        `json:"title,omitempty"`
	Fields  []FieldChange `json:"fields,omitempty"`
}

// FieldChange is one setting of a concept that differs. Old or New is ""
// when the setting is absent on that side. For a list of values (subjects,
// extends_to, holidays...) Added and Removed give the items.
type FieldChange struct {
	Field   string   `json:"field"`
	Old     string   `json:"old"`
	New     string   `json:"new"`
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// The operations of a change.
const (
	OpAdded   = "added"
	OpRemoved = "removed"
	OpChanged = "changed"
)

// Compare returns the difference from policy a to policy b.
func Compare(a, b *Policy) *Diff {
	d := &Diff{Old: side(a), New: side(b), Changes: []Change{}}
	// Policy-wide settings.
	var top []FieldChange
	for _, f := range []string{"Name", "Version", "Source", "Effective", "Timezone"} {
		top = append(top, fieldDiff(strings.ToLower(f), reflect.ValueOf(*a).FieldByName(f), reflect.ValueOf(*b).FieldByName(f))...)
	}
	if len(top) > 0 {
		d.Changes = append(d.Changes, Change{Section: "policy", Op: OpChanged, Fields: top})
	}
	var cal []FieldChange
	cal = append(cal, fieldDiff("holidays", reflect.ValueOf(a.Holidays), reflect.ValueOf(b.Holidays))...)
	cal = append(cal, fieldDiff("workdays", reflect.ValueOf(a.Workdays), reflect.ValueOf(b.Workdays))...)
	if len(cal) > 0 {
		d.Changes = append(d.Changes, Change{Section: "calendar", Op: OpChanged, Fields: cal})
	}
	d.Changes = append(d.Changes, entities("authorities", a.Authorities, b.Authorities, func(x *Authority) (string, string) { return x.ID, x.Name.String() })...)
	d.Changes = append(d.Changes, entities("sectors", a.Sectors, b.Sectors, func(x *Sector) (string, string) { return x.ID, x.Title.String() })...)
	d.Changes = append(d.Changes, entities("schemes", a.Schemes, b.Schemes, func(x *Scheme) (string, string) { return x.ID, x.Title.String() })...)
	d.Changes = append(d.Changes, entities("lists", a.Lists, b.Lists, func(x *List) (string, string) { return x.ID, x.Title.String() })...)
	d.Changes = append(d.Changes, entities("rules", a.Rules, b.Rules, func(x *Rule) (string, string) { return x.Code, x.Title.String() })...)
	d.Changes = append(d.Changes, entities("measures", a.Measures, b.Measures, func(x *Measure) (string, string) { return x.ID, x.Title.String() })...)
	if fs := fieldDiff("", reflect.ValueOf(a.Procedures), reflect.ValueOf(b.Procedures)); len(fs) > 0 {
		d.Changes = append(d.Changes, Change{Section: "procedures", Op: OpChanged, Fields: fs})
	}
	return d
}

func side(p *Policy) DiffSide { return DiffSide{File: p.File, Name: p.Name, Version: p.Version} }

// entities compares two lists of concepts keyed by id: the removed and
// changed in the old order, then the added in the new order.
func entities[T any](section string, a, b []*T, key func(*T) (string, string)) []Change {
	byID := map[string]*T{}
	for _, x := range b {
		id, _ := key(x)
		byID[id] = x
	}
	old := map[string]bool{}
	var out []Change
	for _, x := range a {
		id, title := key(x)
		old[id] = true
		y, ok := byID[id]
		if !ok {
			out = append(out, Change{Section: section, ID: id, Op: OpRemoved, Title: title})
			continue
		}
		if fs := fieldDiff("", reflect.ValueOf(*x), reflect.ValueOf(*y)); len(fs) > 0 {
			_, t := key(y)
			out = append(out, Change{Section: section, ID: id, Op: OpChanged, Title: t, Fields: fs})
		}
	}
	for _, y := range b {
		id, title := key(y)
		if !old[id] {
			out = append(out, Change{Section: section, ID: id, Op: OpAdded, Title: title, Fields: fieldDiff("", reflect.Value{}, reflect.ValueOf(*y))})
		}
	}
	return out
}

// fieldDiff flattens two values into settings (points.civic.each,
// lists.debtors.period, tiers.A.min...) and returns those that differ,
// in order.
func fieldDiff(prefix string, a, b reflect.Value) []FieldChange {
	fa, fb := map[string]setting{}, map[string]setting{}
	var order []string
	if a.IsValid() {
		flatten(prefix, a, fa, &order)
	}
	if b.IsValid() {
		flatten(prefix, b, fb, &order)
	}
	seen := map[string]bool{}
	var out []FieldChange
	for _, k := range order {
		if seen[k] {
			continue
		}
		seen[k] = true
		x, y := fa[k], fb[k]
		if x.text == y.text {
			continue
		}
		fc := FieldChange{Field: k, Old: x.text, New: y.text}
		if x.items != nil || y.items != nil {
			fc.Added, fc.Removed = setDiff(x.items, y.items), setDiff(y.items, x.items)
		}
		out = append(out, fc)
	}
	// Citations last: the substance first.
	sort.SliceStable(out, func(i, j int) bool { return !isSource(out[i].Field) && isSource(out[j].Field) })
	return out
}

func isSource(field string) bool { return field == "source" || strings.HasSuffix(field, ".source") }

// setting is one flattened value: its text, and its items for a list.
type setting struct {
	text  string
	items []string
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(Duration{})
	textType     = reflect.TypeOf(Text{})
)

func flatten(prefix string, v reflect.Value, out map[string]setting, order *[]string) {
	put := func(s setting) {
		out[prefix] = s
		*order = append(*order, prefix)
	}
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch {
	case v.Type() == timeType:
		if t := v.Interface().(time.Time); !t.IsZero() {
			put(setting{text: t.Format(time.RFC3339)})
		}
		return
	case v.Type() == textType:
		// The text in the first language, then each translation: a
		// changed translation is a change of the policy.
		t := v.Interface().(Text)
		if t.def != "" {
			put(setting{text: t.def})
		}
		for _, l := range t.langs() {
			if s := t.by[l]; s != "" && s != t.def {
				p := join(l)
				out[p] = setting{text: s}
				*order = append(*order, p)
			}
		}
		return
	case v.Type() == durationType:
		if d := v.Interface().(Duration); !d.IsZero() {
			put(setting{text: d.String()})
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			flatten(prefix, v.Elem(), out, order)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			flatten(join(name), v.Field(i), out, order)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			flatten(join(fmt.Sprint(k)), v.MapIndex(k), out, order)
		}
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return
		}
		elem := v.Type().Elem()
		if elem.Kind() == reflect.Struct {
			if _, ok := elem.FieldByName("Name"); ok { // tiers: by name
				for i := 0; i < v.Len(); i++ {
					e := v.Index(i)
					flatten(join(e.FieldByName("Name").String()), e, out, order)
				}
				return
			}
		}
		items := make([]string, v.Len())
		for i := range items {
			items[i] = fmt.Sprint(v.Index(i).Interface())
		}
		put(setting{text: "[" + strings.Join(items, ", ") + "]", items: items})
	case reflect.Bool:
		put(setting{text: fmt.Sprint(v.Bool())})
	case reflect.String:
		if s := v.String(); s != "" {
			put(setting{text: s})
		}
	default:
		if !v.IsZero() {
			put(setting{text: fmt.Sprint(v.Interface())})
		}
	}
}

// setDiff returns the items of b that are not in a.
func setDiff(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range a {
		in[x] = true
	}
	var out []string
	for _, x := range b {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

// Empty reports whether the two policies are the same by concept.
func (d *Diff) Empty() bool { return len(d.Changes) == 0 }

// WriteText writes the difference for a reader: one block per section,
// "+" added, "-" removed, "~" changed, with the settings that differ.
func (d *Diff) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s %s\n+++ %s %s\n", d.Old.Name, d.Old.Version, d.New.Name, d.New.Version)
	if d.Empty() {
		b.WriteString("no differences by concept\n")
	}
	section := ""
	for _, c := range d.Changes {
		if c.Section != section {
			section = c.Section
			fmt.Fprintf(&b, "\n%s\n", section)
		}
		mark := map[string]string{OpAdded: "+", OpRemoved: "-", OpChanged: "~"}[c.Op]
		head := c.ID
		if c.Title != "" {
			if head != "" {
				head += " — "
			}
			head += c.Title
		}
		if head == "" {
			head = "(settings)"
		}
		fmt.Fprintf(&b, "  %s %s\n", mark, head)
		if c.Op == OpRemoved {
			continue
		}
		for _, f := range c.Fields {
			switch {
			case c.Op == OpAdded:
				fmt.Fprintf(&b, "      %s: %s\n", f.Field, clip(f.New))
			case len(f.Added)+len(f.Removed) > 0 && f.Old != "" && f.New != "":
				fmt.Fprintf(&b, "      %s:", f.Field)
				if len(f.Added) > 0 {
					fmt.Fprintf(&b, " +%s", strings.Join(f.Added, " +"))
				}
				if len(f.Removed) > 0 {
					fmt.Fprintf(&b, " -%s", strings.Join(f.Removed, " -"))
				}
				b.WriteByte('\n')
			default:
				fmt.Fprintf(&b, "      %s: %s → %s\n", f.Field, orNone(clip(f.Old)), orNone(clip(f.New)))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// clip shortens long texts (legal bases, sources) for the terminal.
func clip(s string) string {
	const max = 160
	if len([]rune(s)) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}
