package policy_test

import (
	"strings"
	"testing"
	"time"

	"credo/policy"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want policy.Duration
		err  string // a phrase of the error; "" for none
	}{
		{"10d", policy.Duration{N: 10, Unit: policy.Days}, ""},
		{"0d", policy.Duration{N: 0, Unit: policy.Days}, ""},
		{"3wd", policy.Duration{N: 3, Unit: policy.WorkDays}, ""},
		{"6mo", policy.Duration{N: 6, Unit: policy.Months}, ""},
		{"2y", policy.Duration{N: 2, Unit: policy.Years}, ""},
		{"007d", policy.Duration{N: 7, Unit: policy.Days}, ""},
		{"36600d", policy.Duration{N: 36600, Unit: policy.Days}, ""},
		{"100y", policy.Duration{N: 100, Unit: policy.Years}, ""},
		{"1180mo", policy.Duration{N: 1180, Unit: policy.Months}, ""},
		{"", policy.Duration{}, "must start with a number"},
		{"d", policy.Duration{}, "must start with a number"},
		{"-1d", policy.Duration{}, "must start with a number"},
		{"+1d", policy.Duration{}, "must start with a number"},
		{" 1d", policy.Duration{}, "must start with a number"},
		{"1.5y", policy.Duration{}, `unknown unit ".5y"`},
		{"10", policy.Duration{}, "has no unit"},
		{"10D", policy.Duration{}, `unknown unit "D"`},
		{"10 d", policy.Duration{}, `unknown unit " d"`},
		{"10days", policy.Duration{}, `unknown unit "days"`},
		{"2m", policy.Duration{}, `unknown unit "m"`},
		{"1w", policy.Duration{}, `unknown unit "w"`},
		{"36601d", policy.Duration{}, "too long"},
		{"101y", policy.Duration{}, "too long"},
		{"1181mo", policy.Duration{}, "too long"},
		{"99999999999999999999999d", policy.Duration{}, "too long"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := policy.ParseDuration(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseDuration(%q) error = %v, want one containing %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseDuration(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	for _, tc := range []struct {
		d    policy.Duration
		want string
	}{
		{policy.Duration{}, ""},
		{policy.Duration{N: 10, Unit: policy.Days}, "10d"},
		{policy.Duration{N: 3, Unit: policy.WorkDays}, "3wd"},
		{policy.Duration{N: 6, Unit: policy.Months}, "6mo"},
		{policy.Duration{N: 2, Unit: policy.Years}, "2y"},
		{policy.Duration{N: 0, Unit: policy.Days}, "0d"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.d.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if got, want := tc.d.IsZero(), tc.want == ""; got != want {
				t.Errorf("IsZero() = %v, want %v", got, want)
			}
			b, err := tc.d.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tc.want {
				t.Errorf("MarshalText() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDurationUnmarshalText(t *testing.T) {
	var d policy.Duration
	if err := d.UnmarshalText([]byte(" 3wd ")); err != nil {
		t.Fatal(err)
	}
	if got, want := d, (policy.Duration{N: 3, Unit: policy.WorkDays}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if err := d.UnmarshalText([]byte("3 weeks")); err == nil {
		t.Errorf("no error for 3 weeks")
	}
}

// shanghai is the calendar of the example policy for 2026: the holidays
// and make-up working days of the State Council notice.
func shanghai(t testing.TB) *policy.Calendar {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	c := &policy.Calendar{Loc: loc, Holidays: map[policy.Date]bool{}, Workdays: map[policy.Date]bool{}}
	for _, s := range []string{
		"2026-01-01", "2026-01-02", "2026-01-03",
		"2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23",
		"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07",
	} {
		c.Holidays[mustDate(t, s)] = true
	}
	for _, s := range []string{"2026-01-04", "2026-02-14", "2026-02-28", "2026-09-20", "2026-10-10"} {
		c.Workdays[mustDate(t, s)] = true
	}
	return c
}

func mustDate(t testing.TB, s string) policy.Date {
	t.Helper()
	d, err := policy.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustDuration(t testing.TB, s string) policy.Duration {
	t.Helper()
	d, err := policy.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCalendarAdd(t *testing.T) {
	cal := shanghai(t)
	cst := cal.Loc
	at := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, cst) }
	for _, tc := range []struct {
		name string
		from time.Time
		d    string
		want time.Time
	}{
		// Calendar days keep the wall clock time.
		{"Days", at(2026, 3, 10, 9, 30), "10d", at(2026, 3, 20, 9, 30)},
		{"DaysAcrossMonth", at(2026, 1, 31, 9, 0), "1d", at(2026, 2, 1, 9, 0)},
		{"DaysAcrossYear", at(2025, 12, 25, 9, 0), "15d", at(2026, 1, 9, 9, 0)},
		{"DaysLeapYear", at(2028, 2, 28, 9, 0), "1d", at(2028, 2, 29, 9, 0)},
		{"ZeroDays", at(2026, 3, 10, 9, 30), "0d", at(2026, 3, 10, 9, 30)},

		// Months clamp to the end of a shorter month.
		{"Months", at(2026, 3, 15, 9, 0), "6mo", at(2026, 9, 15, 9, 0)},
		{"MonthsJan31", at(2026, 1, 31, 9, 0), "1mo", at(2026, 2, 28, 9, 0)},
		{"MonthsJan31Leap", at(2028, 1, 31, 9, 0), "1mo", at(2028, 2, 29, 9, 0)},
		{"MonthsOct31", at(2026, 10, 31, 9, 0), "1mo", at(2026, 11, 30, 9, 0)},
		{"MonthsAug31", at(2026, 8, 31, 9, 0), "3mo", at(2026, 11, 30, 9, 0)},
		{"MonthsAcrossYear", at(2026, 12, 15, 9, 0), "1mo", at(2027, 1, 15, 9, 0)},
		{"MonthsTwelve", at(2026, 5, 20, 9, 0), "12mo", at(2027, 5, 20, 9, 0)},
		{"MonthsMany", at(2026, 11, 30, 9, 0), "27mo", at(2029, 2, 28, 9, 0)},

		// Years: Feb 29 becomes Feb 28 in a common year.
		{"Years", at(2026, 4, 1, 0, 0), "5y", at(2031, 4, 1, 0, 0)},
		{"YearsFeb29", at(2024, 2, 29, 9, 0), "1y", at(2025, 2, 28, 9, 0)},
		{"YearsFeb29Leap", at(2024, 2, 29, 9, 0), "4y", at(2028, 2, 29, 9, 0)},
		{"YearsCentury", at(2096, 2, 29, 9, 0), "4y", at(2100, 2, 28, 9, 0)},

		// Working days skip weekends and holidays and count make-up days.
		{"WorkDays", at(2026, 3, 10, 9, 0), "3wd", at(2026, 3, 13, 9, 0)},                   // Tue -> Fri
		{"WorkDaysWeekend", at(2026, 3, 13, 9, 0), "1wd", at(2026, 3, 16, 9, 0)},            // Fri -> Mon
		{"WorkDaysWeekend3", at(2026, 3, 12, 9, 0), "3wd", at(2026, 3, 17, 9, 0)},           // Thu -> Tue
		{"WorkDaysFromSaturday", at(2026, 3, 14, 9, 0), "1wd", at(2026, 3, 16, 9, 0)},       // Sat -> Mon
		{"WorkDaysNationalDay", at(2026, 9, 30, 17, 0), "1wd", at(2026, 10, 8, 17, 0)},      // Oct 1-7 off
		{"WorkDaysNationalDay3", at(2026, 9, 30, 17, 0), "3wd", at(2026, 10, 10, 17, 0)},    // Thu 8, Fri 9, Sat 10 (make-up)
		{"WorkDaysMakeUpSunday", at(2026, 9, 18, 9, 0), "1wd", at(2026, 9, 20, 9, 0)},       // Fri -> Sun 20 (make-up)
		{"WorkDaysMakeUpSaturday", at(2026, 10, 9, 9, 0), "1wd", at(2026, 10, 10, 9, 0)},    // Fri -> Sat 10 (make-up)
		{"WorkDaysSpringFestival", at(2026, 2, 13, 9, 0), "2wd", at(2026, 2, 24, 9, 0)},     // Sat 14 (make-up), then Tue 24
		{"WorkDaysNewYear", at(2025, 12, 31, 9, 0), "1wd", at(2026, 1, 4, 9, 0)},            // Jan 1-3 off, Sun 4 make-up
		{"WorkDaysTen", at(2026, 9, 25, 9, 0), "10wd", at(2026, 10, 15, 9, 0)},              // the NDRC repair deadline: Sep 28-30, Oct 8-10, 12-15
		{"ZeroWorkDaysOnHoliday", at(2026, 10, 3, 9, 0), "0wd", at(2026, 10, 3, 9, 0)},      // no step: same instant
		{"WorkDaysFromHoliday", at(2026, 10, 3, 9, 0), "1wd", at(2026, 10, 8, 9, 0)},        // Sat 3 (holiday) -> Thu 8
		{"WorkDaysAcrossYearEnd", at(2026, 12, 31, 9, 0), "1wd", at(2027, 1, 1, 9, 0)},      // no 2027 dates: Jan 1 counts
		{"WorkDaysKeepsClock", at(2026, 3, 13, 23, 59), "1wd", at(2026, 3, 16, 23, 59)},     // Fri 23:59 -> Mon 23:59
		{"WorkDaysMidnight", at(2026, 3, 14, 0, 0), "1wd", at(2026, 3, 16, 0, 0)},           // Sat 00:00 -> Mon 00:00
		{"DaysIntoMakeUp", at(2026, 10, 9, 9, 0), "1d", at(2026, 10, 10, 9, 0)},             // calendar days ignore it all
		{"DaysOverHoliday", at(2026, 9, 30, 9, 0), "1d", at(2026, 10, 1, 9, 0)},             // calendar days ignore it all
		{"MonthsOverHoliday", at(2026, 9, 1, 9, 0), "1mo", at(2026, 10, 1, 9, 0)},           // so do months
		{"WorkDaysFromMakeUp", at(2026, 10, 10, 9, 0), "1wd", at(2026, 10, 12, 9, 0)},       // Sat 10 (make-up) -> Mon 12
		{"WorkDaysLong", at(2026, 1, 5, 9, 0), "250wd", at(2026, 12, 30, 9, 0)},             // 251 working days follow Jan 5 in this calendar
		{"WorkDaysOverFeb", at(2026, 2, 27, 9, 0), "1wd", at(2026, 2, 28, 9, 0)},            // Fri -> Sat 28 (make-up)
		{"WorkDaysOverFebWeekend", at(2026, 2, 28, 9, 0), "1wd", at(2026, 3, 2, 9, 0)},      // Sat 28 -> Mon 2
		{"WorkDaysInUTCInstant", at(2026, 3, 13, 8, 0).UTC(), "1wd", at(2026, 3, 16, 8, 0)}, // the zone of t does not matter

		// Near midnight: 23:30 UTC is already the next day in Shanghai,
		// and the arithmetic is in Shanghai.
		{"MidnightDays", time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), "1d", at(2026, 2, 2, 7, 30)},
		{"MidnightMonths", time.Date(2026, 1, 30, 23, 30, 0, 0, time.UTC), "1mo", at(2026, 2, 28, 7, 30)},
		{"MidnightMonthsNextDay", time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), "1mo", at(2026, 3, 1, 7, 30)},
		{"MidnightYears", time.Date(2024, 2, 28, 23, 30, 0, 0, time.UTC), "1y", at(2025, 2, 28, 7, 30)},
		// Fri 9 Oct 23:30 UTC is Sat 10 Oct 07:30 in Shanghai, a make-up
		// working day; the next working day is Mon 12, not Sat 10.
		{"MidnightWorkDays", time.Date(2026, 10, 9, 23, 30, 0, 0, time.UTC), "1wd", at(2026, 10, 12, 7, 30)},
		// Wed 30 Sep 16:30 UTC is Thu 1 Oct 00:30 in Shanghai, a holiday.
		{"MidnightWorkDaysHoliday", time.Date(2026, 9, 30, 16, 30, 0, 0, time.UTC), "1wd", at(2026, 10, 8, 0, 30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cal.Add(tc.from, mustDuration(t, tc.d))
			if !got.Equal(tc.want) {
				t.Errorf("%v + %s = %v, want %v", tc.from.In(cst), tc.d, got.In(cst), tc.want)
			}
			if got.Location() != cst {
				t.Errorf("result in %v, want %v", got.Location(), cst)
			}
		})
	}
}

func TestCalendarAddNoZone(t *testing.T) {
	// A calendar without a zone does its arithmetic in UTC.
	cal := &policy.Calendar{}
	from := time.Date(2026, 10, 9, 23, 30, 0, 0, time.UTC) // Fri
	if got, want := cal.Add(from, mustDuration(t, "1wd")), time.Date(2026, 10, 12, 23, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got, want := cal.Add(from, policy.Duration{}), from; !got.Equal(want) {
		t.Errorf("zero duration: got %v, want %v", got, want)
	}
}

func TestCalendarIsWorkingDay(t *testing.T) {
	cal := shanghai(t)
	for _, tc := range []struct {
		date string
		want bool
	}{
		{"2026-03-13", true},  // Friday
		{"2026-03-14", false}, // Saturday
		{"2026-03-15", false}, // Sunday
		{"2026-10-01", false}, // National Day, Thursday
		{"2026-10-03", false}, // National Day, Saturday
		{"2026-10-10", true},  // make-up Saturday
		{"2026-09-20", true},  // make-up Sunday
		{"2026-02-16", false}, // Spring Festival, Monday
	} {
		t.Run(tc.date, func(t *testing.T) {
			if got := cal.IsWorkingDay(mustDate(t, tc.date)); got != tc.want {
				t.Errorf("IsWorkingDay(%s) = %v, want %v", tc.date, got, tc.want)
			}
		})
	}
}

func TestDateOf(t *testing.T) {
	cal := shanghai(t)
	for _, tc := range []struct {
		name string
		t    time.Time
		want string
	}{
		{"BeforeMidnightUTC", time.Date(2026, 9, 30, 15, 59, 0, 0, time.UTC), "2026-09-30"},
		{"AfterMidnightShanghai", time.Date(2026, 9, 30, 16, 0, 0, 0, time.UTC), "2026-10-01"},
		{"LateUTC", time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), "2027-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := policy.DateOf(tc.t, cal.Loc).String(); got != tc.want {
				t.Errorf("DateOf = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026-01-01", true},
		{"2028-02-29", true},
		{"2026-02-29", false},
		{"2026-02-30", false},
		{"2026-1-1", false},
		{"2026/01/01", false},
		{"", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := policy.ParseDate(tc.in)
			if got := err == nil; got != tc.ok {
				t.Fatalf("ParseDate(%q) error = %v, want ok %v", tc.in, err, tc.ok)
			}
			if tc.ok && d.String() != tc.in {
				t.Errorf("String() = %q, want %q", d.String(), tc.in)
			}
		})
	}
}
