from __future__ import annotations

from services.intake.domain.notifications import render, requester_destination


def test_templates_render_in_chinese_and_english() -> None:
    assert (
        render("request_received", {"request_id": "R1"})
        == "您的诉求已受理，编号 R1。我们将按时办理并反馈结果。"
    )
    assert "R1" in render("request_received", {"request_id": "R1"}, "en")
    assert render("result_feedback", {"request_id": "R1"}).count("R1") == 1  # a missing param is blank


def test_unknown_templates_still_say_something() -> None:
    assert render("nope", {"a": 1}) == "[nope] a=1"


def test_the_reply_goes_back_the_way_the_request_came() -> None:
    person = {
        "name": "张三",
        "phone": "13812345678",
        "email": "z@example.com",
        "channel_address": "wx-openid",
    }
    assert requester_destination("wechat", person) == ("wechat", {"channel_address": "wx-openid"})
    assert requester_destination("email", person) == ("email", {"email": "z@example.com"})
    assert requester_destination("hotline", person) == ("hotline", {"phone": "13812345678", "name": "张三"})
    assert requester_destination("web", {"email": "z@example.com"}) == ("email", {"email": "z@example.com"})
    assert requester_destination("hotline", None) is None
    assert requester_destination("hotline", {"name": "no way back"}) is None
