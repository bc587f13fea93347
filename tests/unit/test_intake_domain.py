from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.intake.domain.classification import Classifier
from services.intake.domain.submission import (
    Requester,
    Submission,
    contact_masked,
    mask_email,
    mask_phone,
    requester_identity,
)

CLASSIFIER = Classifier.default()


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        ("小区突发火灾，有人被困", "consultation", "urgent"),
        ("楼道里燃气泄漏，味道很大", "consultation", "urgent"),
        ("路灯坏了，请来维修", "repair", "normal"),
        ("我要投诉某餐馆卫生问题", "complaint", "normal"),
        ("请问居住证怎么办理？", "business", "normal"),
        ("How do I renew my parking permit?", "consultation", "normal"),
        ("Someone got an electric shock at the bus stop", "consultation", "urgent"),
        ("建议在公园增加座椅", "suggestion", "normal"),
        ("今天天气不错", "consultation", "normal"),
    ],
)
def test_keyword_classification(text: str, category: str, urgency: str) -> None:
    result = CLASSIFIER.classify(text)
    assert (result.category, result.urgency) == (category, urgency)
    assert result.rules  # the rule that fired is recorded


def test_what_the_channel_says_is_kept() -> None:
    result = CLASSIFIER.classify("火灾", category="help", urgency="normal")
    assert (result.category, result.urgency, result.rules) == ("help", "normal", ())


def test_the_rule_that_fired_is_named() -> None:
    assert CLASSIFIER.classify("触电了").rules == ("urgent.electric", "category.default")


@pytest.mark.parametrize("phone", ["13812345678", "010-12345678", "0755 8888 9999", "+8613812345678"])
def test_phone_formats_accepted(phone: str) -> None:
    assert Requester(phone=phone).phone == phone.replace(" ", "")


@pytest.mark.parametrize("phone", ["12345", "23812345678", "+0123", "1381234567a"])
def test_phone_formats_refused(phone: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Requester(phone=phone)
    assert caught.value.errors()[0]["type"] == "phone_format"


def test_masking() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("010-12345678") == "010*****5678"
    assert mask_email("zhang.san@example.com") == "z***@example.com"
    assert contact_masked(Requester(email="A@B.CN")) == "a***@b.cn"
    assert contact_masked(None) is None


def test_identity_prefers_the_id_number() -> None:
    person = Requester(phone="13812345678", id_number="11010519491231002X")
    assert requester_identity(person) == "11010519491231002x"


def test_strings_are_trimmed_and_anonymous_needs_no_contact() -> None:
    submission = Submission.model_validate({"channel": "web", "content": "  hello  ", "anonymous": True})
    assert submission.content == "hello"


def test_future_timestamps_are_refused_but_small_skew_is_tolerated() -> None:
    now = datetime(2026, 11, 25, 10, tzinfo=UTC)
    body = {"channel": "web", "content": "x", "anonymous": True}
    Submission.model_validate(
        {**body, "submitted_at": (now + timedelta(minutes=2)).isoformat()}, context={"now": now}
    )
    with pytest.raises(ValidationError) as caught:
        Submission.model_validate(
            {**body, "submitted_at": (now + timedelta(hours=1)).isoformat()}, context={"now": now}
        )
    assert caught.value.errors()[0]["type"] == "not_in_future"


def test_contacts_and_known_names_in_free_text_are_masked() -> None:
    from shared.masking import Person, mask_text

    text = "我是王小明，住幸福路8号，电话13812345678，邮箱wang@example.com，身份证11010519491231002X"
    masked = mask_text(text, Person(names=("王小明",), addresses=("幸福路8号",)))
    for secret in ("王小明", "幸福路8号", "13812345678", "wang@example.com", "11010519491231002X"):
        assert secret not in masked
    assert "138****5678" in masked and "王**" in masked and "1101**********002X" in masked
    assert mask_text("门牌号12号，共3人") == "门牌号12号，共3人"


def test_unicode_is_kept_normalised_and_invisible_characters_cannot_hide_urgent_words() -> None:
    body = {
        "channel": "web",
        "anonymous": True,
        "content": "楼下\u200b火\u200d灾了！🔥 Fire on the 3rd floor, Пожар",
    }
    submission = Submission.model_validate(body)
    assert submission.content == "楼下火灾了！🔥 Fire on the 3rd floor, Пожар"
    assert CLASSIFIER.classify(submission.content).urgency == "urgent"
    decomposed = Submission.model_validate({**body, "content": "Cafe\u0301"})
    assert decomposed.content == "Café"


@pytest.mark.parametrize(
    "text",
    [
        "电梯困人",
        "有人打架斗殴",
        "路面塌陷了",
        "自来水管爆了",
        "厨房一股臭鸡蛋味 头都晕了",
        "楼道里好多烟 门把手都烫手",
    ],
)
def test_the_persons_first_answer_already_says_urgent_as_routing_will(text: str) -> None:
    assert CLASSIFIER.classify(text).urgency == "urgent", text


def test_an_ordinary_request_stays_normal_at_intake() -> None:
    for text in ["路灯坏了好几天了", "燃气费在哪交", "楼上装修太吵 气死我了"]:
        assert CLASSIFIER.classify(text).urgency == "normal", text
