"""A request's life through the five services' commands and consumers, on the real database
and the in-memory bus (tests/fast/conftest.py): the state each service shows at each step,
and the words the person, the first responder and the supervisors read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from services.followup import service as followup
from services.followup import store as followup_store
from services.handling import directory
from services.handling import service as handling
from services.handling import store as handling_store
from services.intake import service as intake
from services.intake import store as intake_store
from shared.auth import Principal
from shared.errors import Unprocessable
from shared.texts import department_name
from tests.fast.conftest import Platform
from tests.support import fake_routing
from tests.support.fake_routing import working_days_after

AGENT = Principal(kind="staff", id="agent-42", role="agent")
HANDLER = Principal(kind="staff", id="h-urban", role="handler", department="urban")
HEAD = Principal(kind="staff", id="head-urban", role="dept_head", department="urban")
PERSON = {"name": "李大妈", "phone": "13900000001"}
LAMP = "小区门口路灯坏了好几天了"


async def submitted(fast: Platform, content: str = LAMP) -> str:
    async with fast.intake.uow() as uow:
        result = await intake.submit_request(
            uow, AGENT, {"channel": "hotline", "content": content, "requester": PERSON}, None
        )
    await fast.bus.settle()
    return str(result.request["id"])


async def states(fast: Platform, request_id: str) -> dict[str, Any]:
    """Where each service says the request is."""
    async with fast.intake.sessions() as session:
        row = await intake_store.get_request(session, request_id)
    async with fast.handling.sessions() as session:
        cases = await handling_store.cases_of_request(session, request_id)
    async with fast.followup.sessions() as session:
        followed = await followup_store.find(session, request_id)
    assert row is not None and followed is not None
    return {
        "intake": row["state"],
        "lead": row["lead_department"],
        "cases": {c.department: c.state.value for c in cases},
        "followup": followed.state.value,
    }


def said(fast: Platform, request_id: str, since: int = 0) -> list[tuple[str, str]]:
    """Who was told what about the request (the person by name, staff by id), in order."""
    return [
        (str(n["destination"].get("staff_id") or n["destination"].get("name")), str(n["text"]))  # type: ignore[attr-defined]
        for n in fast.notifications(request_id)[since:]
    ]


async def accepted_and_resolved(fast: Platform, request_id: str, reply: str) -> None:
    async with fast.handling.uow() as uow:
        await handling.act(
            uow,
            HANDLER,
            request_id,
            lambda c: c.accept("urban", HANDLER.id),
            "accept",
            {"handler_id": HANDLER.id},
        )
    await fast.bus.settle()
    async with fast.handling.uow() as uow:
        await handling.resolve(uow, HANDLER, request_id, "resolved", reply, None)
    await fast.bus.settle()


async def feedback_given(fast: Platform, request_id: str) -> None:
    async with fast.followup.uow() as uow:
        await followup.give_feedback(uow, AGENT, request_id, None)
    await fast.bus.settle()


async def rated(fast: Platform, request_id: str, rating: Any, reason: str | None = None) -> dict[str, Any]:
    async with fast.followup.uow() as uow:
        answer = await followup.rate(uow, AGENT, request_id, rating, None, None, reason)
    await fast.bus.settle()
    return answer


async def test_a_citizens_request_reaches_the_department_that_opens_its_case(fast: Platform) -> None:
    rid = await submitted(fast)
    assert await states(fast, rid) == {
        "intake": "routed",
        "lead": "urban",
        "cases": {"urban": "routed"},
        "followup": "routed",
    }
    assert said(fast, rid) == []  # a normal request: nobody is told before the case is acted on


async def test_the_person_reads_the_reply_then_the_survey_and_the_first_responder_the_outcome(
    fast: Platform,
) -> None:
    rid = await submitted(fast)
    await accepted_and_resolved(fast, rid, "路灯已于今日修复。")
    assert (await states(fast, rid))["followup"] == "resolved"
    await feedback_given(fast, rid)
    assert said(fast, rid) == [
        ("李大妈", f"您的诉求（编号 {rid}）已办理完毕：路灯已于今日修复。请对办理结果进行评价。"),
        ("agent-42", f"您首问受理的诉求 {rid} 已由城市管理局办结，答复诉求人：路灯已于今日修复。"),
        ("李大妈", f"请对诉求 {rid} 的办理结果评价：满意 / 基本满意 / 不满意。"),
    ]
    # The survey's deadline is counted in working days on routing's calendar (here: the fake's).
    [given] = [
        e for e in fast.bus.on(fast.settings.lifecycle_topic, rid) if e["type"] == "request.feedback_given"
    ]
    async with fast.followup.sessions() as session:
        survey_due = await session.scalar(
            select(followup_store.followups.c.survey_due).where(followup_store.followups.c.request_id == rid)
        )
    expected = working_days_after(
        datetime.fromisoformat(given["occurred_at"]), fast.settings.survey_working_days
    )
    assert survey_due == expected


async def test_an_unsatisfied_person_sends_the_case_back_to_the_department(fast: Platform) -> None:
    rid = await submitted(fast)
    await accepted_and_resolved(fast, rid, "路灯已于今日修复。")
    await feedback_given(fast, rid)
    before = len(fast.notifications(rid))
    answer = await rated(fast, rid, "unsatisfied", "晚上还是不亮")
    assert answer == {"request_id": rid, "state": "reopened", "reopen_count": 1}
    assert await states(fast, rid) == {
        "intake": "routed",
        "lead": "urban",
        "cases": {"urban": "routed"},  # back in the department's queue, to be accepted again
        "followup": "routed",
    }
    assert said(fast, rid, before) == [
        (
            "李大妈",
            f"您对诉求（编号 {rid}）办理结果的不满意意见已收到，"
            "已交城市管理局重新办理，办理完毕后再次告知您。",
        ),
        (
            "agent-42",
            f"您首问受理的诉求 {rid} 诉求人不满意（晚上还是不亮），已交城市管理局重新办理（第 1 次重办）。",
        ),
    ]


async def test_past_the_reopen_limit_the_supervisors_named_by_the_directory_take_it_up(
    fast: Platform,
) -> None:
    """After `max_reopens` rounds an unsatisfied rating goes to the supervisors (督办); who
    they are comes from routing's directory (the fake: two active, one who left)."""
    rid = await submitted(fast)
    for _ in range(fast.settings.max_reopens):
        await accepted_and_resolved(fast, rid, "已修复。")
        await feedback_given(fast, rid)
        assert (await rated(fast, rid, "unsatisfied", "还是不亮"))["state"] == "reopened"
    await accepted_and_resolved(fast, rid, "已更换灯杆。")
    await feedback_given(fast, rid)
    before = len(fast.notifications(rid))
    answer = await rated(fast, rid, "unsatisfied", "还是不亮")
    assert answer == {"request_id": rid, "state": "rated", "reopen_count": 2}
    assert (await states(fast, rid))["cases"] == {"urban": "resolved"}  # no third round
    words = f"诉求 {rid}（城市管理局）已重办 2 次仍不满意（还是不亮），请督办组介入。"
    assert said(fast, rid, before) == [("supervisor-01", words), ("supervisor-02", words)]


async def test_a_department_that_returns_a_request_sees_it_go_elsewhere_and_the_first_responder_is_told(
    fast: Platform,
) -> None:
    rid = await submitted(fast)
    async with fast.handling.uow() as uow:
        await handling.return_case(uow, HANDLER, rid, "路灯归供电公司管理，不属本局职责")
    await fast.bus.settle()
    after = await states(fast, rid)
    rerouted = after["lead"]
    assert rerouted != "urban"
    assert after["cases"] == {"urban": "returned", rerouted: "routed"}
    assert said(fast, rid) == [
        (
            "agent-42",
            f"您首问受理的诉求 {rid} 被城市管理局退回（路灯归供电公司管理，不属本局职责），"
            f"已改派至{department_name(rerouted)}。",
        )
    ]


async def test_a_head_accepts_for_a_handler_the_directory_names_and_is_told_why_not_for_others(
    fast: Platform,
) -> None:
    """Who a case may be accepted for is asked of routing's directory (here: the fake)
    before the case is touched; the refusal names the field and says why."""
    rid = await submitted(fast)
    refusals = {}
    for someone in ("h-urban-gone", "h-water", "nobody-here"):
        try:
            await directory.check_handler(fast.settings, HEAD, someone)
        except Unprocessable as exc:
            refusals[someone] = (exc.message, [f["rule"] for f in exc.fields])
    assert refusals == {
        "h-urban-gone": ("handler_id: h-urban-gone is no longer active in the directory", ["active_staff"]),
        "h-water": ("handler_id: h-water is staff of water, not of urban", ["same_department"]),
        "nobody-here": ("handler_id: nobody-here is not in the staff directory", ["known_staff"]),
    }
    await directory.check_handler(fast.settings, HEAD, "h-urban")
    async with fast.handling.uow() as uow:
        await handling.act(
            uow, HEAD, rid, lambda c: c.accept("urban", "h-urban"), "accept", {"handler_id": "h-urban"}
        )
    await fast.bus.settle()
    after = await states(fast, rid)
    assert (after["intake"], after["cases"]) == ("accepted", {"urban": "accepted"})


async def test_followup_asks_routing_nothing_while_it_holds_a_row_lock(fast: Platform) -> None:
    """Never call another service while holding a row lock: a slow routing would hold the
    request's row, and every event of it, behind the call. Each call the fake answers looks
    at the locks followup's transactions hold on its tables meanwhile."""
    held: list[tuple[str, list[str]]] = []

    async def locks_meanwhile(path: str) -> None:
        async with fast.followup.sessions() as session:
            rows = await session.execute(
                text(
                    "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE l.pid <> pg_backend_pid() AND l.database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND l.mode IN ('RowShareLock', 'RowExclusiveLock') AND c.relkind = 'r'"
                )
            )
            tables = sorted(set(rows.scalars()))
        if tables:
            held.append((path, tables))

    fake_routing.ON_CALL.append(locks_meanwhile)
    try:
        rid = await submitted(fast)
        for _ in range(fast.settings.max_reopens):
            await accepted_and_resolved(fast, rid, "已修复。")
            await feedback_given(fast, rid)
            await rated(fast, rid, "unsatisfied", "还是不亮")
        await accepted_and_resolved(fast, rid, "已更换灯杆。")
        await feedback_given(fast, rid)
        await rated(fast, rid, "unsatisfied", "还是不亮")  # past the limit: the supervisors asked for
        await followup.expire_surveys(lambda: fast.followup.uow())
    finally:
        fake_routing.ON_CALL.remove(locks_meanwhile)
    assert held == []
    words = f"诉求 {rid}（城市管理局）已重办 2 次仍不满意（还是不亮），请督办组介入。"
    assert ("supervisor-01", words) in said(fast, rid)
