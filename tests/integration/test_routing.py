"""Routing against the real PostgreSQL: rules, returns and escalation, urgent notices,
manual dispatch, the calendar API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.routing import store as routing_store
from services.routing.consumers import HANDLERS
from services.routing.main import build_app
from shared.auth import issue_staff_token
from shared.db import outbox_table
from shared.events.catalogue import CATALOGUE, FirstResponder, RequestReceived, RequestReturned
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.support.events import envelope

ADMIN = {"Authorization": "Bearer " + issue_staff_token("admin-01", "admin")}
AGENT = {"Authorization": "Bearer " + issue_staff_token("agent-001", "agent")}
SUPERVISOR = {"Authorization": "Bearer " + issue_staff_token("supervisor-01", "supervisor")}


@pytest.fixture
async def routing(platform: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    runtime = ServiceRuntime(
        name="routing", metadata=routing_store.metadata, handlers=HANDLERS, settings=platform
    )
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


async def apply(runtime: ServiceRuntime, env: Envelope) -> None:
    data = CATALOGUE[(env.type, env.version)].model_validate(env.data)
    async with runtime.uow() as uow:
        await HANDLERS[type(data)](uow, env, data)
        await uow.commit()


def received(**kw: Any) -> Envelope:
    fields: dict[str, Any] = {
        "channel": "web",
        "category": "repair",
        "urgency": "normal",
        "submitted_at": "2026-11-25T10:00:00+08:00",
        "first_responder": FirstResponder(kind="channel", id="web"),
        **kw,
    }
    return envelope(str(uuid.uuid4()), RequestReceived(**fields))


async def emitted(runtime: ServiceRuntime, request_id: str) -> list[dict[str, Any]]:
    outbox = outbox_table(routing_store.metadata)
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(outbox.c.payload).where(outbox.c.key == request_id).order_by(outbox.c.id)
        )
        return list(rows)


async def test_a_keyword_rule_routes_and_is_recorded(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = routing
    rule = {
        "id": f"kw-{uuid.uuid4().hex[:6]}",
        "priority": 1,
        "match": {"keywords": ["流浪狗"]},
        "lead_department": "environment",
    }
    assert (await client.post("/v1/rules", json=rule, headers=ADMIN)).status_code == 201
    env = received(content="小区里有流浪狗追人")
    try:
        await apply(runtime, env)
    finally:
        await client.put(f"/v1/rules/{rule['id']}", json={**rule, "active": False}, headers=ADMIN)
    events = await emitted(runtime, env.request_id)
    assert events[0]["type"] == "request.routed"
    assert (
        events[0]["data"]["rule_id"] == rule["id"] and events[0]["data"]["lead_department"] == "environment"
    )
    assert events[0]["data"]["due"]["accept"] and events[0]["data"]["warn_at"]["accept"]


async def test_each_runtime_keeps_its_own_configuration(
    routing: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    """Two replicas in one process (issue 22: the cache is the runtime's, not a module's):
    an edit through one is read there at once, by the other once its time to live passed."""
    client, runtime = routing
    replica = ServiceRuntime(
        name="routing", metadata=routing_store.metadata, handlers=HANDLERS, settings=platform
    )
    try:
        cache = replica.local.get(routing_store.ConfigCache)
        assert cache is not runtime.local.get(routing_store.ConfigCache)
        cache.ttl_seconds = 3600.0

        async def rule_ids(rt: ServiceRuntime) -> set[str]:
            async with rt.uow() as uow:
                config = await rt.local.get(routing_store.ConfigCache).get(
                    uow.session, platform.working_hours
                )
            return {rule.id for rule in config.rules}

        await rule_ids(replica)  # the replica has read the configuration
        await rule_ids(runtime)
        code = f"replica-{uuid.uuid4().hex[:6]}"
        rule = {"id": code, "priority": 1, "match": {"keywords": [code]}, "lead_department": "urban"}
        assert (await client.post("/v1/rules", json=rule, headers=ADMIN)).status_code == 201
        assert rule["id"] in await rule_ids(runtime)  # its own edit, at once
        assert rule["id"] not in await rule_ids(replica)  # within the replica's time to live
        cache.ttl_seconds = 0.0
        assert rule["id"] in await rule_ids(replica)
    finally:
        await replica.engine.dispose()


async def test_returns_reroute_excluding_returners_then_escalate(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = routing
    env = received(category="complaint")
    await apply(runtime, env)
    first_lead = (await emitted(runtime, env.request_id))[0]["data"]["lead_department"]
    assert first_lead == "market"
    await apply(
        runtime, envelope(env.request_id, RequestReturned(department="market", reason="不属于我局职责。"))
    )
    rerouted, told = (await emitted(runtime, env.request_id))[-2:]
    assert rerouted["type"] == "request.rerouted" and rerouted["data"]["excluded_departments"] == ["market"]
    second = rerouted["data"]["lead_department"]
    assert second != "market"
    # The first responder owns the request: they hear it was returned, why, and where it went.
    assert told["type"] == "notification.requested"
    assert told["data"]["template"] == "request_returned" and told["data"]["audience"] == ["first_responder"]
    assert told["data"]["params"] == {"from_department": "market", "reason": "不属于我局职责。"}
    assert told["data"]["department"] == second

    await apply(
        runtime, envelope(env.request_id, RequestReturned(department=second, reason="应由街道办处理"))
    )
    types = [e["type"] for e in await emitted(runtime, env.request_id)]
    assert types[-3:] == ["request.escalated", "notification.requested", "request.rerouted"]
    events = await emitted(runtime, env.request_id)
    # The reason is the departments' own, in Chinese, not "returned 2 times".
    assert events[-3]["data"] == {
        "to_department": "coordination",
        "reason": "已被退回 2 次：市场监管局：不属于我局职责；12345 热线协调办：应由街道办处理",
        "returns": 2,
    }
    assert events[-2]["data"]["recipients"] == ["head-coordination"]
    assert events[-2]["data"]["params"]["reason"] == events[-3]["data"]["reason"]
    assert events[-2]["data"]["audience"] == ["department_head", "first_responder"]
    assert events[-1]["data"]["lead_department"] == "coordination"

    history = (await client.get(f"/v1/assignments/{env.request_id}", headers=AGENT)).json()
    assert [h["kind"] for h in history["history"]] == [
        "routed",
        "returned",
        "rerouted",
        "returned",
        "escalated",
        "rerouted",
    ]
    assert history["returns"] == 2

    # The coordinating department's head dispatches it by hand.
    other_head = {"Authorization": "Bearer " + issue_staff_token("head-urban", "dept_head", "urban")}
    body = {"lead_department": "housing", "co_departments": ["urban"], "reason": "物业问题"}
    assert (
        await client.post(f"/v1/assignments/{env.request_id}", json=body, headers=other_head)
    ).status_code == 403
    coord = {"Authorization": "Bearer " + issue_staff_token("head-coordination", "dept_head", "coordination")}
    bad = await client.post(
        f"/v1/assignments/{env.request_id}", json={**body, "lead_department": "nowhere"}, headers=coord
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "lead_department"
    done = await client.post(f"/v1/assignments/{env.request_id}", json=body, headers=coord)
    assert done.status_code == 200, done.text
    last = (await emitted(runtime, env.request_id))[-1]
    assert last["data"]["lead_department"] == "housing" and last["data"]["co_departments"] == ["urban"]
    assert last["actor"] == {"kind": "staff", "id": "head-coordination"}


async def test_urgent_requests_notify_the_head_and_supervisors(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    _, runtime = routing
    env = received(urgency="urgent", category="help")
    await apply(runtime, env)
    routed, notice = await emitted(runtime, env.request_id)
    assert routed["data"]["urgency"] == "urgent"
    assert notice["type"] == "notification.requested"
    assert notice["data"]["audience"] == ["department_head", "supervisors"]
    assert notice["data"]["recipients"] == ["head-urban", "supervisor-01", "supervisor-02"]
    # Who is reached as which audience: each is worded for who they are, reached once.
    assert notice["data"]["recipients_by_audience"] == {
        "department_head": ["head-urban"],
        "supervisors": ["supervisor-01", "supervisor-02"],
    }


async def test_redelivery_of_received_routes_once(routing: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    _, runtime = routing
    env = received()
    await apply(runtime, env)
    await apply(runtime, env)  # the consumer's inbox would skip it; the handler is safe anyway
    assert [e["type"] for e in await emitted(runtime, env.request_id)] == ["request.routed"]


async def test_the_calendar_api(routing: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, _ = routing
    due = await client.post(
        "/v1/calendar/due",
        headers=AGENT,
        json={"start": "2026-09-30T10:00:00+08:00", "amount": 1, "unit": "working_days"},
    )
    assert due.json()["due"] == "2026-10-08T18:00:00+08:00"
    paused = await client.post(
        "/v1/calendar/due",
        headers=AGENT,
        json={
            "start": "2026-11-25T10:00:00+08:00",
            "amount": 4,
            "unit": "working_hours",
            "pauses": [
                {"paused_from": "2026-11-25T11:00:00+08:00", "paused_until": "2026-11-25T14:00:00+08:00"}
            ],
        },
    )
    assert paused.json()["due"] == "2026-11-25T17:00:00+08:00"
    day = (await client.get("/v1/calendar/days/2026-02-14", headers=AGENT)).json()
    assert day == {"day": "2026-02-14", "workday": True, "edited": True}

    assert (
        await client.put(
            "/v1/calendar/days/2027-12-31", json={"workday": False, "note": "test"}, headers=AGENT
        )
    ).status_code == 403
    put = await client.put(
        "/v1/calendar/days/2027-12-31", json={"workday": False, "note": "假期"}, headers=ADMIN
    )
    assert put.status_code == 200
    assert (await client.get("/v1/calendar/days/2027-12-31", headers=AGENT)).json()["workday"] is False

    bad = await client.post(
        "/v1/calendar/due",
        headers=AGENT,
        json={"start": "2026-11-25T10:00:00", "amount": -1, "unit": "weeks"},
    )
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["error"]["fields"]} == {"start", "amount", "unit"}


async def test_sla_policies_are_validated(routing: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, _ = routing
    half = {
        "scope": "complaint",
        "urgency": "normal",
        "clock": "resolve",
        "amount": 1.5,
        "unit": "working_days",
    }
    response = await client.put("/v1/sla-policies", json=half, headers=ADMIN)
    assert (
        response.status_code == 422 and response.json()["error"]["fields"][0]["rule"] == "whole_working_days"
    )
    scoped = {
        "scope": "business:residence_permit",
        "urgency": "normal",
        "clock": "resolve",
        "amount": 5,
        "unit": "working_days",
        "warning_fraction": 0.5,
    }
    assert (await client.put("/v1/sla-policies", json=scoped, headers=ADMIN)).status_code == 200
    policies = (await client.get("/v1/sla-policies", headers=AGENT)).json()["items"]
    assert {
        "scope": "business:residence_permit",
        "urgency": "normal",
        "clock": "resolve",
        "amount": 5.0,
        "unit": "working_days",
        "warning_fraction": 0.5,
    } in policies


async def test_dispatching_a_closed_or_unknown_request(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, _ = routing
    body = {"lead_department": "housing", "reason": "x"}
    missing = await client.post(f"/v1/assignments/{uuid.uuid4()}", json=body, headers=SUPERVISOR)
    assert missing.status_code == 404


async def test_service_level_dispatch_checks_the_state(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = routing
    env = received()
    await apply(runtime, env)
    async with runtime.uow() as uow:
        await routing_store.update_route(uow.session, env.request_id, state="closed")
        await uow.commit()
    answer = await client.post(
        f"/v1/assignments/{env.request_id}",
        json={"lead_department": "housing", "reason": "x"},
        headers=SUPERVISOR,
    )
    assert answer.status_code == 409 and answer.json()["error"]["current_state"] == "closed"


async def test_the_department_tree_refuses_cycles(routing: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, _ = routing
    parent = {"code": f"p{uuid.uuid4().hex[:6]}", "name": "街道办"}
    child = {"code": f"c{uuid.uuid4().hex[:6]}", "name": "社区", "parent": parent["code"]}
    assert (await client.post("/v1/departments", json=parent, headers=ADMIN)).status_code == 201
    assert (await client.post("/v1/departments", json=child, headers=ADMIN)).status_code == 201
    loop = await client.put(
        f"/v1/departments/{parent['code']}", json={**parent, "parent": child["code"]}, headers=ADMIN
    )
    assert loop.status_code == 422 and loop.json()["error"]["fields"][0]["rule"] == "no_cycle"
    orphan = await client.post(
        "/v1/departments", json={"code": "x1", "name": "x", "parent": "nowhere"}, headers=ADMIN
    )
    assert orphan.status_code == 422 and orphan.json()["error"]["fields"][0]["field"] == "parent"
    again = await client.post("/v1/departments", json=parent, headers=ADMIN)
    assert again.status_code == 409
    assert (await client.post("/v1/departments", json=parent, headers=AGENT)).status_code == 403


async def test_a_chase_reaches_the_lead_departments_head(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    from shared.events.catalogue import RequestChased

    _, runtime = routing
    env = received(category="repair")
    await apply(runtime, env)
    lead = (await emitted(runtime, env.request_id))[0]["data"]["lead_department"]
    await apply(
        runtime,
        envelope(
            env.request_id,
            RequestChased(department=lead, chased_by="agent-001", note="市民再次来电", chase_count=1),
        ),
    )
    notice = (await emitted(runtime, env.request_id))[-1]
    assert notice["type"] == "notification.requested" and notice["data"]["template"] == "request_chased"
    assert notice["data"]["recipients_by_audience"] == {"department_head": [f"head-{lead}"]}
    assert notice["data"]["params"] == {"chased_by": "agent-001", "chase_count": 1, "note": "市民再次来电"}


async def test_a_duplicate_handed_back_is_routed_afresh(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    from shared.events.catalogue import RequestMerged, RequestMergeReleased

    _, runtime = routing
    env = received(category="repair")
    await apply(runtime, env)
    await apply(runtime, envelope(env.request_id, RequestMerged(into_request_id=str(uuid.uuid4()))))
    await apply(runtime, envelope(env.request_id, RequestMergeReleased(former_primary_id="p")))
    types = [e["type"] for e in await emitted(runtime, env.request_id)]
    assert types == ["request.routed", "request.routed"]


async def test_next_year_is_seeded_provisional_and_admins_are_warned_from_november(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    from shared.clock import now

    client, _ = routing
    new_year = (await client.get("/v1/calendar/days/2027-01-01", headers=AGENT)).json()
    assert new_year["workday"] is False  # 2027 is covered, from the statutory days
    year = (await client.get("/v1/calendar/years/2027", headers=AGENT)).json()
    assert year["provisional"] is True and year["source"] == "holidays" and year["make_up_days"] == []
    status = (await client.get("/v1/calendar/years", headers=AGENT)).json()
    today = now().date()
    if today.year == 2026 and today.month >= 11:
        assert status["warning"].startswith("2027 年的节假日安排尚未录入国务院办公厅通知")
    elif today.year == 2026:
        assert status["warning"] is None
    ready = (await client.get("/readyz")).json()
    assert ready.get("detail") == ({"calendar": {"warning": status["warning"]}} if status["warning"] else {})
    metrics = (await client.get("/metrics")).text
    assert (
        f'calendar_next_year_provisional{{service="routing"}} {1.0 if status["warning"] else 0.0}' in metrics
    )


async def test_entering_a_notice_recomputes_due_times_not_yet_due(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    client, runtime = routing
    # A request whose clocks run in late December 2030 (a year nobody else's test uses).
    env = received(category="repair")
    start = datetime(2030, 12, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
    await apply(runtime, env.model_copy(update={"occurred_at": start}))
    before = (await emitted(runtime, env.request_id))[0]["data"]["due"]
    assert before["resolve"].startswith("2030-12-30T18:00")  # five working days, weekends only

    notice = {
        "notice": "国务院办公厅关于2030年部分节假日安排的通知（测试）",
        "holidays": ["2030-12-26", "2030-12-27"],
        "workdays": ["2030-12-29"],
    }
    outside = await client.put(
        "/v1/calendar/years/2030", json={**notice, "holidays": ["2031-01-01"]}, headers=ADMIN
    )
    assert outside.status_code == 422 and "not in 2030" in outside.json()["error"]["message"]
    assert (await client.put("/v1/calendar/years/2030", json=notice, headers=AGENT)).status_code == 403
    entered = await client.put("/v1/calendar/years/2030", json=notice, headers=ADMIN)
    assert entered.status_code == 200, entered.text
    body = entered.json()
    assert body["provisional"] is False and body["requests_recomputed"] >= 1
    assert body["days_off"] == ["2030-12-26", "2030-12-27"] and body["make_up_days"] == ["2030-12-29"]

    recomputed = (await emitted(runtime, env.request_id))[-1]
    assert recomputed["type"] == "request.due_recomputed"
    assert recomputed["data"]["previous"]["resolve"] == before["resolve"]
    # Two days off, one Sunday worked: the fifth working day is now Tuesday 31 December.
    assert recomputed["data"]["due"]["resolve"].startswith("2030-12-31T18:00")
    assert "2030年节假日安排" in recomputed["data"]["reason"]
    assert (await client.get("/v1/calendar/days/2030-12-29", headers=AGENT)).json()["workday"] is True
    again = await client.put("/v1/calendar/years/2030", json=notice, headers=ADMIN)
    assert again.json()["requests_recomputed"] == 0  # nothing moved the second time


async def test_a_requests_assignments_are_shown_to_its_own_departments_only(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    """GET /v1/assignments/{id} follows the department scope the policy table declares:
    the lead and co-handling departments' staff see it; to another department it does not
    exist (404); a department-scoped token without a department is refused (403)."""
    from sqlalchemy import update

    client, runtime = routing
    env = received(category="complaint")
    await apply(runtime, env)
    url = f"/v1/assignments/{env.request_id}"

    def staff(role: str, department: str | None = None) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_staff_token(f"{role}-{department}", role, department)}  # type: ignore[arg-type]

    lead = await client.get(url, headers=staff("handler", "market"))
    assert lead.status_code == 200 and lead.json()["lead_department"] == "market"
    assert (await client.get(url, headers=staff("dept_head", "market"))).status_code == 200
    for other in (staff("handler", "water"), staff("dept_head", "water")):
        refused = await client.get(url, headers=other)
        assert refused.status_code == 404, refused.text
        assert refused.json()["error"] == {
            "code": "not_found",
            "message": f"no request {env.request_id}",
            "fields": [],
        }
    no_department = await client.get(url, headers=staff("handler"))
    assert no_department.status_code == 403
    assert "needs a department" in no_department.json()["error"]["message"]
    assert (await client.get(url, headers=AGENT)).status_code == 200  # not department-scoped
    unknown = await client.get(f"/v1/assignments/{uuid.uuid4()}", headers=staff("handler", "market"))
    assert unknown.status_code == 404

    async with runtime.sessions() as session:
        await session.execute(
            update(routing_store.routes)
            .where(routing_store.routes.c.request_id == env.request_id)
            .values(co_departments=["water"])
        )
        await session.commit()
    assert (await client.get(url, headers=staff("handler", "water"))).status_code == 200  # co-handling
