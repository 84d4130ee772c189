package portal

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"credo"
)

// funcs are the template functions beyond the page's methods.
var funcs = template.FuncMap{
	"join": strings.Join,
	"dict2": func(p *page, name, typ string, required bool) fieldArgs {
		return fieldArgs{P: p, Name: name, Type: typ, Required: required}
	},
}

// fieldArgs are the arguments of the "textfield" template.
type fieldArgs struct {
	P        *page
	Name     string
	Type     string
	Required bool
}

// T returns the catalogue text of key in the page's language.
func (c *reqCtx) T(key string) string { return tr(c.lang, key) }

// Tf formats the catalogue text of key with args.
func (c *reqCtx) Tf(key string, args ...any) string { return fmt.Sprintf(tr(c.lang, key), args...) }

// Lang is the page's language tag, for <html lang>.
func (c *reqCtx) Lang() string { return c.lang }

// Date formats an instant as a date in the policy's time zone ("—" for none).
func (c *reqCtx) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(c.loc).Format("2006-01-02")
}

// DateTime formats an instant to the minute in the policy's time zone.
func (c *reqCtx) DateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(c.loc).Format("2006-01-02 15:04") + " " + c.loc.String()
}

// Version is the build's version, for the footer.
func (c *reqCtx) Version() string { return credo.Version() }

// Session is the signed-in visitor (nil when signed out).
func (c *reqCtx) Session() *session { return c.sess }

// CSRF is the hidden form field's value.
func (c *reqCtx) CSRF() string { return c.csrf }

// RequestID identifies the request in logs and error pages.
func (c *reqCtx) RequestID() string { return c.reqID }

// SwitchLang is the link to this page in the other language.
func (c *reqCtx) SwitchLang() string {
	other := "zh-CN"
	if c.lang == "zh-CN" {
		other = "en"
	}
	u := c.request.URL
	if c.request.Method != http.MethodGet {
		// A form shown again after a POST: switch on the page the form
		// came from.
		if ref, err := url.Parse(c.request.Referer()); err == nil && ref.Host == c.request.Host && strings.HasPrefix(ref.Path, "/") {
			u = ref
		}
	}
	q := u.Query()
	q.Set("lang", other)
	return u.Path + "?" + q.Encode()
}

// OtherLangName is the name of the other language, in that language.
func (c *reqCtx) OtherLangName() string {
	if c.lang == "zh-CN" {
		return "English"
	}
	return "中文"
}

// OtherLang is the other language's tag.
func (c *reqCtx) OtherLang() string {
	if c.lang == "zh-CN" {
		return "en"
	}
	return "zh-CN"
}

// Status translates a status word (record status, decision, outcome).
func (c *reqCtx) Status(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := catalogue[c.lang]["status."+s]; ok {
		return v
	}
	return s
}

// Days formats days left on a deadline: "in N days", "today", "N days overdue".
func (c *reqCtx) Days(n int) string {
	switch {
	case n > 0:
		return c.Tf("days.left", n)
	case n == 0:
		return c.T("days.today")
	}
	return c.Tf("days.overdue", -n)
}

var durationRE = regexp.MustCompile(`^(\d+)(d|wd|mo|y)$`)

// Duration spells out a policy duration ("15d", "10wd") in the page's
// language; anything else is shown as it is.
func (c *reqCtx) Duration(s string) string {
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	n, _ := strconv.Atoi(m[1])
	key := "dur." + m[2]
	if n == 1 {
		key += ".one"
	}
	return c.Tf(key, n)
}

func (p *Portal) handleHome(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p.render(w, c, http.StatusOK, "home", "home.title", nil)
	return nil
}
