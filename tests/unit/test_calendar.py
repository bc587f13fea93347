from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.routing.domain.calendar import BusinessCalendar, CalendarError, chinese_calendar_overrides

TZ = ZoneInfo("Asia/Shanghai")
CAL_2026 = BusinessCalendar(overrides=chinese_calendar_overrides(2026))
PLAIN = BusinessCalendar()


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def test_a_working_day_is_seven_and_a_half_working_hours() -> None:
    assert PLAIN.minutes_per_day == 450


def test_one_working_day_from_a_wednesday_morning() -> None:
    assert PLAIN.add(at(2026, 11, 25, 10), 1, "working_days") == at(2026, 11, 26, 10)


def test_friday_afternoon_plus_one_working_day_lands_on_monday() -> None:
    assert PLAIN.add(at(2026, 11, 27, 17), 1, "working_days") == at(2026, 11, 30, 17)


def test_a_request_on_saturday_starts_counting_on_monday_morning() -> None:
    assert PLAIN.add(at(2026, 11, 28, 15), 1, "working_days") == at(2026, 11, 30, 18)
    assert PLAIN.add(at(2026, 11, 28, 15), 2, "working_hours") == at(2026, 11, 30, 11)


def test_working_hours_skip_the_lunch_break() -> None:
    assert PLAIN.add(at(2026, 11, 25, 11), 2, "working_hours") == at(2026, 11, 25, 14, 30)


def test_after_hours_start_at_the_next_morning() -> None:
    assert PLAIN.add(at(2026, 11, 25, 20), 1, "working_hours") == at(2026, 11, 26, 10)


def test_plain_hours_ignore_the_calendar() -> None:
    assert CAL_2026.add(at(2026, 10, 1, 9), 24, "hours") == at(2026, 10, 2, 9)


def test_national_day_holiday_and_make_up_saturday() -> None:
    # 2026-09-30 (Wed) 10:00 + 1 working day: Oct 1–7 are off, so Oct 8 (Thu) 10:00.
    assert CAL_2026.add(at(2026, 9, 30, 10), 1, "working_days") == at(2026, 10, 8, 10)
    # 2026-10-09 (Fri) 17:00 + 1 working day: Saturday 10-10 is a make-up working day.
    assert CAL_2026.add(at(2026, 10, 9, 17), 1, "working_days") == at(2026, 10, 10, 17)


def test_spring_festival_2026() -> None:
    assert CAL_2026.is_workday(date(2026, 2, 14))  # make-up Saturday
    assert not CAL_2026.is_workday(date(2026, 2, 23))  # Monday inside the holiday
    assert CAL_2026.add(at(2026, 2, 13, 17), 1, "working_days") == at(2026, 2, 14, 17)
    assert CAL_2026.add(at(2026, 2, 14, 17), 1, "working_days") == at(2026, 2, 24, 17)


def test_edits_are_data() -> None:
    edited = BusinessCalendar(overrides={date(2026, 11, 26): False})
    assert edited.add(at(2026, 11, 25, 10), 1, "working_days") == at(2026, 11, 27, 10)


def test_the_result_is_in_the_calendar_time_zone_whatever_the_input() -> None:
    utc_start = datetime(2026, 11, 25, 2, 0, tzinfo=ZoneInfo("UTC"))  # 10:00 in Shanghai
    due = PLAIN.add(utc_start, 1, "working_days")
    assert due == at(2026, 11, 26, 10) and due.utcoffset() == at(2026, 11, 26).utcoffset()


def test_configurable_working_hours() -> None:
    long_day = BusinessCalendar(periods=((time(8, 0), time(20, 0)),))
    assert long_day.add(at(2026, 11, 25, 8), 1, "working_days") == at(2026, 11, 25, 20)


def test_working_minutes_between() -> None:
    assert PLAIN.working_minutes_between(at(2026, 11, 27, 17), at(2026, 11, 30, 10)) == 120
    assert PLAIN.working_minutes_between(at(2026, 11, 30, 10), at(2026, 11, 27, 17)) == 0


@pytest.mark.parametrize(
    ("start", "amount", "unit"),
    [
        (datetime(2026, 11, 25, 10), 1, "working_days"),
        (at(2026, 11, 25), -1, "working_days"),
        (at(2026, 11, 25), 1, "fortnights"),
    ],
)
def test_bad_arguments_are_refused(start: datetime, amount: float, unit: str) -> None:
    with pytest.raises(CalendarError):
        PLAIN.add(start, amount, unit)  # type: ignore[arg-type]


def test_overlapping_periods_are_refused() -> None:
    with pytest.raises(CalendarError):
        BusinessCalendar(periods=((time(9), time(13)), (time(12), time(18))))


def test_a_calendar_without_working_days_does_not_loop_forever() -> None:
    never = BusinessCalendar(periods=((time(9), time(10)),), overrides={})
    closed = BusinessCalendar(periods=never.periods, overrides={date(2026, 1, 1): False})
    assert closed.add(at(2026, 1, 1), 1, "working_hours") == at(2026, 1, 2, 10)
    nothing = BusinessCalendar(overrides={})
    object.__setattr__(nothing, "is_workday", lambda day: False)
    with pytest.raises(CalendarError):
        nothing.add(at(2026, 1, 1), 1, "working_days")
