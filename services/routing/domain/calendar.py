"""The business calendar: working days (weekends, public holidays and make-up working days
as editable data) and working hours, and due times counted on it. Pure code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Unit = Literal["working_days", "working_hours", "hours"]
UNITS: tuple[Unit, ...] = ("working_days", "working_hours", "hours")
DEFAULT_PERIODS = ((time(9, 0), time(12, 0)), (time(13, 30), time(18, 0)))
# Far enough for any real deadline; a calendar with no working day at all must not loop forever.
MAX_SEARCH_DAYS = 3 * 366


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class BusinessCalendar:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    # date → True (a working day, e.g. a make-up Saturday) or False (a holiday).
    overrides: Mapping[date, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        previous_end = time(0, 0)
        for start, end in self.periods:
            if not (previous_end <= start < end):
                raise CalendarError("working periods must be ordered and must not overlap")
            previous_end = end

    @property
    def minutes_per_day(self) -> float:
        return sum(_minutes(s, e) for s, e in self.periods)

    def is_workday(self, day: date) -> bool:
        return self.overrides.get(day, day.weekday() < 5)

    def add(self, start: datetime, amount: float, unit: Unit) -> datetime:
        """The due time `amount` `unit`s after `start`, in the calendar's time zone."""
        if start.tzinfo is None:
            raise CalendarError("start must carry a time zone offset")
        if amount < 0:
            raise CalendarError("amount must not be negative")
        local = start.astimezone(self.tz)
        if unit == "hours":
            return local + timedelta(hours=amount)
        if unit == "working_hours":
            return self.add_working_minutes(local, amount * 60)
        if unit == "working_days":
            # A working day is a day's worth of working time: Friday 17:00 + 1 day = Monday 17:00.
            return self.add_working_minutes(local, amount * self.minutes_per_day)
        raise CalendarError(f"unknown unit {unit!r}")

    def add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        cursor = start.astimezone(self.tz)
        remaining = timedelta(minutes=minutes)
        day = cursor.date()
        for _ in range(MAX_SEARCH_DAYS):
            if self.is_workday(day):
                for period_start, period_end in self.periods:
                    window_start = max(datetime.combine(day, period_start, self.tz), cursor)
                    window_end = datetime.combine(day, period_end, self.tz)
                    if window_end <= window_start:
                        continue
                    if remaining <= window_end - window_start:
                        return window_start + remaining
                    remaining -= window_end - window_start
            day += timedelta(days=1)
            cursor = datetime.combine(day, time(0, 0), self.tz)
        raise CalendarError(f"no working time within {MAX_SEARCH_DAYS} days")

    def working_minutes_between(self, start: datetime, end: datetime) -> float:
        """Working time between two instants (for pausing clocks while waiting on the person)."""
        if end <= start:
            return 0.0
        a, b = start.astimezone(self.tz), end.astimezone(self.tz)
        total = timedelta()
        day = a.date()
        while day <= b.date():
            if self.is_workday(day):
                for period_start, period_end in self.periods:
                    lo = max(datetime.combine(day, period_start, self.tz), a)
                    hi = min(datetime.combine(day, period_end, self.tz), b)
                    if hi > lo:
                        total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 60


def _minutes(a: time, b: time) -> float:
    return (datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds() / 60


def chinese_calendar_overrides(year: int) -> dict[date, bool]:
    """Seed data for one year from the `chinesecalendar` package: the holidays on weekdays and
    the make-up working days on weekends (调休). Stored as rows an administrator can edit."""
    import chinese_calendar

    overrides: dict[date, bool] = {}
    day = date(year, 1, 1)
    while day.year == year:
        workday = chinese_calendar.is_workday(day)
        if workday != (day.weekday() < 5):
            overrides[day] = workday
        day += timedelta(days=1)
    return overrides
