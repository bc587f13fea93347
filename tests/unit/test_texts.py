from __future__ import annotations

from datetime import UTC, date, datetime

from shared.texts import department_name, human_time, tidy


def test_times_are_shown_in_the_organisations_zone_in_a_human_format() -> None:
    assert human_time(datetime(2026, 12, 11, 10, 0, tzinfo=UTC)) == "2026年12月11日 18:00"
    assert human_time("2026-12-31T16:30:00+00:00") == "2027年1月1日 00:30"  # New Year in Shanghai
    assert human_time(date(2027, 2, 6)) == "2027年2月6日"
    assert human_time("2026-12-11T10:00:00+00:00", "en") == "11 Dec 2026 18:00"
    assert human_time("不是时间") == "不是时间"


def test_department_codes_become_names() -> None:
    assert department_name("service_center") == "政务服务中心"
    assert department_name("service_center", "en") == "one-window service centre"
    assert department_name("new_bureau") == "new_bureau"  # unknown: shown, not dropped
    assert department_name("new_bureau", known={"new_bureau": "新区管委会"}) == "新区管委会"


def test_no_doubled_punctuation() -> None:
    assert tidy("已办理完毕：路灯已修复。。请评价。") == "已办理完毕：路灯已修复。请评价。"
    assert tidy("已办理完毕：。请评价。") == "已办理完毕。请评价。"
    assert tidy("已处理！。") == "已处理！"
    assert tidy("handled: Done.. Please rate.") == "handled: Done. Please rate."
