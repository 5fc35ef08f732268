package bizhours

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func vilnius(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Vilnius")
	if err != nil {
		t.Fatalf("LoadLocation: %v", err)
	}
	return loc
}

func mustSpans(t testing.TB, s string) []Span {
	t.Helper()
	spans, err := ParseSpans(s)
	if err != nil {
		t.Fatalf("ParseSpans(%q): %v", s, err)
	}
	return spans
}

// officeWeek is Mon-Fri with the given hours, Saturday and Sunday closed.
func officeWeek(t testing.TB, hours string) [7][]Span {
	var w [7][]Span
	for wd := time.Monday; wd <= time.Friday; wd++ {
		w[wd] = mustSpans(t, hours)
	}
	return w
}

func newCal(t testing.TB, o Options) *Calendar {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// lithuanian is the calendar most tests use: Vilnius, Mon-Fri 09:00-18:00,
// with Christmas Eve, Christmas and the Restoration of the State (Mon
// 2026-02-16) as holidays.
func lithuanian(t testing.TB, hours string) *Calendar {
	return newCal(t, Options{
		Location: vilnius(t),
		Week:     officeWeek(t, hours),
		Holidays: []Date{{2026, 2, 16}, {2026, 12, 24}, {2026, 12, 25}},
	})
}

func TestAdd(t *testing.T) {
	loc := vilnius(t)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		return v
	}
	plain := lithuanian(t, "09:00-18:00")
	lunch := lithuanian(t, "09:00-13:00, 14:00-18:00")
	h := time.Hour
	for _, tc := range []struct {
		name  string
		cal   *Calendar
		start string
		d     time.Duration
		want  string
	}{
		{"within a day", plain, "2026-03-10 10:00", 4 * h, "2026-03-10 14:00"},
		{"ends exactly at closing, not next morning", plain, "2026-03-10 14:00", 4 * h, "2026-03-10 18:00"},
		{"overnight", plain, "2026-03-10 16:00", 4 * h, "2026-03-11 11:00"},
		{"start before opening", plain, "2026-03-10 06:30", 2 * h, "2026-03-10 11:00"},
		{"start after closing", plain, "2026-03-10 21:00", 2 * h, "2026-03-11 11:00"},
		{"friday evening to monday", plain, "2026-03-06 17:00", 4 * h, "2026-03-09 12:00"},
		{"saturday start", plain, "2026-03-07 12:00", 1 * h, "2026-03-09 10:00"},
		{"sunday start", plain, "2026-03-08 23:59", 30 * time.Minute, "2026-03-09 09:30"},
		{"monday holiday skipped", plain, "2026-02-13 17:00", 2 * h, "2026-02-17 10:00"},
		{"christmas skipped", plain, "2026-12-23 17:00", 2 * h, "2026-12-28 10:00"},
		{"lunch break skipped", lunch, "2026-03-10 12:00", 2 * h, "2026-03-10 15:00"},
		{"start in lunch break", lunch, "2026-03-10 13:30", 1 * h, "2026-03-10 15:00"},
		{"ends at lunch", lunch, "2026-03-10 09:00", 4 * h, "2026-03-10 13:00"},
		{"one working week", plain, "2026-03-09 09:00", 45 * h, "2026-03-13 18:00"},
		{"three weeks", plain, "2026-03-09 09:00", 135 * h, "2026-03-27 18:00"},
		{"three weeks and an hour, over DST", plain, "2026-03-09 09:00", 136 * h, "2026-03-30 10:00"},
		{"DST spring: friday to monday", plain, "2026-03-27 17:00", 2 * h, "2026-03-30 10:00"},
		{"DST autumn: friday to monday", plain, "2026-10-23 17:30", 1 * h, "2026-10-26 09:30"},
		{"multi-week over christmas", plain, "2026-12-14 09:00", 90 * h, "2026-12-29 18:00"},
		{"zero", plain, "2026-03-07 12:00", 0, "2026-03-07 12:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.cal.Add(at(tc.start), tc.d)
			if want := at(tc.want); !got.Equal(want) {
				t.Errorf("Add(%s, %s) = %s, want %s", tc.start, tc.d, got.In(loc).Format("Mon 2006-01-02 15:04 MST"), want.Format("Mon 2006-01-02 15:04 MST"))
			}
			if back := tc.cal.Between(at(tc.start), got); back != tc.d {
				t.Errorf("Between(start, Add(start, %s)) = %s", tc.d, back)
			}
		})
	}
}

// TestDST checks days on which the wall clock jumps: working time is the
// time that really passed inside the opening hours.
func TestDST(t *testing.T) {
	loc := vilnius(t)
	var allWeek, night [7][]Span
	for wd := range allWeek {
		allWeek[wd] = mustSpans(t, "00:00-24:00")
		night[wd] = mustSpans(t, "02:00-05:00")
	}
	always := newCal(t, Options{Location: loc, Week: allWeek})
	nights := newCal(t, Options{Location: loc, Week: night})
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, loc) }
	for _, tc := range []struct {
		name string
		cal  *Calendar
		a, b time.Time
		want time.Duration
	}{
		{"spring day has 23 hours", always, day(2026, 3, 29), day(2026, 3, 30), 23 * time.Hour},
		{"autumn day has 25 hours", always, day(2026, 10, 25), day(2026, 10, 26), 25 * time.Hour},
		{"ordinary day", always, day(2026, 3, 28), day(2026, 3, 29), 24 * time.Hour},
		{"spring night shift 02-05 is 2h", nights, day(2026, 3, 29), day(2026, 3, 30), 2 * time.Hour},
		{"autumn night shift 02-05 is 4h", nights, day(2026, 10, 25), day(2026, 10, 26), 4 * time.Hour},
		{"night shifts of a week across spring", nights, day(2026, 3, 26), day(2026, 4, 2), 20 * time.Hour},
		{"reversed is negative", always, day(2026, 10, 26), day(2026, 10, 25), -25 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cal.Between(tc.a, tc.b); got != tc.want {
				t.Errorf("Between = %s, want %s", got, tc.want)
			}
		})
	}
	// 24h of an always-open calendar is 24 real hours: the wall clock
	// shows 13:00 the next day in spring and 11:00 in autumn.
	for _, tc := range []struct {
		start time.Time
		want  string
	}{
		{time.Date(2026, 3, 28, 12, 0, 0, 0, loc), "2026-03-29 13:00 EEST"},
		{time.Date(2026, 10, 24, 12, 0, 0, 0, loc), "2026-10-25 11:00 EET"},
	} {
		if got := always.Add(tc.start, 24*time.Hour).In(loc).Format("2006-01-02 15:04 MST"); got != tc.want {
			t.Errorf("Add(%s, 24h) = %s, want %s", tc.start, got, tc.want)
		}
	}
	// A night shift starting inside the skipped hour: 02:30 + 1h of
	// working time ends at 04:30 EEST (02:30-03:00 and 04:00-04:30).
	got := nights.Add(time.Date(2026, 3, 29, 2, 30, 0, 0, loc), time.Hour)
	if want := time.Date(2026, 3, 29, 4, 30, 0, 0, loc); !got.Equal(want) {
		t.Errorf("spring night: %s, want %s", got.In(loc), want)
	}
}

func TestTimeZoneOfStart(t *testing.T) {
	cal := lithuanian(t, "09:00-18:00")
	// 06:30 UTC on a Tuesday in March is 08:30 in Vilnius: before opening.
	got := cal.Add(time.Date(2026, 3, 10, 6, 30, 0, 0, time.UTC), time.Hour)
	if want := time.Date(2026, 3, 10, 10, 0, 0, 0, vilnius(t)); !got.Equal(want) {
		t.Errorf("Add from UTC = %s, want %s", got, want)
	}
	// 23:30 UTC on Friday is 01:30 Saturday in Vilnius: closed until Monday.
	got = cal.Add(time.Date(2026, 3, 6, 23, 30, 0, 0, time.UTC), time.Hour)
	if want := time.Date(2026, 3, 9, 10, 0, 0, 0, vilnius(t)); !got.Equal(want) {
		t.Errorf("Add from Friday night UTC = %s, want %s", got, want)
	}
	// The same instant in New York (the evening before) changes nothing.
	ny, _ := time.LoadLocation("America/New_York")
	start := time.Date(2026, 3, 10, 6, 30, 0, 0, time.UTC)
	if a, b := cal.Add(start, 3*time.Hour), cal.Add(start.In(ny), 3*time.Hour); !a.Equal(b) {
		t.Errorf("start's zone changed the result: %s vs %s", a, b)
	}
}

func TestBetween(t *testing.T) {
	loc := vilnius(t)
	cal := lithuanian(t, "09:00-13:00, 14:00-18:00")
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, loc) }
	for _, tc := range []struct {
		name string
		a, b time.Time
		want time.Duration
	}{
		{"same instant", at(3, 10, 10, 0), at(3, 10, 10, 0), 0},
		{"over lunch", at(3, 10, 12, 0), at(3, 10, 15, 0), 2 * time.Hour},
		{"whole weekend", at(3, 7, 0, 0), at(3, 9, 0, 0), 0},
		{"week", at(3, 9, 0, 0), at(3, 16, 0, 0), 40 * time.Hour},
		{"week with a holiday", at(2, 16, 0, 0), at(2, 23, 0, 0), 32 * time.Hour},
		{"overdue", at(3, 11, 10, 0), at(3, 10, 17, 0), -2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cal.Between(tc.a, tc.b); got != tc.want {
				t.Errorf("Between = %s, want %s", got, tc.want)
			}
		})
	}
	if !cal.IsOpen(at(3, 10, 9, 0)) || cal.IsOpen(at(3, 10, 13, 30)) || cal.IsOpen(at(3, 10, 18, 0)) || cal.IsOpen(at(12, 24, 10, 0)) {
		t.Error("IsOpen wrong at opening, lunch, closing or a holiday")
	}
}

func TestParseSpans(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // joined spans, or "error: <part of it>"
	}{
		{"09:00-18:00", "09:00-18:00"},
		{" 09:00-13:00 , 14:00-18:00 ", "09:00-13:00 14:00-18:00"},
		{"", ""},
		{"closed", ""},
		{"00:00-24:00", "00:00-24:00"},
		{"9:00-18:00", "09:00-18:00"},
		{"18:00-09:00", "error: start must be before end"},
		{"09:00-13:00,12:00-18:00", "error: overlaps"},
		{"09:00-24:30", "error: not a time of day"},
		{"09-18", "error: not a time of day"},
		{"0900-1800", "error: not a time of day"},
		{"09:00", "error: not a span"},
		{"09:60-10:00", "error: not a time of day"},
	} {
		spans, err := ParseSpans(tc.in)
		var got string
		if err != nil {
			got = "error: " + err.Error()
		} else {
			var parts []string
			for _, s := range spans {
				parts = append(parts, s.String())
			}
			got = strings.Join(parts, " ")
		}
		if got != tc.want && !(strings.HasPrefix(tc.want, "error: ") && strings.Contains(got, strings.TrimPrefix(tc.want, "error: "))) {
			t.Errorf("ParseSpans(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := New(Options{}); !errors.Is(err, ErrNeverOpen) {
		t.Errorf("empty week: %v, want ErrNeverOpen", err)
	}
	var w [7][]Span
	w[time.Monday] = []Span{{10 * time.Hour, 9 * time.Hour}}
	if _, err := New(Options{Week: w}); err == nil || !strings.Contains(err.Error(), "Monday") {
		t.Errorf("backwards span: %v, want an error naming Monday", err)
	}
	w[time.Monday] = []Span{{9*time.Hour + time.Second, 10 * time.Hour}}
	if _, err := New(Options{Week: w}); err == nil {
		t.Error("span not in whole minutes accepted")
	}
}

func TestParseDate(t *testing.T) {
	d, err := ParseDate("2026-12-24")
	if err != nil || d != (Date{2026, 12, 24}) || d.String() != "2026-12-24" {
		t.Errorf("ParseDate = %v, %v", d, err)
	}
	for _, bad := range []string{"24.12.2026", "2026-13-01", "2026-02-30", ""} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}

// calendars used by the property and fuzz tests: office hours with lunch
// and holidays in Vilnius, night shifts across DST, an always-open one, a
// single short weekly window.
func propertyCalendars(t testing.TB) []*Calendar {
	loc := vilnius(t)
	var night, once [7][]Span
	for wd := range night {
		night[wd] = mustSpans(t, "02:00-05:00, 22:00-24:00")
	}
	once[time.Wednesday] = mustSpans(t, "11:15-11:45")
	return []*Calendar{
		lithuanian(t, "09:00-13:00, 14:00-18:00"),
		newCal(t, Options{Location: loc, Week: night, Holidays: []Date{{2026, 3, 29}, {2026, 10, 26}}}),
		AlwaysOpen(loc),
		newCal(t, Options{Location: loc, Week: once}),
	}
}

// TestAddBetweenProperty: for random starts across 2026 (both DST changes
// included) and random durations up to about ten weeks of that calendar's
// calendar time, Add then Between gives the duration back, Add never goes
// backwards, and the result lies inside opening hours (or at the close of
// a span).
func TestAddBetweenProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 2026))
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	maxD := []time.Duration{400 * time.Hour, 350 * time.Hour, 1700 * time.Hour, 5 * time.Hour}
	for ci, cal := range propertyCalendars(t) {
		for range 2000 {
			start := year.Add(time.Duration(rng.Int64N(int64(366 * 24 * time.Hour))))
			d := time.Duration(rng.Int64N(int64(maxD[ci])))
			checkAdd(t, ci, cal, start, d)
		}
	}
}

func checkAdd(t testing.TB, ci int, cal *Calendar, start time.Time, d time.Duration) {
	t.Helper()
	end := cal.Add(start, d)
	if end.Before(start) {
		t.Fatalf("calendar %d: Add(%s, %s) = %s is before start", ci, start, d, end)
	}
	if got := cal.Between(start, end); got != d {
		t.Fatalf("calendar %d: Between(%s, Add(.., %s) = %s) = %s", ci, start, d, end, got)
	}
	if d > 0 && !cal.IsOpen(end.Add(-time.Nanosecond)) {
		t.Fatalf("calendar %d: Add(%s, %s) = %s ends outside opening hours", ci, start, d, end)
	}
}

func FuzzAdd(f *testing.F) {
	f.Add(int64(1774742400), int64(time.Hour), uint8(0))   // 2026-03-29 00:00 UTC
	f.Add(int64(1792886400), int64(3*time.Hour), uint8(1)) // 2026-10-25 00:00 UTC
	f.Add(int64(0), int64(0), uint8(2))
	f.Add(int64(1767225600), int64(500*time.Hour), uint8(3))
	cals := propertyCalendars(f)
	f.Fuzz(func(t *testing.T, unix, d int64, which uint8) {
		// Starts within 1900-2200 and durations up to 2000 working hours
		// (a year of office hours, 80 years of the weekly half hour).
		const lo, hi = -2208988800, 7258118400
		if unix < lo || unix > hi || d < 0 || d > int64(2000*time.Hour) {
			t.Skip()
		}
		checkAdd(t, int(which)%len(cals), cals[int(which)%len(cals)], time.Unix(unix, 0), time.Duration(d))
	})
}

func BenchmarkAddTwoWeeks(b *testing.B) {
	cal := lithuanian(b, "09:00-13:00, 14:00-18:00")
	start := time.Date(2026, 3, 20, 15, 0, 0, 0, time.UTC)
	for b.Loop() {
		cal.Add(start, 80*time.Hour)
	}
}
