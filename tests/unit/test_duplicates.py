"""Repeat requests (重复诉求) as people really write them: the same caller again in other
words, two neighbours about one lamp, and what must not be taken for a repeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.duplicates import (
    SAME_MATTER_AND_PLACE,
    SAME_PERSON,
    SIMILAR_TEXT_SAME_PLACE,
    Candidate,
    likely_duplicates,
    similarity,
)

pytestmark = pytest.mark.unit
T0 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def req(
    rid: str,
    content: str,
    person: str | None = None,
    matter: str | None = None,
    area: str | None = None,
    address: str | None = None,
    hours_ago: int = 0,
) -> Candidate:
    return Candidate(rid, content, person, matter, area, address, T0 - timedelta(hours=hours_ago))


@pytest.mark.parametrize(
    ("earlier", "again"),
    [
        ("小区门口的路灯坏了好几天了，晚上黑漆漆的", "我上周反映的那个路灯还是不亮啊，小区门口那个"),
        ("楼上装修天天电钻声，中午都不让人休息", "楼上装修噪音又开始了！！中午还在打电钻"),
        ("工资拖欠三个月了老板不给", "老板一直拖着工资不发 已经三个月"),
        ("路灯不亮", "路灯坏了"),
        (
            "我家楼下那个路灯坏了好几天了，晚上黑漆漆的，电话13911112222",
            "上周说的那个路灯还是不亮啊，就在我家楼下！",
        ),
        ("垃圾桶满了没人清理，臭死了", "垃圾好几天没人收，味道很大"),
    ],
)
def test_the_same_caller_in_other_words_is_a_likely_repeat(earlier: str, again: str) -> None:
    found = likely_duplicates(req("new", again, "rq_1"), [req("old", earlier, "rq_1", hours_ago=30)])
    assert [(d.id, d.reasons) for d in found] == [("old", (SAME_PERSON,))]


@pytest.mark.parametrize(
    ("earlier", "now_about"),
    [
        ("楼上装修噪音又开始了，中午还在打电钻", "楼下烧烤摊油烟太大，窗户都不敢开"),
        ("楼下饭店油烟很大", "楼下超市卖过期食品"),  # "downstairs" is not a topic
        ("小区门口的路灯坏了好几天了", "小区电梯又坏了，老人上不去楼"),
        ("孩子学校门口天天堵车，没人管", "小区门口的路灯坏了好几天了"),
    ],
)
def test_the_same_caller_about_something_else_is_not_a_repeat(earlier: str, now_about: str) -> None:
    assert likely_duplicates(req("new", now_about, "rq_1"), [req("old", earlier, "rq_1")]) == []


def test_the_same_caller_under_the_same_matter_is_a_repeat_even_in_other_words() -> None:
    # "停水" and "没水" share no characters; routing put both under water.outage.
    found = likely_duplicates(
        req("new", "还是没水，从昨天停到现在", "rq_1", matter="water.outage"),
        [req("old", "家里停水了一整天，什么时候来水", "rq_1", matter="water.outage")],
    )
    assert [d.reasons for d in found] == [(SAME_PERSON,)]


def test_two_neighbours_about_one_lamp_at_one_address() -> None:
    lamp = "urban.streetlight"
    new = req("new", "望京西园三区门口路灯不亮", "rq_2", matter=lamp, address="望京西园三区 北门")
    others = [
        req("a", "路灯坏了，晚上看不见路", "rq_3", matter=lamp, address="望京西园三区北门"),
        req("b", "路灯坏了", "rq_4", matter=lamp, address="酒仙桥路10号"),  # another lamp
        req("c", "北门有个井盖没了", "rq_5", matter="urban.manhole", address="望京西园三区北门"),
    ]
    assert [(d.id, d.reasons) for d in likely_duplicates(new, others)] == [("a", (SAME_MATTER_AND_PLACE,))]


def test_the_same_words_in_the_same_area_without_a_matter_yet() -> None:
    new = req("new", "朝阳公园南门垃圾桶满了好几天没人清理", "rq_2", area="朝阳区")
    others = [
        req("a", "朝阳公园南门的垃圾桶满了好几天了没人清理", "rq_3", area="朝阳区"),
        req("b", "朝阳公园南门的垃圾桶满了好几天了没人清理", "rq_4", area="海淀区"),
    ]
    assert [(d.id, d.reasons) for d in likely_duplicates(new, others)] == [("a", (SIMILAR_TEXT_SAME_PLACE,))]


def test_the_likeliest_first_and_at_most_five() -> None:
    lamp = "urban.streetlight"
    new = req("new", "小区门口路灯坏了", "rq_1", matter=lamp, area="朝阳区")
    others = [req(f"n{i}", "路灯坏了", f"rq_x{i}", matter=lamp, area="朝阳区", hours_ago=i) for i in range(8)]
    both = req("both", "小区门口路灯坏了好几天", "rq_1", matter=lamp, area="朝阳区", hours_ago=40)
    found = likely_duplicates(new, [*others, both])
    assert len(found) == 5
    assert found[0].id == "both" and found[0].reasons == (SAME_PERSON, SAME_MATTER_AND_PLACE)


def test_similarity_ignores_punctuation_width_and_filler() -> None:
    assert similarity("路灯坏了！！！", "ＸＸ路灯坏了") > similarity("路灯坏了", "水管爆了")
    assert similarity("你好，我要反映一下，路灯坏了", "路灯坏了") == 1.0
    assert similarity("", "路灯坏了") == 0.0
