"""The business calendar: working days (weekends, public holidays and make-up working days
as editable data) and working hours, and due times counted on it. Pure code.

How a due time is counted (docs/sla.md says the same for users):
* The clock starts at the next working moment: a request received after hours, at lunch,
  on a weekend or a holiday starts counting when work next begins.
* `working_hours`: that much working time, skipping the lunch break and non-working days.
* `working_days`: N ends at the close of the Nth working day. The day the clock starts on
  counts as day 1 only when the clock starts at its opening (received outside hours);
  received during working hours, day 1 is the next working day (期间开始的当日不计入).
* `hours`: plain elapsed hours (urgent requests), whatever the calendar says.
* Pauses (waiting on the person) push the due time out by the working time they cover
  (plain time for `hours`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Unit = Literal["working_days", "working_hours", "hours"]
UNITS: tuple[Unit, ...] = ("working_days", "working_hours", "hours")
DEFAULT_PERIODS = ((time(9, 0), time(12, 0)), (time(13, 30), time(18, 0)))
# Far enough for any real deadline; a calendar with no working day at all must not loop forever.
MAX_SEARCH_DAYS = 3 * 366

Pause = tuple[datetime, datetime]


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class BusinessCalendar:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    # date → True (a working day, e.g. a make-up Saturday) or False (a holiday).
    overrides: Mapping[date, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.periods:
            raise CalendarError("a calendar needs at least one working period")
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

    def _opening(self, day: date) -> datetime:
        return datetime.combine(day, self.periods[0][0], self.tz)

    def _closing(self, day: date) -> datetime:
        return datetime.combine(day, self.periods[-1][1], self.tz)

    def next_working_day(self, day: date) -> date:
        for _ in range(MAX_SEARCH_DAYS):
            day += timedelta(days=1)
            if self.is_workday(day):
                return day
        raise CalendarError(f"no working day within {MAX_SEARCH_DAYS} days")

    def next_working_moment(self, moment: datetime) -> datetime:
        """`moment` itself if work is going on then, else when work next begins."""
        local = moment.astimezone(self.tz)
        day = local.date()
        if self.is_workday(day):
            for start, end in self.periods:
                begin, finish = datetime.combine(day, start, self.tz), datetime.combine(day, end, self.tz)
                if local < finish:
                    return max(local, begin)
        return self._opening(self.next_working_day(day))

    def add(self, start: datetime, amount: float, unit: Unit, pauses: Iterable[Pause] = ()) -> datetime:
        """The due time `amount` `unit`s after `start`, pushed out by `pauses`."""
        if start.tzinfo is None:
            raise CalendarError("start must carry a time zone offset")
        if amount < 0:
            raise CalendarError("amount must not be negative")
        due = self._add(start.astimezone(self.tz), amount, unit)
        return self._extend_by_pauses(start, due, unit, sorted(pauses))

    def _add(self, local: datetime, amount: float, unit: Unit) -> datetime:
        if unit == "hours":
            return local + timedelta(hours=amount)
        if unit == "working_hours":
            return self.add_working_minutes(self.next_working_moment(local), amount * 60)
        if unit == "working_days":
            if amount != int(amount):
                raise CalendarError("working_days must be a whole number (use working_hours for parts)")
            if amount == 0:
                return local
            begin = self.next_working_moment(local)
            day = begin.date()
            # Received during working hours: the day of receipt does not count.
            remaining = int(amount) if begin == self._opening(day) else int(amount) + 1
            while remaining > 1:
                day = self.next_working_day(day)
                remaining -= 1
            return self._closing(day)
        raise CalendarError(f"unknown unit {unit!r}")

    def _extend_by_pauses(self, start: datetime, due: datetime, unit: Unit, pauses: list[Pause]) -> datetime:
        counted: set[int] = set()
        changed = True
        while changed:  # a pushed-out due time may reach a later pause
            changed = False
            for i, (paused_from, paused_until) in enumerate(pauses):
                if i in counted or paused_from >= due or paused_until <= start:
                    continue
                counted.add(i)
                changed = True
                begin = max(paused_from, start)
                if unit == "hours":
                    due = due + (paused_until - begin)
                else:
                    due = self.add_working_minutes(due, self.working_minutes_between(begin, paused_until))
        return due

    def add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        cursor = start.astimezone(self.tz)
        remaining = timedelta(minutes=minutes)
        if remaining <= timedelta(0):
            return cursor
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

    def is_working_time(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        if not self.is_workday(local.date()):
            return False
        return any(
            datetime.combine(local.date(), s, self.tz) <= local <= datetime.combine(local.date(), e, self.tz)
            for s, e in self.periods
        )


def parse_working_hours(text: str) -> tuple[tuple[time, time], ...]:
    """ "09:00-12:00,13:30-18:00" → the working periods of a day."""
    try:
        periods = tuple(
            (time.fromisoformat(a.strip()), time.fromisoformat(b.strip()))
            for a, b in (part.split("-") for part in text.split(",") if part.strip())
        )
    except ValueError as exc:
        raise CalendarError(f"working hours {text!r} are not like 09:00-12:00,13:30-18:00") from exc
    BusinessCalendar(periods=periods)  # refuses empty, unordered or overlapping periods
    return periods


def _minutes(a: time, b: time) -> float:
    return (datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds() / 60


@dataclass(frozen=True)
class YearSeed:
    """A year's days off and make-up working days, where they came from, and whether they
    are only provisional (the State Council's notice for the year has not been entered)."""

    year: int
    overrides: dict[date, bool]
    source: str  # chinesecalendar, holidays, state_council, none
    provisional: bool


def statutory_holidays(year: int) -> dict[date, bool]:
    """The statutory holidays of a year from the maintained `holidays` library: the days
    themselves, without the bridging days and 调休 make-up days the State Council adds."""
    import holidays

    return {day: False for day in sorted(holidays.China(years=year, observed=False)) if day.year == year}


def year_seed(year: int) -> YearSeed:
    """`chinesecalendar` where it has the State Council's arrangement for the year; else the
    statutory days from `holidays`, marked provisional until the notice is entered."""
    try:
        return YearSeed(year, chinese_calendar_overrides(year), "chinesecalendar", provisional=False)
    except NotImplementedError:
        pass
    days = statutory_holidays(year)
    return YearSeed(year, days, "holidays" if days else "none", provisional=True)


# From this day of the year on, next year's calendar should be final (the State Council
# publishes its notice in late October or November): say so while it is provisional.
WARN_FROM = (11, 1)


def provisional_warning(today: date, provisional_years: Iterable[int]) -> str | None:
    """The warning for admins, or None: from 1 November, next year still provisional."""
    next_year = today.year + 1
    if (today.month, today.day) < WARN_FROM or next_year not in set(provisional_years):
        return None
    return (
        f"{next_year} 年的节假日安排尚未录入国务院办公厅通知，目前按法定节假日临时计算（无调休上班日）："
        f"请录入通知（PUT /v1/calendar/years/{next_year}）"
    )


def notice_overrides(year: int, holidays_: Iterable[date], workdays: Iterable[date]) -> dict[date, bool]:
    """The days of a State Council notice as calendar overrides: every day off (holidays and
    the bridging days) and every make-up working day (调休), all within the year."""
    days: dict[date, bool] = {}
    for day in holidays_:
        days[day] = False
    for day in workdays:
        if day in days:
            raise CalendarError(f"{day} is listed both as a day off and as a working day")
        days[day] = True
    outside = sorted(d for d in days if d.year != year)
    if outside:
        raise CalendarError(f"{outside[0]} is not in {year}")
    return days


def chinese_calendar_overrides(year: int) -> dict[date, bool]:
    """Seed data for one year from the `chinesecalendar` package: the holidays on weekdays and
    the make-up working days on weekends (调休). Stored as rows an administrator can edit.
    Raises NotImplementedError for a year the package does not know yet."""
    import chinese_calendar

    overrides: dict[date, bool] = {}
    day = date(year, 1, 1)
    while day.year == year:
        workday = chinese_calendar.is_workday(day)
        if workday != (day.weekday() < 5):
            overrides[day] = workday
        day += timedelta(days=1)
    return overrides
