"""Handling against the real PostgreSQL: clocks and the scheduler (two instances, a
restart), extensions, co-handling opinions, the return window, supervision orders."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from services.handling import service
from services.handling import sla_scheduler as sla
from services.handling import store as handling_store
from services.handling.main import build_app
from shared.auth import issue_staff_token
from shared.clock import now, organisation_tz
from shared.db import outbox_table
from shared.events.catalogue import Due, RequestRouted
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.support.events import envelope


def bearer(sub: str, role: str, department: str | None = None) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_staff_token(sub, role, department)}  # type: ignore[arg-type]


URBAN = bearer("h-urban", "handler", "urban")
URBAN_HEAD = bearer("head-urban", "dept_head", "urban")
WATER = bearer("h-water", "handler", "water")
WATER_HEAD = bearer("head-water", "dept_head", "water")
SUPERVISOR = bearer("supervisor-01", "supervisor")


@pytest.fixture
async def handling(platform: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    runtime = ServiceRuntime(
        name="handling", metadata=handling_store.metadata, handlers={}, settings=platform
    )
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


async def route(
    runtime: ServiceRuntime,
    *,
    co: list[str] | None = None,
    urgency: str = "normal",
    accept_in: timedelta = timedelta(hours=8),
    resolve_in: timedelta = timedelta(days=5),
) -> str:
    t = now()
    due = Due(
        accept=t + accept_in,
        first_contact=t + accept_in * 2,
        resolve=t + resolve_in,
        feedback=t + resolve_in * 2,
    )
    warn = Due(accept=t + accept_in * 0.8, first_contact=t + accept_in * 1.6, resolve=t + resolve_in * 0.8)
    env = envelope(
        str(uuid.uuid4()),
        RequestRouted(
            lead_department="urban",
            co_departments=co or [],
            due=due,
            warn_at=warn,
            category="repair",
            urgency=urgency,
        ),
    )  # type: ignore[arg-type]
    async with runtime.uow() as uow:
        await service.open_cases(uow, env, RequestRouted.model_validate(env.data))
        await uow.commit()
    return env.request_id


async def events(runtime: ServiceRuntime, request_id: str) -> list[dict[str, Any]]:
    outbox = outbox_table(handling_store.metadata)
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(outbox.c.payload).where(outbox.c.key == request_id).order_by(outbox.c.id)
        )
        return list(rows)


async def test_each_warning_and_breach_is_emitted_once_by_two_schedulers_and_after_a_restart(
    handling: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    _, runtime = handling
    ids = [await route(runtime, accept_in=timedelta(minutes=10)) for _ in range(20)]
    later = now() + timedelta(minutes=9)  # past every accept warning (8 min), before its due time
    replica = ServiceRuntime(
        name="handling", metadata=handling_store.metadata, handlers={}, settings=platform
    )
    try:
        await asyncio.gather(
            sla.sweep(runtime.uow, at=later),
            sla.sweep(replica.uow, at=later),
            sla.sweep(runtime.uow, at=later),
        )
        much_later = now() + timedelta(minutes=11)
        await asyncio.gather(sla.sweep(runtime.uow, at=much_later), sla.sweep(replica.uow, at=much_later))
    finally:
        await replica.engine.dispose()
    restarted = ServiceRuntime(
        name="handling", metadata=handling_store.metadata, handlers={}, settings=platform
    )
    try:
        await sla.sweep(restarted.uow, at=now() + timedelta(minutes=12))
    finally:
        await restarted.engine.dispose()
    for rid in ids:
        alerts = [(e["type"], e["data"]["clock"]) for e in await events(runtime, rid) if "sla" in e["type"]]
        assert alerts == [("request.sla_warning", "accept"), ("request.sla_breached", "accept")]


async def test_accepting_stops_the_accept_clock(handling: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, runtime = handling
    rid = await route(runtime, accept_in=timedelta(minutes=10))
    assert (await client.post(f"/v1/cases/{rid}/accept", json={}, headers=URBAN)).status_code == 200
    await sla.sweep(runtime.uow, at=now() + timedelta(minutes=30))
    alerts = [e["data"]["clock"] for e in await events(runtime, rid) if "sla" in e["type"]]
    assert "accept" not in alerts


async def test_an_approved_extension_moves_the_clock_and_tells_the_person(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = handling
    rid = await route(runtime)
    await client.post(f"/v1/cases/{rid}/accept", json={}, headers=URBAN)
    new_due = (now() + timedelta(days=10)).isoformat()
    asked = await client.post(
        f"/v1/cases/{rid}/extensions",
        headers=URBAN,
        json={"clock": "resolve", "requested_due": new_due, "reason": "需要协调施工单位"},
    )
    assert asked.status_code == 201, asked.text
    extension = asked.json()["id"]
    assert (
        await client.post(f"/v1/extensions/{extension}/decision", headers=WATER_HEAD, json={"approve": True})
    ).status_code == 404
    decided = await client.post(
        f"/v1/extensions/{extension}/decision", headers=URBAN_HEAD, json={"approve": True, "note": "同意"}
    )
    assert decided.json()["state"] == "approved"
    assert (
        await client.post(f"/v1/extensions/{extension}/decision", headers=URBAN_HEAD, json={"approve": True})
    ).status_code == 409
    async with runtime.sessions() as session:
        due = await session.scalar(
            select(handling_store.clocks.c.due).where(
                handling_store.clocks.c.request_id == rid, handling_store.clocks.c.clock == "resolve"
            )
        )
    assert due == datetime.fromisoformat(new_due)
    types = [e["type"] for e in await events(runtime, rid)]
    assert types[-3:] == [
        "request.extension_requested",
        "request.extension_decided",
        "notification.requested",
    ]
    notice = (await events(runtime, rid))[-1]["data"]
    assert notice["template"] == "extension_notice" and notice["params"]["reason"] == "需要协调施工单位"
    # The person reads the new due time in the organisation's time zone, in words.
    local = datetime.fromisoformat(new_due).astimezone(organisation_tz())
    expected = f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"  # 2027年1月10日
    assert notice["params"]["new_due"] == expected


@pytest.mark.parametrize(
    ("delta", "rule"), [(timedelta(days=-1), "later_than_due"), (timedelta(days=60), "max_total_extension")]
)
async def test_extensions_outside_the_policy_are_refused(
    handling: tuple[httpx.AsyncClient, ServiceRuntime], delta: timedelta, rule: str
) -> None:
    client, runtime = handling
    rid = await route(runtime)
    response = await client.post(
        f"/v1/cases/{rid}/extensions",
        headers=URBAN,
        json={"requested_due": (now() + timedelta(days=5) + delta).isoformat(), "reason": "x"},
    )
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["rule"] == rule


async def test_at_most_two_extensions_per_clock(handling: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, runtime = handling
    rid = await route(runtime)
    for days in (7, 9):
        ext = (
            await client.post(
                f"/v1/cases/{rid}/extensions",
                headers=URBAN,
                json={"requested_due": (now() + timedelta(days=days)).isoformat(), "reason": "x"},
            )
        ).json()
        await client.post(f"/v1/extensions/{ext['id']}/decision", headers=SUPERVISOR, json={"approve": True})
    third = await client.post(
        f"/v1/cases/{rid}/extensions",
        headers=URBAN,
        json={"requested_due": (now() + timedelta(days=11)).isoformat(), "reason": "x"},
    )
    assert third.status_code == 422 and third.json()["error"]["fields"][0]["rule"] == "max_extensions"


async def test_the_lead_resolves_after_the_co_handlers_opinions(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = handling
    rid = await route(runtime, co=["water"])
    await client.post(f"/v1/cases/{rid}/accept", json={}, headers=URBAN)
    body = {"outcome": "resolved", "reply": "已联合处置"}
    early = await client.post(f"/v1/cases/{rid}/resolve", json=body, headers=URBAN)
    assert early.status_code == 409 and early.json()["error"]["code"] == "opinions_missing"
    assert (
        await client.post(f"/v1/cases/{rid}/opinions", json={"opinion": "x"}, headers=URBAN)
    ).status_code == 403
    assert (await client.post(f"/v1/cases/{rid}/accept", json={}, headers=WATER)).status_code == 403
    opinion = await client.post(f"/v1/cases/{rid}/opinions", json={"opinion": "管网已检修"}, headers=WATER)
    assert opinion.status_code == 200
    assert (await client.post(f"/v1/cases/{rid}/resolve", json=body, headers=URBAN)).json()[
        "state"
    ] == "resolved"

    other = await route(runtime, co=["water"])
    await client.post(f"/v1/cases/{other}/accept", json={}, headers=URBAN)
    override = await client.post(
        f"/v1/cases/{other}/resolve",
        headers=URBAN,
        json={**body, "override_reason": "水务集团5个工作日未答复"},
    )
    assert override.status_code == 200
    cannot = await client.post(
        f"/v1/cases/{other}/resolve", headers=URBAN, json={"outcome": "cannot_resolve", "reply": "x"}
    )
    assert cannot.status_code == 422 and cannot.json()["error"]["fields"][0]["rule"] == "reason_required"


async def test_returns_close_after_the_window(handling: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, runtime = handling
    rid = await route(runtime)
    await client.post(f"/v1/cases/{rid}/accept", json={}, headers=URBAN)
    async with runtime.sessions() as session:
        await session.execute(
            update(handling_store.cases)
            .where(handling_store.cases.c.request_id == rid)
            .values(accepted_at=now() - timedelta(days=3))
        )
        await session.commit()
    late = await client.post(f"/v1/cases/{rid}/return", json={"reason": "不归我们管"}, headers=URBAN)
    assert late.status_code == 409 and late.json()["error"]["code"] == "return_window_closed"
    fresh = await route(runtime)
    assert (
        await client.post(f"/v1/cases/{fresh}/return", json={"reason": "不归我们管"}, headers=URBAN)
    ).status_code == 200


async def test_supervision_orders(handling: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, runtime = handling
    rid = await route(runtime)
    order = {
        "request_id": rid,
        "instructions": "三日内上报处置方案",
        "due": (now() + timedelta(days=3)).isoformat(),
    }
    assert (await client.post("/v1/supervision-orders", json=order, headers=URBAN_HEAD)).status_code == 403
    issued = await client.post("/v1/supervision-orders", json=order, headers=SUPERVISOR)
    assert issued.status_code == 201 and issued.json()["department"] == "urban"
    assert (await events(runtime, rid))[-1]["type"] == "request.supervised"
    order_id = issued.json()["id"]
    assert (
        await client.post(f"/v1/supervision-orders/{order_id}/answer", json={"answer": "x"}, headers=WATER)
    ).status_code == 404
    answered = await client.post(
        f"/v1/supervision-orders/{order_id}/answer", json={"answer": "方案已上报"}, headers=URBAN
    )
    assert answered.status_code == 200

    unanswered = (
        await client.post(
            "/v1/supervision-orders",
            headers=SUPERVISOR,
            json={**order, "due": (now() + timedelta(hours=1)).isoformat()},
        )
    ).json()["id"]
    await sla.sweep(runtime.uow, at=now() + timedelta(hours=2))
    await sla.sweep(runtime.uow, at=now() + timedelta(hours=3))
    breaches = [
        e
        for e in await events(runtime, rid)
        if e["type"] == "request.sla_breached" and e["data"]["clock"] == "supervision"
    ]
    assert len(breaches) == 1
    past = await client.post(
        "/v1/supervision-orders", headers=SUPERVISOR, json={**order, "due": "2020-01-01T00:00:00+08:00"}
    )
    assert past.status_code == 422
    assert unanswered


async def test_the_queue_puts_urgent_cases_first_and_filters_overdue(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = handling
    dept = f"d{uuid.uuid4().hex[:6]}"
    staff = bearer("h", "handler", dept)
    ids = []
    for urgency in ("normal", "urgent", "normal", "urgent"):
        rid = await route(runtime, urgency=urgency)
        async with runtime.sessions() as session:  # move the fresh cases into a department of their own
            for table in (handling_store.cases, handling_store.clocks):
                await session.execute(update(table).where(table.c.request_id == rid).values(department=dept))
            await session.commit()
        ids.append(rid)
    first = (await client.get("/v1/cases?limit=3", headers=staff)).json()
    rest = (await client.get(f"/v1/cases?limit=3&cursor={first['next_cursor']}", headers=staff)).json()
    order = [c["request_id"] for c in first["items"] + rest["items"]]
    assert order == [ids[1], ids[3], ids[0], ids[2]]
    async with runtime.sessions() as session:
        await session.execute(
            update(handling_store.clocks)
            .where(handling_store.clocks.c.request_id == ids[2])
            .values(due=now() - timedelta(hours=1))
        )
        await session.commit()
    overdue = (await client.get("/v1/cases?overdue=true", headers=staff)).json()["items"]
    assert [c["request_id"] for c in overdue] == [ids[2]]
    late = (await client.get("/v1/overdue", headers=SUPERVISOR)).json()["clocks"]
    assert ids[2] in {c["request_id"] for c in late}


async def test_a_pause_stops_the_clocks_and_moves_their_due_times(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = handling
    rid = await route(runtime, accept_in=timedelta(minutes=10))
    async with runtime.sessions() as session:
        before = await session.scalar(
            select(handling_store.clocks.c.due).where(
                handling_store.clocks.c.request_id == rid, handling_store.clocks.c.clock == "accept"
            )
        )
    paused = await client.post(f"/v1/cases/{rid}/pause", json={"reason": "等待市民提供照片"}, headers=URBAN)
    assert paused.status_code == 200
    twice = await client.post(f"/v1/cases/{rid}/pause", json={"reason": "again"}, headers=URBAN)
    assert twice.status_code == 409
    await sla.sweep(runtime.uow, at=now() + timedelta(hours=1))  # past the due time, but paused
    assert not [e for e in await events(runtime, rid) if "sla" in e["type"]]
    await asyncio.sleep(0.5)
    resumed = await client.post(f"/v1/cases/{rid}/resume", json={}, headers=URBAN)
    assert resumed.status_code == 200
    after = datetime.fromisoformat(resumed.json()["due"]["accept"])
    assert before is not None and after - before >= timedelta(seconds=0.5)
    assert [e["type"] for e in await events(runtime, rid)][-2:] == ["request.paused", "request.resumed"]
    assert (await client.post(f"/v1/cases/{rid}/resume", json={}, headers=URBAN)).status_code == 409


async def test_a_recomputed_calendar_moves_the_running_clocks_not_yet_due(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    from shared.events.catalogue import RequestDueRecomputed

    _, runtime = handling
    rid = await route(runtime, accept_in=timedelta(hours=8), resolve_in=timedelta(days=5))
    async with runtime.sessions() as session:
        rows = {
            r["clock"]: r
            for r in (
                await session.execute(
                    select(handling_store.clocks).where(handling_store.clocks.c.request_id == rid)
                )
            ).mappings()
        }
    old = Due(accept=rows["accept"]["due"], resolve=rows["resolve"]["due"])
    # The notice made two days holidays: resolve moves two days; accept did not change.
    new = Due(accept=rows["accept"]["due"], resolve=rows["resolve"]["due"] + timedelta(days=2))
    env = envelope(rid, RequestDueRecomputed(due=new, previous=old, reason="2027年节假日安排"))
    async with runtime.uow() as uow:
        await sla.apply_recomputed_due(uow, env, RequestDueRecomputed.model_validate(env.data))
        await uow.commit()
    async with runtime.sessions() as session:
        after = {
            r["clock"]: r
            for r in (
                await session.execute(
                    select(handling_store.clocks).where(handling_store.clocks.c.request_id == rid)
                )
            ).mappings()
        }
        case_due = await session.scalar(
            select(handling_store.cases.c.due).where(handling_store.cases.c.request_id == rid)
        )
    assert after["resolve"]["due"] == rows["resolve"]["due"] + timedelta(days=2)
    assert after["resolve"]["warn_at"] == rows["resolve"]["warn_at"] + timedelta(days=2)
    assert after["accept"]["due"] == rows["accept"]["due"]
    assert datetime.fromisoformat(case_due["resolve"]) == after["resolve"]["due"]


async def test_the_default_queue_leaves_out_merged_and_withdrawn_cases(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    from shared.events.catalogue import RequestMerged, RequestWithdrawn

    client, runtime = handling
    # A department of its own, so other tests' cases do not fill the page.
    department = f"dept-{uuid.uuid4().hex[:6]}"
    head = bearer(f"h-{department}", "handler", department)
    ids = []
    for _ in range(3):
        env = envelope(
            str(uuid.uuid4()),
            RequestRouted(
                lead_department=department, due=Due(resolve=now() + timedelta(days=5)), category="repair"
            ),
        )
        async with runtime.uow() as uow:
            await service.open_cases(uow, env, RequestRouted.model_validate(env.data))
            await uow.commit()
        ids.append(env.request_id)
    merged, withdrawn, open_ = ids
    for rid, data in (
        (merged, RequestMerged(into_request_id=open_)),
        (withdrawn, RequestWithdrawn(reason="不需要了")),
    ):
        env = envelope(rid, data)
        async with runtime.uow() as uow:
            await service.close_cases(uow, env, data)
            await uow.commit()
    default = (await client.get("/v1/cases", headers=head)).json()["items"]
    assert [c["request_id"] for c in default] == [open_]
    everything = (await client.get("/v1/cases", params={"state": "all"}, headers=head)).json()["items"]
    assert {c["request_id"] for c in everything} == set(ids)
    only_merged = (await client.get("/v1/cases", params={"state": "merged"}, headers=head)).json()["items"]
    assert [c["request_id"] for c in only_merged] == [merged]


async def test_a_case_is_accepted_only_for_a_handler_of_its_department(
    handling: tuple[httpx.AsyncClient, ServiceRuntime], routing_directory: str
) -> None:
    """`handler_id` is checked against routing's staff directory (the real routing service
    over HTTP): unknown, another department's, not handling staff, or inactive → 422 naming
    the field; a handler of the department → accepted for them."""
    client, runtime = handling
    admin = {"Authorization": "Bearer " + issue_staff_token("admin-01", "admin")}
    async with httpx.AsyncClient(base_url=routing_directory) as routing:
        gone = await routing.put(
            "/v1/staff/handler-urban-gone",
            json={"name": "城管 已调离", "department": "urban", "role": "handler", "active": False},
            headers=admin,
        )
        assert gone.status_code == 200, gone.text
        clerk = await routing.put(
            "/v1/staff/clerk-urban",
            json={"name": "城管 文员", "department": "urban", "role": "agent"},
            headers=admin,
        )
        assert clerk.status_code == 200, clerk.text

    rid = await route(runtime)
    refused = {
        "sec-test-ghost-handler": ("known_staff", "sec-test-ghost-handler is not in the staff directory"),
        "head-water": ("same_department", "head-water is staff of water, not of urban"),
        "agent-001": ("same_department", "agent-001 is staff of service_center, not of urban"),
        "handler-urban-gone": ("active_staff", "handler-urban-gone is no longer active in the directory"),
        "clerk-urban": ("handling_staff", "clerk-urban has the role agent, not handler or dept_head"),
    }
    for handler_id, (rule, message) in refused.items():
        answer = await client.post(f"/v1/cases/{rid}/accept", json={"handler_id": handler_id}, headers=URBAN)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["fields"] == [{"field": "handler_id", "rule": rule, "message": message}]
        assert answer.json()["error"]["message"] == f"handler_id: {message}"
    case = (await client.get(f"/v1/cases/{rid}", headers=URBAN)).json()
    assert case["state"] != "accepted" and case["handler_id"] is None  # nothing was stored

    accepted = await client.post(
        f"/v1/cases/{rid}/accept", json={"handler_id": "handler-urban-01"}, headers=URBAN_HEAD
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["handler_id"] == "handler-urban-01"
    event = [e for e in await events(runtime, rid) if e["type"] == "request.accepted"]
    assert event[0]["data"]["handler_id"] == "handler-urban-01"

    # For oneself, the token is the proof: no directory entry needed (h-urban has none).
    mine = await route(runtime)
    assert (await client.post(f"/v1/cases/{mine}/accept", json={}, headers=URBAN)).status_code == 200


async def test_accepting_for_someone_else_waits_for_the_directory_but_not_for_oneself(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    """Routing unreachable (the tests' ROUTING_URL points nowhere): accepting for oneself
    works; naming another handler answers 503 with Retry-After, and nothing is stored."""
    client, runtime = handling
    rid = await route(runtime)
    other = await client.post(
        f"/v1/cases/{rid}/accept", json={"handler_id": "handler-urban-01"}, headers=URBAN
    )
    assert other.status_code == 503 and other.headers["Retry-After"] == "1"
    assert other.json()["error"]["code"] == "directory_unavailable"
    assert "handler_id" in other.json()["error"]["message"]
    assert (await client.get(f"/v1/cases/{rid}", headers=URBAN)).json()["handler_id"] is None
    mine = await client.post(f"/v1/cases/{rid}/accept", json={"handler_id": "h-urban"}, headers=URBAN)
    assert mine.status_code == 200 and mine.json()["handler_id"] == "h-urban"
