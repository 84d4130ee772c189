package registry_test

import (
	"context"
	"testing"
	"time"

	"credo/registry"
)

func TestWalkHistory(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)
	res, err := reg.FileRecord(ctx, judgment(adult, "(2026)J1", decided))
	if err != nil {
		t.Fatal(err)
	}
	f, err := reg.Facts(ctx, adult)
	if err != nil {
		t.Fatal(err)
	}
	from := c.t.AddDate(-1, 0, 0)
	h, err := registry.WalkHistory(reg.Engine(), f, from, c.t, c.t)
	if err != nil {
		t.Fatal(err)
	}
	// 1000 (A) until the judgment, then 970 (A), caused by the record; the
	// record's lifetime of 5 years ends after the window.
	if len(h.Points) != 2 {
		t.Fatalf("points %+v", h.Points)
	}
	p0, p1 := h.Points[0], h.Points[1]
	if p0.Scheme != "civic" || p0.Score != 1000 || p0.RecordID != 0 || p0.At.After(decided) {
		t.Errorf("first point %+v", p0)
	}
	if p1.Score != 970 || p1.Tier != "A" || p1.RecordID != res.Record.ID || p1.At.Before(decided) {
		t.Errorf("second point %+v", p1)
	}
	if h.Capped || h.Next.IsZero() || !h.Next.After(c.t) {
		t.Errorf("capped %v, next %v", h.Capped, h.Next)
	}
	if h.Start.Before(from) {
		t.Errorf("start %v before from %v", h.Start, from)
	}
	// A window ending before the judgment has one point.
	h2, err := registry.WalkHistory(reg.Engine(), f, from, decided.AddDate(0, 0, -1), c.t)
	if err != nil {
		t.Fatal(err)
	}
	if len(h2.Points) != 1 || h2.Points[0].Score != 1000 {
		t.Errorf("before the judgment: %+v", h2.Points)
	}
}
