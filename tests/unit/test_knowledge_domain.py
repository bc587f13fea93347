"""The knowledge base's pure rules: lifecycle, editors, search terms, case-study stripping."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.intake.domain.knowledge import (
    REMOVED,
    NotAllowed,
    is_live,
    may_approve,
    may_edit,
    next_status,
    query_terms,
    strip_personal_data,
    terms,
)
from shared.auth import Principal

T = datetime(2026, 11, 25, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def staff(role: str, department: str | None = None) -> Principal:
    return Principal(kind="staff", id=f"{role}-1", role=role, department=department)  # type: ignore[arg-type]


def test_the_way_to_publication_goes_through_approval() -> None:
    assert next_status("draft", "submit") == "pending"
    assert next_status("pending", "approve") == "published"
    assert next_status("pending", "reject") == "draft"
    assert next_status("published", "edit") == "draft"  # edited: approved again before it is offered
    assert next_status("published", "retire") == "retired"
    for status, action in (
        ("draft", "approve"),
        ("published", "submit"),
        ("retired", "edit"),
        ("retired", "retire"),
    ):
        with pytest.raises(NotAllowed):
            next_status(status, action)  # type: ignore[arg-type]


def test_editors_are_the_owning_head_and_admins_and_approvers_supervisors() -> None:
    assert may_edit(staff("dept_head", "urban"), "urban")
    assert not may_edit(staff("dept_head", "water"), "urban")
    assert may_edit(staff("admin"), "urban")
    assert not may_edit(staff("agent"), "urban") and not may_edit(staff("supervisor"), "urban")
    assert may_approve(staff("supervisor")) and not may_approve(staff("dept_head", "urban"))
    # An admin approves what someone else wrote, never their own article (four eyes).
    admin = staff("admin")
    assert may_approve(admin, "head-urban") and not may_approve(admin, admin.id)
    assert not may_approve(admin)


def test_only_published_articles_within_their_validity_are_live() -> None:
    assert is_live("published", None, None, T)
    assert not is_live("pending", None, None, T)
    assert not is_live("published", T + timedelta(days=1), None, T)
    assert not is_live("published", None, T, T)  # valid_to is exclusive
    assert is_live("published", T - timedelta(days=1), T + timedelta(days=1), T)


def test_terms_are_words_not_characters_or_stop_words() -> None:
    assert terms("请问灵活就业人员怎么缴纳社保？") == ["灵活", "就业", "人员", "缴纳", "社保"]
    assert "居住证" in terms("居住证办理需要哪些材料") and "需要" not in terms("居住证办理需要哪些材料")
    assert terms("How do I renew my residence permit?") == ["renew", "residence", "permit"]
    assert query_terms("!!! ？？") == []
    assert all("'" not in t and "|" not in t for t in query_terms("a|b & 'c' 社保:*"))


def test_a_case_study_keeps_what_happened_and_drops_who() -> None:
    text = "我叫李建国，住幸福里3号，电话13812345678，邮箱li@example.com，身份证110105194912310021，油烟扰民"
    stripped = strip_personal_data(text, ["李建国", "幸福里3号", "", "x"])
    for personal in ("李建国", "幸福里3号", "13812345678", "li@example.com", "110105194912310021"):
        assert personal not in stripped
    assert stripped.count(REMOVED) == 5 and stripped.endswith("油烟扰民")


def test_a_citizens_words_reach_the_terms_the_articles_use() -> None:
    assert "路灯" in query_terms("门口路灯不亮了")  # jieba reads 路 / 灯不亮
    assert "工资" in query_terms("老板欠俺工钱不给")
    assert "营业执照" in query_terms("开个小卖部要办啥证")
    assert "养老保险" in query_terms("退休金咋领")
