"""Property tests of due times on the 2026 calendar (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.routing.domain.calendar import BusinessCalendar, chinese_calendar_overrides

TZ = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar(overrides=chinese_calendar_overrides(2026))

moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 10, 31)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=TZ)
)
hours = st.integers(min_value=1, max_value=120).map(lambda quarter: quarter / 4)
days = st.integers(min_value=1, max_value=20)
pauses = st.lists(
    st.tuples(moments, st.integers(min_value=1, max_value=72 * 60)).map(
        lambda p: (p[0], p[0] + timedelta(minutes=p[1]))
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(start=moments, amount=hours)
def test_working_hours_due_times_fall_in_working_time(start: datetime, amount: float) -> None:
    assert CAL.is_working_time(CAL.add(start, amount, "working_hours"))


@settings(max_examples=300, deadline=None)
@given(start=moments, amount=days)
def test_working_days_end_at_the_close_of_a_working_day(start: datetime, amount: int) -> None:
    due = CAL.add(start, amount, "working_days")
    assert CAL.is_workday(due.date()) and due.timetz().replace(tzinfo=None) == CAL.periods[-1][1]
    assert due > start


@settings(max_examples=300, deadline=None)
@given(start=moments, a=hours, b=hours)
def test_due_times_are_monotonic_in_the_amount(start: datetime, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert CAL.add(start, low, "working_hours") <= CAL.add(start, high, "working_hours")
    assert CAL.add(start, int(low), "working_days") <= CAL.add(start, int(high), "working_days")


@settings(max_examples=300, deadline=None)
@given(start=moments, a=hours, b=hours)
def test_working_hours_compose(start: datetime, a: float, b: float) -> None:
    assert CAL.add(CAL.add(start, a, "working_hours"), b, "working_hours") == CAL.add(
        start, a + b, "working_hours"
    )


@settings(max_examples=300, deadline=None)
@given(start=moments, amount=hours, paused=pauses)
def test_a_pause_never_makes_the_due_time_earlier(start: datetime, amount: float, paused: list) -> None:  # type: ignore[type-arg]
    for unit in ("working_hours", "hours"):
        assert CAL.add(start, amount, unit, paused) >= CAL.add(start, amount, unit)  # type: ignore[arg-type]
    assert CAL.add(start, int(amount) + 1, "working_days", paused) >= CAL.add(
        start, int(amount) + 1, "working_days"
    )
