// Package bizhours counts working time: a week of opening hours in the
// company's time zone, minus holidays. Deadlines are "N business hours",
// so a complaint that arrives on Friday evening is due on Monday, not on
// Saturday night.
//
// Invariants:
//   - Opening hours are wall-clock spans of a weekday ("09:00-13:00",
//     "14:00-18:00": a lunch break is two spans). Working time is the real
//     time elapsed inside them, so a span that crosses a DST change counts
//     the hour the clock skipped or repeated as it really passed.
//   - Add and Between agree: for every start and every d >= 0,
//     Between(start, Add(start, d)) == d. Add never returns a time before
//     start, and it ends a duration at the close of a span rather than at
//     the next opening (due "Friday 18:00", not "Monday 09:00").
//   - A Calendar is immutable and safe for concurrent use; the package does
//     no I/O and keeps no state.
package bizhours

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Span is one opening period of a day, as offsets from midnight on the
// wall clock: 0 <= Start < End <= 24h, whole minutes.
type Span struct {
	Start, End time.Duration
}

func (s Span) String() string { return clock(s.Start) + "-" + clock(s.End) }

func clock(d time.Duration) string {
	m := int(d / time.Minute)
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// Date is a calendar day (a holiday), independent of any time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("bizhours: %q is not a date like 2026-12-24", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Options configure New.
type Options struct {
	// Location is the company's time zone; nil means UTC.
	Location *time.Location
	// Week holds the opening spans of each weekday, indexed by
	// time.Weekday (Sunday = 0). A day without spans is closed.
	Week [7][]Span
	// Holidays are closed days whatever their weekday.
	Holidays []Date
}

// Calendar is a checked Options. Build it with New or AlwaysOpen.
type Calendar struct {
	loc      *time.Location
	week     [7][]Span
	holidays map[Date]bool
}

// ErrNeverOpen is returned by New for a week without opening hours: no
// duration could ever be counted.
var ErrNeverOpen = errors.New("bizhours: no opening hours on any weekday")

// New checks o: spans of a day must be whole minutes within the day, in
// order and not overlapping, and some day must have one.
func New(o Options) (*Calendar, error) {
	c := &Calendar{loc: o.Location, holidays: make(map[Date]bool, len(o.Holidays))}
	if c.loc == nil {
		c.loc = time.UTC
	}
	open := false
	for wd, spans := range o.Week {
		if err := checkSpans(spans); err != nil {
			return nil, fmt.Errorf("bizhours: %s: %w", time.Weekday(wd), err)
		}
		c.week[wd] = slices.Clone(spans)
		open = open || len(spans) > 0
	}
	if !open {
		return nil, ErrNeverOpen
	}
	for _, h := range o.Holidays {
		c.holidays[h] = true
	}
	return c, nil
}

func checkSpans(spans []Span) error {
	var prevEnd time.Duration
	for i, s := range spans {
		switch {
		case s.Start%time.Minute != 0 || s.End%time.Minute != 0:
			return fmt.Errorf("span %d: not whole minutes", i)
		case s.Start < 0 || s.End > 24*time.Hour || s.Start >= s.End:
			return fmt.Errorf("span %s: start must be before end, within 00:00-24:00", s)
		case i > 0 && s.Start < prevEnd:
			return fmt.Errorf("span %s overlaps or precedes the one before", s)
		}
		prevEnd = s.End
	}
	return nil
}

// AlwaysOpen is a calendar without closed hours in loc (nil: UTC): working
// time is plain elapsed time.
func AlwaysOpen(loc *time.Location) *Calendar {
	var o Options
	o.Location = loc
	for wd := range o.Week {
		o.Week[wd] = []Span{{0, 24 * time.Hour}}
	}
	c, err := New(o)
	if err != nil {
		panic(err) // the spans above are valid
	}
	return c
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// ParseSpans reads a day's opening hours: "" or "closed" (none),
// "09:00-18:00", or spans separated by commas, "09:00-13:00, 14:00-18:00".
// "24:00" ends a span at midnight.
func ParseSpans(s string) ([]Span, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "closed") {
		return nil, nil
	}
	var spans []Span
	for part := range strings.SplitSeq(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			return nil, fmt.Errorf("bizhours: %q is not a span like 09:00-18:00", part)
		}
		a, errA := parseClock(from)
		b, errB := parseClock(to)
		if err := errors.Join(errA, errB); err != nil {
			return nil, err
		}
		spans = append(spans, Span{a, b})
	}
	if err := checkSpans(spans); err != nil {
		return nil, fmt.Errorf("bizhours: %q: %w", s, err)
	}
	return spans, nil
}

func parseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	hh, mm, ok := strings.Cut(s, ":")
	h, errH := strconv.Atoi(hh)
	m, errM := strconv.Atoi(mm)
	if !ok || errH != nil || errM != nil || len(mm) != 2 || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bizhours: %q is not a time of day like 09:00", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// interval is an opening span placed on the time line.
type interval struct{ from, to time.Time }

// walker yields a calendar's open intervals in time order from the day of
// start on. Successive intervals never overlap, even where a DST change
// makes the wall clock of two spans land on the same instants.
type walker struct {
	c       *Calendar
	day     time.Time // midnight (wall clock) of the current day, in c.loc
	pending []interval
	last    time.Time
}

func (c *Calendar) walk(start time.Time) *walker {
	y, m, d := start.In(c.loc).Date()
	return &walker{c: c, day: time.Date(y, m, d, 0, 0, 0, 0, c.loc)}
}

// next returns the next open interval (after at most maxDays closed days
// in a row, which ends the walk with false).
func (w *walker) next() (interval, bool) {
	for closed := 0; len(w.pending) == 0; closed++ {
		if closed > maxClosedDays {
			return interval{}, false
		}
		w.pending = w.c.intervals(w.day, w.last)
		y, m, d := w.day.Date()
		w.day = time.Date(y, m, d+1, 0, 0, 0, 0, w.c.loc)
	}
	iv := w.pending[0]
	w.pending = w.pending[1:]
	w.last = iv.to
	return iv, true
}

// maxClosedDays bounds a run of closed days (every date of a year a
// holiday is a configuration error, not a reason to loop for ever).
const maxClosedDays = 3 * 366

// intervals places day's spans on the time line, none starting before
// notBefore (the end of the previous interval).
func (c *Calendar) intervals(day time.Time, notBefore time.Time) []interval {
	y, m, d := day.Date()
	if c.holidays[Date{y, m, d}] {
		return nil
	}
	spans := c.week[day.Weekday()]
	out := make([]interval, 0, len(spans))
	for _, s := range spans {
		iv := interval{at(y, m, d, s.Start, c.loc), at(y, m, d, s.End, c.loc)}
		if iv.from.Before(notBefore) {
			iv.from = notBefore
		}
		if iv.to.After(iv.from) {
			out = append(out, iv)
			notBefore = iv.to
		}
	}
	return out
}

func at(y int, m time.Month, d int, off time.Duration, loc *time.Location) time.Time {
	mins := int(off / time.Minute)
	return time.Date(y, m, d, mins/60, mins%60, 0, 0, loc)
}

// Add returns the time when d of working time has passed after start. A
// start outside opening hours counts from the next opening. d <= 0 returns
// start.
func (c *Calendar) Add(start time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return start
	}
	w := c.walk(start)
	for {
		iv, ok := w.next()
		if !ok {
			return start.Add(d) // never open again: plain time is all there is
		}
		if !iv.to.After(start) {
			continue
		}
		from := later(iv.from, start)
		if avail := iv.to.Sub(from); d <= avail {
			return from.Add(d)
		} else {
			d -= avail
		}
	}
}

// Between returns the working time from a to b; negative when b is
// before a (time overdue).
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if b.Before(a) {
		return -c.Between(b, a)
	}
	var sum time.Duration
	w := c.walk(a)
	for {
		iv, ok := w.next()
		if !ok || !iv.from.Before(b) {
			return sum
		}
		from, to := later(iv.from, a), earlier(iv.to, b)
		if to.After(from) {
			sum += to.Sub(from)
		}
	}
}

// IsOpen reports whether t is within opening hours.
func (c *Calendar) IsOpen(t time.Time) bool {
	return c.Between(t, t.Add(time.Nanosecond)) > 0
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
