package portal

import (
	"bytes"
	"errors"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"credo"
	"credo/ingest"
	"credo/simulate"
)

// maxDraftPolicy is the largest draft policy the page accepts (the API's
// limit too).
const maxDraftPolicy = 1 << 20

// simulateForm is the simulation page's form: what was typed, and the
// messages at the fields ("policy" gets the draft's FILE:LINE list too).
type simulateForm struct {
	Values   map[string]string
	Errors   map[string]string
	Problems []string // FILE:LINE messages of a draft that does not lint
	Busy     bool
}

var simulateFields = []string{"policy", "policy_file", "at", "threshold", "min_group"}

// ErrorList is the form's messages in the order of its fields.
func (f simulateForm) ErrorList() []fieldMessage { return errorList(simulateFields, f.Errors) }

func (p *Portal) handleSimulateForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p.render(w, c, http.StatusOK, "simulate", "sim.title", simulateForm{Values: map[string]string{}, Errors: map[string]string{}})
	return nil
}

// handleSimulate runs the draft against the registry with the policy in
// force as the current one (simulate.RunDraft, the API's code path) and
// answers the report as a page of its own with a link back. An auditor
// gets the redacted report.
func (p *Portal) handleSimulate(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	form := simulateForm{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"policy", "at", "threshold", "min_group"} {
		form.Values[k] = r.PostFormValue(k)
	}
	T := func(k string) string { return tr(c.lang, k) }
	src := []byte(form.Values["policy"])
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["policy_file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			b, err := readUpload(fhs[0])
			switch {
			case err != nil:
				form.Errors["policy_file"] = T("sim.file.unreadable")
			case len(b) > maxDraftPolicy:
				form.Errors["policy_file"] = T("sim.toolarge")
			default:
				src = b
				form.Values["policy"] = string(b) // shown in the textarea if it must be corrected
			}
		}
	}
	if len(src) > maxDraftPolicy {
		form.Errors["policy"] = T("sim.toolarge")
	} else if strings.TrimSpace(string(src)) == "" && form.Errors["policy_file"] == "" {
		form.Errors["policy"] = T("sim.policy.required")
	}
	var at time.Time
	if v := strings.TrimSpace(form.Values["at"]); v != "" {
		t, err := ingest.ParseTime(v, c.loc)
		if err != nil {
			form.Errors["at"] = T("sim.at.invalid")
		}
		at = t
	}
	var opts simulate.Options
	if v := strings.TrimSpace(form.Values["threshold"]); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= 1) {
			form.Errors["threshold"] = T("sim.threshold.invalid")
		}
		opts.Threshold = f
	}
	if v := strings.TrimSpace(form.Values["min_group"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			form.Errors["min_group"] = T("sim.min_group.invalid")
		}
		opts.MinGroup = n
	}
	if len(form.Errors) > 0 {
		p.render(w, c, http.StatusBadRequest, "simulate", "sim.title", form)
		return nil
	}
	admin := c.sess.Role == credo.RoleAdmin
	rep, err := simulate.RunDraft(r.Context(), p.reg, src, at, opts, admin)
	var de *simulate.DraftError
	switch {
	case errors.As(err, &de):
		form.Errors["policy"] = T("sim.policy.lint")
		form.Problems = de.Messages
		p.render(w, c, http.StatusBadRequest, "simulate", "sim.title", form)
		return nil
	case errors.Is(err, simulate.ErrBusy):
		form.Busy = true
		w.Header().Set("Retry-After", "10")
		p.render(w, c, http.StatusServiceUnavailable, "simulate", "sim.title", form)
		return nil
	case credo.ErrorCode(err) == credo.EINVALID || credo.ErrorCode(err) == credo.ENOTFOUND:
		// A draft that is not a policy at all, or no policy in force at
		// the instant: said at the field.
		field := "policy"
		if credo.ErrorCode(err) == credo.ENOTFOUND {
			field = "at"
		}
		form.Errors[field] = credo.ErrorMessage(err)
		p.render(w, c, http.StatusBadRequest, "simulate", "sim.title", form)
		return nil
	case err != nil:
		return err
	}
	lang := c.lang
	var b bytes.Buffer
	if err := simulate.WriteHTML(&b, rep, lang); err != nil {
		return err
	}
	// The report is a self-contained page (inline styles, charts as
	// inline SVG); it gets a bar with the way back to the portal.
	back := `<nav style="font:16px system-ui,sans-serif;padding:.5rem 1rem;background:#1f3a5f"><a id="sim-back" style="color:#fff" href="/dashboard/simulate">` +
		template.HTMLEscapeString(T("sim.back")) + `</a> · <a style="color:#fff" href="/dashboard">` + template.HTMLEscapeString(T("nav.dashboard")) + `</a></nav>`
	out := b.String()
	if i := strings.Index(out, "<body>"); i >= 0 {
		out = out[:i+len("<body>")] + back + out[i+len("<body>"):]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'self'")
	w.WriteHeader(http.StatusOK)
	_, err = io.WriteString(w, out)
	return err
}

// readUpload reads an uploaded file, at most one byte beyond the limit.
func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxDraftPolicy+1))
}
