package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Unit is the unit of a policy duration.
type Unit uint8

// The units a policy duration can be written in.
const (
	Days     Unit = iota + 1 // calendar days: "10d"
	WorkDays                 // working days: "3wd" (weekends and holidays skipped)
	Months                   // calendar months: "6mo" (clamped to the month's end)
	Years                    // calendar years: "3y" (Feb 29 becomes Feb 28)
)

var unitSuffix = map[Unit]string{Days: "d", WorkDays: "wd", Months: "mo", Years: "y"}

// maxDurationN bounds every duration: nothing in a policy lasts longer than a
// century, and the bound keeps date arithmetic far from overflow.
const maxDurationN = 36600

// Duration is a span written in a policy: a count of days, working days,
// months or years, added to an instant with calendar arithmetic in the
// policy's time zone. The zero Duration is "not set".
type Duration struct {
	N    int
	Unit Unit
}

// ParseDuration parses "10d", "3wd", "6mo" or "2y".
func ParseDuration(s string) (Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return Duration{}, fmt.Errorf("duration %q must start with a number (e.g. 10d, 3wd, 6mo, 2y)", s)
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n > maxDurationN {
		return Duration{}, fmt.Errorf("duration %q is too long", s)
	}
	var u Unit
	switch s[i:] {
	case "d":
		u = Days
	case "wd":
		u = WorkDays
	case "mo":
		u = Months
	case "y":
		u = Years
	case "":
		return Duration{}, fmt.Errorf("duration %q has no unit (d, wd, mo or y)", s)
	default:
		return Duration{}, fmt.Errorf("duration %q has unknown unit %q (want d, wd, mo or y)", s, s[i:])
	}
	if u == Years && n > maxDurationN/366 || u == Months && n > maxDurationN/31 {
		return Duration{}, fmt.Errorf("duration %q is too long", s)
	}
	return Duration{N: n, Unit: u}, nil
}

// IsZero reports whether the duration is unset.
func (d Duration) IsZero() bool { return d.Unit == 0 }

func (d Duration) String() string {
	if d.IsZero() {
		return ""
	}
	return strconv.Itoa(d.N) + unitSuffix[d.Unit]
}

// MarshalText writes the duration as the policy spells it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses the policy spelling.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Date is a calendar date without a time zone, as in a holiday list.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not a valid YYYY-MM-DD date", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// DateOf returns the calendar date of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, dd := t.In(loc).Date()
	return Date{y, m, dd}
}

// Calendar does the policy's date arithmetic: its time zone, the official
// holidays, and the make-up working days that fall on weekends (China moves
// weekend days to join holidays into "golden weeks").
type Calendar struct {
	Loc      *time.Location
	Holidays map[Date]bool
	Workdays map[Date]bool
}

// IsWorkingDay reports whether the date is a working day.
func (c *Calendar) IsWorkingDay(d Date) bool {
	if c.Workdays[d] {
		return true
	}
	if c.Holidays[d] {
		return false
	}
	wd := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Add returns t + d in the calendar. Days, months and years keep the wall
// clock time in the policy's zone; a month or year that lands past the end
// of the month is clamped to its last day. Working days step over weekends
// and holidays: t + 3wd is the same wall clock time on the third working day
// after t's date.
func (c *Calendar) Add(t time.Time, d Duration) time.Time {
	loc := c.Loc
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	y, m, day := lt.Date()
	hh, mm, ss := lt.Clock()
	ns := lt.Nanosecond()
	switch d.Unit {
	case Days:
		return time.Date(y, m, day+d.N, hh, mm, ss, ns, loc)
	case Months, Years:
		months := d.N
		if d.Unit == Years {
			months = 12 * d.N
		}
		total := int(m) - 1 + months
		ny, nm := y+total/12, time.Month(total%12+1)
		if last := daysIn(ny, nm); day > last {
			day = last
		}
		return time.Date(ny, nm, day, hh, mm, ss, ns, loc)
	case WorkDays:
		cur := time.Date(y, m, day, 12, 0, 0, 0, time.UTC)
		for n := 0; n < d.N; {
			cur = cur.AddDate(0, 0, 1)
			if c.IsWorkingDay(Date{cur.Year(), cur.Month(), cur.Day()}) {
				n++
			}
		}
		return time.Date(cur.Year(), cur.Month(), cur.Day(), hh, mm, ss, ns, loc)
	}
	return t
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
