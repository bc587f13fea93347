"""The working time left on a clock (issue 21): weekends, holidays, the lunch break, overdue."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.routing.domain.calendar import BusinessCalendar, CalendarError, chinese_calendar_overrides
from services.routing.domain.time_left import WorkingTime, time_left

TZ = ZoneInfo("Asia/Shanghai")
CAL_2026 = BusinessCalendar(overrides=chinese_calendar_overrides(2026))
PLAIN = BusinessCalendar()


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def left(calendar: BusinessCalendar, due: datetime, seen: datetime) -> tuple[float, bool]:
    (answer,) = time_left(calendar, [due], seen)
    assert answer.due == due
    return answer.working_minutes_left, answer.overdue


def test_due_monday_ten_seen_friday_four_leaves_three_working_hours() -> None:
    # Friday 16:00-18:00 and Monday 09:00-10:00; the weekend does not count.
    assert left(PLAIN, at(2026, 11, 30, 10), at(2026, 11, 27, 16)) == (180, False)


def test_a_due_inside_the_national_day_holiday() -> None:
    # Seen on 30 September at 17:00, due on 3 October (a holiday): only 17:00-18:00 counts.
    assert left(CAL_2026, at(2026, 10, 3, 12), at(2026, 9, 30, 17)) == (60, False)
    # Seen during the holiday, due the first morning back: one working hour left.
    assert left(CAL_2026, at(2026, 10, 8, 10), at(2026, 10, 5, 10)) == (60, False)
    # Due at the close before the holiday, seen in it: overdue, by no working time yet.
    assert left(CAL_2026, at(2026, 9, 30, 18), at(2026, 10, 6, 10)) == (0, True)
    # ...and by one working day and an hour on 9 October at 10:00.
    assert left(CAL_2026, at(2026, 9, 30, 18), at(2026, 10, 9, 10)) == (-(450 + 60), True)


def test_the_make_up_saturday_after_national_day_counts() -> None:
    # Saturday 10 October 2026 is worked (调休): Friday 17:00 → Saturday 10:00 is 2 hours.
    assert left(CAL_2026, at(2026, 10, 10, 10), at(2026, 10, 9, 17)) == (120, False)
    assert left(PLAIN, at(2026, 10, 10, 10), at(2026, 10, 9, 17)) == (60, False)


def test_overdue_by_two_working_hours_across_the_lunch_break() -> None:
    # Due Wednesday 11:00, seen at 14:30: 11:00-12:00 and 13:30-14:30.
    assert left(PLAIN, at(2026, 12, 2, 11), at(2026, 12, 2, 14, 30)) == (-120, True)


def test_lunch_and_nights_do_not_count_while_time_is_left() -> None:
    assert left(PLAIN, at(2026, 12, 2, 14, 30), at(2026, 12, 2, 11)) == (120, False)
    # Wednesday 17:00 → Thursday 10:00: one hour each side of the night.
    assert left(PLAIN, at(2026, 12, 3, 10), at(2026, 12, 2, 17)) == (120, False)


def test_at_the_due_time_itself_the_clock_is_overdue_by_nothing() -> None:
    assert left(PLAIN, at(2026, 12, 2, 10), at(2026, 12, 2, 10)) == (0, True)


def test_due_at_mondays_opening_seen_on_sunday_has_nothing_left_but_is_not_overdue() -> None:
    assert left(PLAIN, at(2026, 11, 30, 9), at(2026, 11, 29, 15)) == (0, False)


def test_answers_keep_the_order_of_the_dues() -> None:
    dues = [at(2026, 12, 3, 18), at(2026, 12, 2, 9, 30), at(2026, 12, 2, 12, 45)]
    answers = time_left(PLAIN, dues, at(2026, 12, 2, 10))
    assert [a.due for a in answers] == dues
    assert [a.working_minutes_left for a in answers] == [450 + 120 + 270, -30, 120 + 0]


def test_any_offset_is_counted_in_the_organisations_zone() -> None:
    due = datetime(2026, 12, 2, 6, 30, tzinfo=ZoneInfo("UTC"))  # 14:30 in Shanghai
    assert left(PLAIN, due, at(2026, 12, 2, 11)) == (120, False)


def test_times_without_a_zone_are_refused() -> None:
    with pytest.raises(CalendarError):
        time_left(PLAIN, [datetime(2026, 12, 2, 10)], at(2026, 12, 2, 9))
    with pytest.raises(CalendarError):
        time_left(PLAIN, [at(2026, 12, 2, 10)], datetime(2026, 12, 2, 9))


def test_five_hundred_dues_two_centuries_away_are_all_counted() -> None:
    # Whole days are counted arithmetically (how fast is a benchmark's business, not a test's).
    dues = [at(2200, 1, 1) + timedelta(hours=i) for i in range(500)]
    answers = time_left(CAL_2026, dues, at(1970, 1, 1))
    assert len(answers) == 500
    assert all(a.working_minutes_left > 0 and not a.overdue for a in answers)


moments = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=TZ)
)


@settings(max_examples=400, deadline=None)
@given(start=moments, end=moments)
def test_counting_by_whole_days_equals_counting_day_by_day(start: datetime, end: datetime) -> None:
    assert WorkingTime(CAL_2026).minutes_between(start, end) == CAL_2026.working_minutes_between(start, end)


@settings(max_examples=200, deadline=None)
@given(due=moments, seen=moments)
def test_left_is_the_working_time_to_the_due_or_minus_the_working_time_since(
    due: datetime, seen: datetime
) -> None:
    minutes, overdue = left(CAL_2026, due, seen)
    assert overdue == (due <= seen)
    if overdue:
        assert minutes == -CAL_2026.working_minutes_between(due, seen)
    else:
        assert minutes == CAL_2026.working_minutes_between(seen, due)
