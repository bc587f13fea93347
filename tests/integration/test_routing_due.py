"""Routing's due times as people read them (issue 18, handling): warnings fall in working
time; an approved extension or a pause moves the feedback due with the resolve due and
warns again on the business calendar; SLA alerts and pending extensions reach the handler,
the head and (for a breach) the supervisors, one notification each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.intake.domain.notifications import render
from services.routing import store as routing_store
from services.routing.consumers import HANDLERS
from services.routing.main import build_app
from shared.auth import issue_staff_token
from shared.clock import organisation_tz
from shared.events.catalogue import (
    Due,
    FirstResponder,
    RequestExtensionDecided,
    RequestExtensionRequested,
    RequestPaused,
    RequestReceived,
    RequestResumed,
    RequestSlaBreached,
    RequestSlaWarning,
    RequestSupervised,
    RequestSupervisionAnswered,
)
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.integration.test_routing import apply, emitted
from tests.support.events import envelope

TZ = organisation_tz()
SATURDAY_MORNING = datetime(2026, 12, 5, 10, 0, tzinfo=TZ)


@pytest.fixture
async def routing(platform: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    runtime = ServiceRuntime(
        name="routing", metadata=routing_store.metadata, handlers=HANDLERS, settings=platform
    )
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


def at(env: Envelope, moment: datetime) -> Envelope:
    return env.model_copy(update={"occurred_at": moment})


async def routed_on(runtime: ServiceRuntime, moment: datetime, category: str = "repair") -> dict[str, Any]:
    data = RequestReceived(
        channel="web",
        category=category,  # type: ignore[arg-type]
        urgency="normal",
        submitted_at=moment,
        first_responder=FirstResponder(kind="channel", id="web"),
        content="楼下路灯坏了好几天了晚上黑漆漆的",
    )
    env = at(envelope(str(uuid.uuid4()), data), moment)
    await apply(runtime, env)
    routed = [e for e in await emitted(runtime, env.request_id) if e["type"] == "request.routed"]
    return dict(routed[0])


async def test_warnings_of_working_time_clocks_fall_in_working_time(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    _, runtime = routing
    routed = await routed_on(runtime, SATURDAY_MORNING)
    async with runtime.sessions() as session:
        calendar = await routing_store.load_calendar(session, runtime.settings.working_hours)
    warn, due = routed["data"]["warn_at"], routed["data"]["due"]
    for clock in ("accept", "first_contact", "resolve", "feedback", "revisit"):
        moment = datetime.fromisoformat(warn[clock])
        local = moment.astimezone(TZ).strftime("%Y年%m月%d日 %H:%M %A")
        assert calendar.is_working_time(moment), f"{clock} warns at {local}, outside working time"
        assert moment < datetime.fromisoformat(due[clock])


async def test_an_approved_extension_moves_the_feedback_due_and_warns_in_working_time(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    _, runtime = routing
    routed = await routed_on(runtime, SATURDAY_MORNING)
    rid, lead = routed["request_id"], routed["data"]["lead_department"]
    old_resolve = datetime.fromisoformat(routed["data"]["due"]["resolve"])
    new_resolve = (old_resolve + timedelta(days=7)).replace(hour=17, minute=0)
    decided = RequestExtensionDecided(
        department=lead,
        clock="resolve",
        approved=True,
        new_due=new_resolve,
        decided_by=f"head-{lead}",
        extension_id=str(uuid.uuid4()),
    )
    await apply(runtime, envelope(rid, decided))
    changed = [e for e in await emitted(runtime, rid) if e["type"] == "request.due_changed"]
    assert len(changed) == 1 and changed[0]["data"]["reason"] == "extension"
    due, warn = changed[0]["data"]["due"], changed[0]["data"]["warn_at"]
    assert datetime.fromisoformat(due["resolve"]) == new_resolve
    feedback = datetime.fromisoformat(due["feedback"])
    assert feedback > new_resolve  # never due before the result it reports
    async with runtime.sessions() as session:
        calendar = await routing_store.load_calendar(session, runtime.settings.working_hours)
    assert feedback == calendar.add(new_resolve, 2, "working_days")
    assert calendar.is_working_time(datetime.fromisoformat(warn["resolve"]))
    assert datetime.fromisoformat(warn["resolve"]) > datetime.fromisoformat(
        routed["data"]["warn_at"]["resolve"]
    )
    assert due["accept"] == routed["data"]["due"]["accept"]  # the other clocks stay

    # A rejected extension moves nothing.
    rejected = decided.model_copy(update={"approved": False, "new_due": None})
    await apply(runtime, envelope(rid, rejected))
    assert len([e for e in await emitted(runtime, rid) if e["type"] == "request.due_changed"]) == 1

    # The end of a pause moves the due times it names, and the feedback with them.
    later = new_resolve + timedelta(days=1)
    await apply(runtime, envelope(rid, RequestResumed(department=lead, due=Due(resolve=later))))
    changed = [e for e in await emitted(runtime, rid) if e["type"] == "request.due_changed"]
    assert changed[-1]["data"]["reason"] == "pause"
    assert datetime.fromisoformat(changed[-1]["data"]["due"]["feedback"]) == calendar.add(
        later, 2, "working_days"
    )


async def test_where_a_request_stands_says_its_clocks_are_paused_until_they_run_again(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    """The first responder's list (我的首问) reads the assignment: while the lead department
    waits on the person it must not count the clocks down."""
    client, runtime = routing
    routed = await routed_on(runtime, SATURDAY_MORNING)
    rid, lead = routed["request_id"], routed["data"]["lead_department"]
    agent = {"Authorization": f"Bearer {issue_staff_token('agent-1', 'agent', settings=runtime.settings)}"}

    async def paused_since() -> str | None:
        answer = await client.get(f"/v1/assignments/{rid}", headers=agent)
        assert answer.status_code == 200, answer.text
        return answer.json()["paused_since"]

    assert await paused_since() is None
    # A co-handler's pause stops only its own part: the lead's clocks still run.
    await apply(runtime, envelope(rid, RequestPaused(department="elsewhere", reason="等材料")))
    assert await paused_since() is None
    pause = at(envelope(rid, RequestPaused(department=lead, reason="等待市民提供照片")), SATURDAY_MORNING)
    await apply(runtime, pause)
    assert datetime.fromisoformat(str(await paused_since())) == SATURDAY_MORNING
    later = datetime.fromisoformat(routed["data"]["due"]["resolve"]) + timedelta(days=2)
    await apply(runtime, envelope(rid, RequestResumed(department=lead, due=Due(resolve=later))))
    assert await paused_since() is None


async def test_sla_alerts_reach_the_handler_the_head_and_for_a_breach_the_supervisors_once(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    _, runtime = routing
    rid = str(uuid.uuid4())
    due = datetime(2026, 12, 3, 18, 0, tzinfo=TZ)
    await apply(
        runtime,
        envelope(rid, RequestSlaWarning(department="urban", clock="resolve", due=due, handler_id="h-urban")),
    )
    told = [e["data"] for e in await emitted(runtime, rid) if e["type"] == "notification.requested"]
    assert [(n["audience"], n["recipients"], n["template"]) for n in told] == [
        (["handler"], ["h-urban"], "sla_warning"),
        (["department_head"], ["head-urban"], "sla_warning"),
    ]
    assert told[0]["params"]["due"] == "2026年12月3日 18:00" and told[0]["params"]["clock_name"] == "办结"
    assert render(
        "sla_warning", {"request_id": rid, **told[0]["params"]}, audience=told[0]["audience"][0]
    ) == (f"诉求 {rid} 的办结时限将于 2026年12月3日 18:00 到期，请抓紧办理。")

    await apply(
        runtime,
        envelope(rid, RequestSlaBreached(department="urban", clock="resolve", due=due, handler_id="h-urban")),
    )
    told = [e["data"] for e in await emitted(runtime, rid) if e["type"] == "notification.requested"][2:]
    assert [(n["audience"], n["recipients"], n["template"]) for n in told] == [
        (["handler"], ["h-urban"], "sla_breached"),
        (["department_head"], ["head-urban"], "sla_breached"),
        (["supervisors"], ["supervisor-01", "supervisor-02"], "sla_breached"),
    ]


async def test_the_head_is_told_an_extension_decision_is_waiting(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    _, runtime = routing
    rid, ext_id = str(uuid.uuid4()), str(uuid.uuid4())
    requested = RequestExtensionRequested(
        department="water",
        clock="resolve",
        requested_due=datetime(2026, 12, 18, 17, 30, tzinfo=TZ),
        reason="需要协调施工队封路抢修",
        extension_id=ext_id,
    )
    await apply(runtime, envelope(rid, requested))
    told = [e["data"] for e in await emitted(runtime, rid) if e["type"] == "notification.requested"]
    assert len(told) == 1
    assert told[0]["template"] == "extension_decision_waiting"
    assert told[0]["audience"] == ["department_head"] and told[0]["recipients"] == ["head-water"]
    assert told[0]["params"]["extension_id"] == ext_id
    assert told[0]["params"]["requested_due"] == "2026年12月18日 17:30"
    assert told[0]["params"]["reason"] == "需要协调施工队封路抢修"
    assert render(
        "extension_decision_waiting", {"request_id": rid, **told[0]["params"]}, audience="department_head"
    ) == (f"诉求 {rid} 申请将办结时限延至 2026年12月18日 17:30，理由：需要协调施工队封路抢修。请您审批。")


async def test_a_supervision_order_is_told_to_the_head_and_its_answer_to_the_supervisor(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    _, runtime = routing
    rid = str(uuid.uuid4())
    ordered = RequestSupervised(
        order_id="o-7",
        department="water",
        instructions="今天下班前恢复供水",
        due=datetime(2026, 12, 3, 17, tzinfo=TZ),
    )
    await apply(runtime, envelope(rid, ordered))
    answered = RequestSupervisionAnswered(
        order_id="o-7",
        department="water",
        answer="抢修完毕，已恢复供水",
        answered_by="head-water",
        on_time=True,
        issued_by="supervisor-02",
    )
    await apply(runtime, envelope(rid, answered))
    told = [e["data"] for e in await emitted(runtime, rid) if e["type"] == "notification.requested"]
    assert [(n["template"], n["audience"], n["recipients"]) for n in told] == [
        ("supervision_ordered", ["department_head"], ["head-water"]),
        ("supervision_answered", ["supervisors"], ["supervisor-02"]),
    ]
    assert render(
        "supervision_ordered", {"request_id": rid, **told[0]["params"]}, audience="department_head"
    ) == (f"督办通知：诉求 {rid} 请于 2026年12月3日 17:00 前办理并回复。督办要求：今天下班前恢复供水")
    assert render(
        "supervision_answered", {"request_id": rid, **told[1]["params"]}, audience="supervisors"
    ) == (f"诉求 {rid} 的督办已由水务集团按时回复：抢修完毕，已恢复供水")
