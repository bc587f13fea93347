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


def test_received_during_hours_the_day_of_receipt_does_not_count() -> None:
    # Wednesday 10:00 + 1 working day: day 1 is Thursday, due at its close.
    assert PLAIN.add(at(2026, 11, 25, 10), 1, "working_days") == at(2026, 11, 26, 18)
    assert PLAIN.add(at(2026, 11, 25, 10), 3, "working_days") == at(2026, 11, 30, 18)


def test_friday_afternoon_plus_one_working_day_ends_monday_evening() -> None:
    assert PLAIN.add(at(2026, 11, 27, 17), 1, "working_days") == at(2026, 11, 30, 18)


def test_received_after_hours_the_next_working_day_is_day_one() -> None:
    assert PLAIN.add(at(2026, 11, 25, 19), 1, "working_days") == at(2026, 11, 26, 18)
    assert PLAIN.add(at(2026, 11, 26, 7), 1, "working_days") == at(2026, 11, 26, 18)


def test_a_request_on_saturday_starts_counting_on_monday_morning() -> None:
    assert PLAIN.add(at(2026, 11, 28, 15), 1, "working_days") == at(2026, 11, 30, 18)
    assert PLAIN.add(at(2026, 11, 28, 15), 2, "working_hours") == at(2026, 11, 30, 11)


def test_received_at_lunch_counts_from_the_afternoon() -> None:
    assert PLAIN.add(at(2026, 11, 25, 12, 30), 1, "working_hours") == at(2026, 11, 25, 14, 30)
    assert PLAIN.next_working_moment(at(2026, 11, 25, 12, 30)) == at(2026, 11, 25, 13, 30)


def test_fractional_working_days_are_refused() -> None:
    with pytest.raises(CalendarError):
        PLAIN.add(at(2026, 11, 25, 10), 1.5, "working_days")


def test_working_hours_skip_the_lunch_break() -> None:
    assert PLAIN.add(at(2026, 11, 25, 11), 2, "working_hours") == at(2026, 11, 25, 14, 30)


def test_after_hours_start_at_the_next_morning() -> None:
    assert PLAIN.add(at(2026, 11, 25, 20), 1, "working_hours") == at(2026, 11, 26, 10)


def test_plain_hours_ignore_the_calendar() -> None:
    assert CAL_2026.add(at(2026, 10, 1, 9), 24, "hours") == at(2026, 10, 2, 9)


def test_national_day_holiday_and_make_up_saturday() -> None:
    # 2026-09-30 (Wed) 10:00 + 1 working day: Oct 1–7 are off, so the close of Oct 8 (Thu).
    assert CAL_2026.add(at(2026, 9, 30, 10), 1, "working_days") == at(2026, 10, 8, 18)
    # 2026-10-09 (Fri) 17:00 + 1 working day: Saturday 10-10 is a make-up working day.
    assert CAL_2026.add(at(2026, 10, 9, 17), 1, "working_days") == at(2026, 10, 10, 18)
    # A request on the holiday itself starts counting on Oct 8, which is day 1.
    assert CAL_2026.add(at(2026, 10, 3, 11), 1, "working_days") == at(2026, 10, 8, 18)


def test_spring_festival_2026() -> None:
    assert CAL_2026.is_workday(date(2026, 2, 14))  # make-up Saturday
    assert not CAL_2026.is_workday(date(2026, 2, 23))  # Monday inside the holiday
    assert CAL_2026.add(at(2026, 2, 13, 17), 1, "working_days") == at(2026, 2, 14, 18)
    assert CAL_2026.add(at(2026, 2, 14, 17), 1, "working_days") == at(2026, 2, 24, 18)


def test_edits_are_data() -> None:
    edited = BusinessCalendar(overrides={date(2026, 11, 26): False})
    assert edited.add(at(2026, 11, 25, 10), 1, "working_days") == at(2026, 11, 27, 18)


def test_the_result_is_in_the_calendar_time_zone_whatever_the_input() -> None:
    utc_start = datetime(2026, 11, 25, 2, 0, tzinfo=ZoneInfo("UTC"))  # 10:00 in Shanghai
    due = PLAIN.add(utc_start, 2, "working_hours")
    assert due == at(2026, 11, 25, 12) and due.utcoffset() == at(2026, 11, 26).utcoffset()


def test_configurable_working_hours() -> None:
    long_day = BusinessCalendar(periods=((time(8, 0), time(20, 0)),))
    assert long_day.add(at(2026, 11, 25, 7), 1, "working_days") == at(2026, 11, 25, 20)
    assert long_day.add(at(2026, 11, 25, 9), 6, "working_hours") == at(2026, 11, 25, 15)


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


def test_pauses_push_the_due_time_out_by_the_working_time_they_cover() -> None:
    start = at(2026, 11, 25, 10)
    plain = PLAIN.add(start, 4, "working_hours")  # 15:30
    paused = PLAIN.add(start, 4, "working_hours", [(at(2026, 11, 25, 11), at(2026, 11, 25, 14))])
    assert plain == at(2026, 11, 25, 15, 30)
    assert paused == at(2026, 11, 25, 17)  # 11:00–14:00 holds 1.5 working hours
    weekend_pause = [(at(2026, 11, 28, 9), at(2026, 11, 29, 18))]
    assert PLAIN.add(start, 4, "working_hours", weekend_pause) == plain
    assert PLAIN.add(start, 2, "hours", [(at(2026, 11, 25, 10, 30), at(2026, 11, 25, 11))]) == at(
        2026, 11, 25, 12, 30
    )


def test_a_pause_after_the_due_time_changes_nothing() -> None:
    start = at(2026, 11, 25, 10)
    later = [(at(2026, 12, 20, 9), at(2026, 12, 21, 9))]
    assert PLAIN.add(start, 1, "working_days", later) == PLAIN.add(start, 1, "working_days")


def test_working_hours_are_configuration() -> None:
    from services.routing.domain.calendar import parse_working_hours

    assert parse_working_hours("09:00-12:00, 13:30-18:00") == DEFAULT_PERIODS_FOR_TEST
    assert parse_working_hours("08:30-17:30") == ((time(8, 30), time(17, 30)),)
    for bad in ("9-5", "13:00-12:00", "09:00-13:00,12:00-18:00", ""):
        with pytest.raises(CalendarError):
            parse_working_hours(bad)


DEFAULT_PERIODS_FOR_TEST = ((time(9, 0), time(12, 0)), (time(13, 30), time(18, 0)))


# --- next year's calendar before the State Council notice (issue 18) -----------------


def test_a_year_chinesecalendar_does_not_know_is_seeded_provisional_from_the_statutory_days() -> None:
    from datetime import date as day

    from services.routing.domain.calendar import year_seed

    seeded = year_seed(2027)
    assert seeded.provisional and seeded.source == "holidays"
    assert seeded.overrides[day(2027, 1, 1)] is False  # New Year's Day is not a working day
    assert {day(2027, 10, 1), day(2027, 10, 2), day(2027, 10, 3)} <= set(seeded.overrides)
    assert all(workday is False for workday in seeded.overrides.values())  # no 调休 known yet
    known = year_seed(2026)
    assert not known.provisional and known.source == "chinesecalendar"


def test_a_due_time_crossing_new_year_skips_new_years_day() -> None:
    from datetime import date as day

    from services.routing.domain.calendar import year_seed

    cal = BusinessCalendar(overrides={**chinese_calendar_overrides(2026), **year_seed(2027).overrides})
    start = datetime(2026, 12, 30, 10, 0, tzinfo=TZ)  # Wednesday, working hours
    # Day 1 is Thursday 31 December; 1 January 2027 (Friday) is a holiday; day 2 is Monday.
    assert cal.add(start, 2, "working_days") == datetime(2027, 1, 4, 18, 0, tzinfo=TZ)
    assert not cal.is_workday(day(2027, 1, 1))


def test_admins_are_warned_from_1_november_while_next_year_is_provisional() -> None:
    from datetime import date as day

    from services.routing.domain.calendar import provisional_warning

    assert provisional_warning(day(2026, 10, 31), {2027}) is None
    warning = provisional_warning(day(2026, 11, 1), {2027})
    assert warning is not None and warning.startswith("2027 年的节假日安排尚未录入国务院办公厅通知")
    assert "PUT /v1/calendar/years/2027" in warning
    assert provisional_warning(day(2026, 12, 2), set()) is None  # the notice was entered


def test_a_notice_is_its_days_off_and_make_up_days_within_the_year() -> None:
    from datetime import date as day

    from services.routing.domain.calendar import notice_overrides

    days = notice_overrides(2027, [day(2027, 2, 5), day(2027, 2, 11)], [day(2027, 2, 14)])
    assert days == {day(2027, 2, 5): False, day(2027, 2, 11): False, day(2027, 2, 14): True}
    with pytest.raises(CalendarError, match="not in 2027"):
        notice_overrides(2027, [day(2028, 1, 1)], [])
    with pytest.raises(CalendarError, match="both"):
        notice_overrides(2027, [day(2027, 2, 14)], [day(2027, 2, 14)])
