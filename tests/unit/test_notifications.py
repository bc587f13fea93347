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


# --- what people read (issue 18) -------------------------------------------------------


def test_the_person_reads_the_departments_reply_without_doubled_punctuation() -> None:
    assert (
        render("result_feedback", {"request_id": "R1", "message": "路灯已修复。", "department": "urban"})
        == "您的诉求（编号 R1）已办理完毕：路灯已修复。请对办理结果进行评价。"
    )
    # Nothing at all to say never leaves "：。" behind.
    assert render("result_feedback", {"request_id": "R1", "message": ""}) == (
        "您的诉求（编号 R1）已办理完毕。请对办理结果进行评价。"
    )


def test_times_are_local_and_human_and_departments_are_named() -> None:
    text = render(
        "extension_notice",
        {"request_id": "R1", "reason": "需现场勘查", "new_due": "2026-12-11T10:00:00+00:00"},
    )
    assert text == "您的诉求（编号 R1）因需现场勘查需延期办理，预计 2026年12月11日 18:00 前办结。"
    urgent = render(
        "urgent_request_routed",
        {"request_id": "R9", "department": "service_center", "due_accept": "2026-12-02T01:30:00+00:00"},
        audience="department_head",
    )
    assert (
        urgent == "紧急诉求 R9 已派至贵单位（政务服务中心），请立即组织处置，签收时限 2026年12月2日 09:30。"
    )
    assert "service_center" not in urgent and "T01:30" not in urgent


def test_staff_are_not_addressed_as_the_person_who_asked() -> None:
    staff = render(
        "result_feedback",
        {"request_id": "R1", "message": "路灯已修复", "department": "urban"},
        audience="first_responder",
    )
    assert staff == "您首问受理的诉求 R1 已由城市管理局办结，答复诉求人：路灯已修复。"
    assert "请对办理结果进行评价" not in staff and "您的诉求" not in staff
    assert render("satisfaction_survey", {"request_id": "R1"}, audience="first_responder").startswith(
        "[satisfaction_survey]"
    )  # a survey is for the person only: no staff wording exists


def test_the_person_is_told_of_reopening_merging_withdrawal_and_materials_still_missing() -> None:
    assert render("request_reopened", {"request_id": "R1", "department": "water"}) == (
        "您对诉求（编号 R1）办理结果的不满意意见已收到，已交水务集团重新办理，办理完毕后再次告知您。"
    )
    assert render("request_merged", {"request_id": "R2", "primary_id": "R1"}) == (
        "您反映的问题与诉求 R1 相同，已合并办理，办理结果将一并告知您（编号 R2）。"
    )
    assert render("request_withdrawn", {"request_id": "R1"}) == (
        "您的诉求（编号 R1）已按您的要求撤回，不再办理。如有需要，欢迎再次反映。"
    )
    assert (
        render("merge_released", {"request_id": "R2", "primary_id": "R1", "primary_end": "撤回"})
        == "与您的诉求合并办理的诉求 R1 已撤回，您的诉求（编号 R2）将继续办理并按时反馈结果。"
    )
    assert render("materials_still_missing", {"request_id": "R3", "missing": "身份证（缺少）"}) == (
        "已收到您补充的材料，但还缺少以下材料，请补齐：身份证（缺少）。补齐后我们继续办理（编号 R3）。"
    )


def test_a_chase_reaches_the_head_in_words() -> None:
    text = render(
        "request_chased",
        {
            "request_id": "R1",
            "chased_by": "agent-001",
            "chase_count": 2,
            "note": "市民再次来电。",
            "department": "urban",
        },
        audience="department_head",
    )
    assert (
        text == "首问责任人 agent-001 催办诉求 R1（第 2 次催办）：市民再次来电。"
        "请督促贵单位（城市管理局）尽快办理。"
    )


def test_a_bad_rating_is_named_in_chinese_for_the_head() -> None:
    text = render(
        "rectification_assigned",
        {
            "staff_id": "window-01",
            "level": "very_unsatisfied",
            "due": "2026-12-04T10:00:00+00:00",
            "department": "service_center",
        },
        audience="department_head",
    )
    assert (
        text == "政务服务中心的工作人员 window-01 收到一条差评（非常不满意），"
        "请在 2026年12月4日 18:00 前完成整改并登记结果。"
    )


def test_sla_alerts_name_the_clock_the_time_and_the_department() -> None:
    params = {
        "request_id": "R1",
        "clock": "resolve",
        "due": "2026-12-11T10:00:00+00:00",
        "department": "water",
    }
    assert render("sla_warning", params, audience="department_head") == (
        "诉求 R1 的办结时限将于 2026年12月11日 18:00 到期，请督促贵单位（水务集团）及时办理。"
    )
    assert render("sla_breached", params, audience="supervisors") == (
        "诉求 R1 已超过办结时限（2026年12月11日 18:00，承办单位：水务集团），请督办。"
    )
