"""The working time left on clocks, on the business calendar: what a countdown on a
work-order screen reads (剩余 1 个工作日 3 小时 / 已超时 2 小时). Pure code.

* `working_minutes_left`: the working minutes from `at` until the due time; once the due time
  has passed, minus the working minutes since it (so overdue by 2 working hours is -120,
  whatever lunch breaks, nights, weekends or holidays lie between).
* `overdue`: the due time has passed. A clock due at Monday's opening seen on Sunday has
  0 working minutes left and is not overdue; one due at Friday's close seen on Saturday is
  overdue by 0 working minutes.
* Counting is arithmetic on whole days (weekdays plus the calendar's edited days), so a
  due far away costs no more than one nearby: 500 dues decades out answer at once.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.routing.domain.calendar import BusinessCalendar, CalendarError


@dataclass(frozen=True)
class TimeLeft:
    due: datetime
    working_minutes_left: float
    overdue: bool


def time_left(calendar: BusinessCalendar, dues: Iterable[datetime], at: datetime) -> list[TimeLeft]:
    """For each due time, in order: the working minutes left at `at` (negative when overdue)."""
    if at.tzinfo is None:
        raise CalendarError("at must carry a time zone offset")
    counter = WorkingTime(calendar)
    answers = []
    for due in dues:
        if due.tzinfo is None:
            raise CalendarError("a due time must carry a time zone offset")
        if due > at:
            answers.append(TimeLeft(due, counter.minutes_between(at, due), overdue=False))
        else:
            answers.append(TimeLeft(due, -counter.minutes_between(due, at), overdue=True))
    return answers


class WorkingTime:
    """`BusinessCalendar.working_minutes_between`, counted by whole days in between."""

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        edited = sorted(calendar.overrides.items())
        self._days = [day for day, _ in edited]
        # +1 for an edited weekend day that is worked, -1 for an edited weekday off; 0 otherwise.
        self._delta = [int(workday) - int(day.weekday() < 5) for day, workday in edited]
        self._cumulative = [0]
        for delta in self._delta:
            self._cumulative.append(self._cumulative[-1] + delta)

    def minutes_between(self, start: datetime, end: datetime) -> float:
        if end <= start:
            return 0.0
        tz = self.calendar.tz
        a, b = start.astimezone(tz), end.astimezone(tz)
        first, last = a.date(), b.date()
        if first == last:
            return self._within_day(first, a, b)
        total = self._within_day(first, a, None) + self._within_day(last, None, b)
        whole_days = self.workdays(first + timedelta(days=1), last)
        return total + whole_days * self.calendar.minutes_per_day

    def workdays(self, first: date, stop: date) -> int:
        """Working days in [first, stop)."""
        if stop <= first:
            return 0
        count = _weekdays(first, stop)
        lo, hi = bisect_left(self._days, first), bisect_left(self._days, stop)
        return count + self._cumulative[hi] - self._cumulative[lo]

    def _within_day(self, day: date, lo: datetime | None, hi: datetime | None) -> float:
        if not self.calendar.is_workday(day):
            return 0.0
        tz, total = self.calendar.tz, timedelta()
        for period_start, period_end in self.calendar.periods:
            begin = datetime.combine(day, period_start, tz)
            finish = datetime.combine(day, period_end, tz)
            begin = max(begin, lo) if lo is not None else begin
            finish = min(finish, hi) if hi is not None else finish
            if finish > begin:
                total += finish - begin
        return total.total_seconds() / 60


def _weekdays(first: date, stop: date) -> int:
    """Monday-to-Friday days in [first, stop)."""
    days = (stop - first).days
    weeks, rest = divmod(days, 7)
    start = first.weekday()
    return weeks * 5 + sum(1 for i in range(rest) if (start + i) % 7 < 5)
