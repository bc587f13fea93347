"""What handlers, heads and co-handlers read on a case (issue 18, handling): due times that
moved, co-handlers' opinions and the lead's override, one pending extension per clock, SLA
alerts naming the handler, supervision answers published, queues without ended cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.handling import service
from services.handling import sla_scheduler as sla
from services.handling import store as handling_store
from services.handling.main import build_app
from shared.clock import now
from shared.events.catalogue import Due, RequestClosed, RequestDueChanged, RequestMerged, RequestWithdrawn
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.integration.test_handling import (
    SUPERVISOR,
    URBAN,
    URBAN_HEAD,
    WATER,
    events,
    route,
)
from tests.support.events import envelope

Handling = tuple[httpx.AsyncClient, ServiceRuntime]


@pytest.fixture
async def handling(platform: Settings) -> AsyncIterator[Handling]:
    runtime = ServiceRuntime(
        name="handling", metadata=handling_store.metadata, handlers={}, settings=platform
    )
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


async def _queue_ids(client: httpx.AsyncClient, params: dict[str, str] | None = None) -> set[str]:
    """Every case of urban's queue (all pages) for these filters."""
    ids: set[str] = set()
    cursor = None
    while True:
        query = {"limit": "200", **(params or {}), **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/cases", headers=URBAN, params=query)).json()
        ids |= {c["request_id"] for c in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


async def _case(client: httpx.AsyncClient, rid: str, headers: dict[str, str] = URBAN) -> dict[str, Any]:
    response = await client.get(f"/v1/cases/{rid}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_approved_extension_and_a_pause_change_the_case_due_in_every_view(
    handling: Handling,
) -> None:
    client, runtime = handling
    rid = await route(runtime)
    before = (await _case(client, rid))["due"]["resolve"]
    new_due = now() + timedelta(days=8)
    ext = (
        await client.post(
            f"/v1/cases/{rid}/extensions",
            headers=URBAN,
            json={"requested_due": new_due.isoformat(), "reason": "需要等待管线图纸"},
        )
    ).json()
    await client.post(f"/v1/extensions/{ext['id']}/decision", headers=URBAN_HEAD, json={"approve": True})
    case = await _case(client, rid)
    assert case["due"]["resolve"] != before
    assert datetime.fromisoformat(case["due"]["resolve"]) == new_due
    queued = (await client.get("/v1/cases", headers=URBAN)).json()["items"]
    assert next(c for c in queued if c["request_id"] == rid)["due"] == case["due"]

    # A pause of two hours moves every running clock, and the case shows the moved times.
    await client.post(f"/v1/cases/{rid}/pause", headers=URBAN, json={"reason": "等市民提供照片"})
    async with runtime.uow() as uow:
        k = handling_store.clocks.c
        await uow.session.execute(
            handling_store.clocks.update()
            .where(k.request_id == rid)
            .values(paused_at=k.paused_at - timedelta(hours=2))
        )
        await uow.commit()
    resumed = (await client.post(f"/v1/cases/{rid}/resume", headers=URBAN)).json()
    case = await _case(client, rid)
    assert case["due"]["resolve"] == resumed["due"]["resolve"]
    assert case["due"]["accept"] == resumed["due"]["accept"]


async def test_due_changed_moves_warnings_and_the_feedback_due_on_the_case(handling: Handling) -> None:
    client, runtime = handling
    rid = await route(runtime)
    resolve = now() + timedelta(days=9)
    warn = now() + timedelta(days=8, hours=2)
    feedback = now() + timedelta(days=11)
    env = envelope(
        rid,
        RequestDueChanged(
            department="urban",
            due=Due(resolve=resolve, feedback=feedback),
            warn_at=Due(resolve=warn),
            reason="extension",
        ),
        minutes=1,
    )
    async with runtime.uow() as uow:
        await service.apply_due_changed(uow, env, RequestDueChanged.model_validate(env.data))
        await uow.commit()
    case = await _case(client, rid)
    assert case["due"]["feedback"] == feedback.isoformat()
    assert case["due"]["resolve"] == resolve.isoformat()
    async with runtime.sessions() as session:
        k = handling_store.clocks.c
        row = (
            (
                await session.execute(
                    select(handling_store.clocks).where(k.request_id == rid, k.clock == "resolve")
                )
            )
            .mappings()
            .one()
        )
    assert row["due"] == resolve and row["warn_at"] == warn
    at_risk = (await client.get("/v1/at-risk", headers=URBAN_HEAD)).json()["clocks"]
    assert all(c["request_id"] != rid for c in at_risk)  # the old warning time has gone


async def test_opinions_and_the_override_reason_show_on_both_cases_and_end_with_the_resolution(
    handling: Handling,
) -> None:
    client, runtime = handling
    rid = await route(runtime, co=["water", "housing"])
    await client.post(f"/v1/cases/{rid}/accept", json={}, headers=URBAN)
    given = await client.post(
        f"/v1/cases/{rid}/opinions", json={"opinion": "供水管网无破损，建议城管核查井盖"}, headers=WATER
    )
    assert given.status_code == 200, given.text
    resolved = await client.post(
        f"/v1/cases/{rid}/resolve",
        headers=URBAN,
        json={
            "outcome": "resolved",
            "reply": "井盖已更换",
            "override_reason": "住建局三天未回复，井盖有安全隐患先行处置",
        },
    )
    assert resolved.status_code == 200, resolved.text
    for headers in (URBAN, WATER):
        case = await _case(client, rid, headers)
        assert [(o["department"], o["opinion"]) for o in case["opinions"]] == [
            ("water", "供水管网无破损，建议城管核查井盖")
        ]
        assert case["resolution"]["override_reason"] == "住建局三天未回复，井盖有安全隐患先行处置"
        assert case["resolution"]["missing_opinions"] == ["housing"]
        assert "opinion" in [s["kind"] for s in case["steps"]]
    water = await _case(client, rid, WATER)
    assert water["state"] == "resolved"  # the co-handler's part ended with the lead's resolution
    late = await client.post(f"/v1/cases/{rid}/opinions", json={"opinion": "补充意见"}, headers=WATER)
    assert late.status_code == 409 and late.json()["error"]["code"] == "already_resolved"
    published = [e for e in await events(runtime, rid) if e["type"] == "request.resolved"]
    assert published[0]["data"]["override_reason"] == "住建局三天未回复，井盖有安全隐患先行处置"
    assert published[0]["data"]["missing_opinions"] == ["housing"]


async def test_one_pending_extension_per_clock_and_the_decision_names_it(handling: Handling) -> None:
    client, runtime = handling
    rid = await route(runtime)
    first = await client.post(
        f"/v1/cases/{rid}/extensions",
        headers=URBAN,
        json={"requested_due": (now() + timedelta(days=7)).isoformat(), "reason": "等待检测报告"},
    )
    assert first.status_code == 201
    second = await client.post(
        f"/v1/cases/{rid}/extensions",
        headers=URBAN,
        json={"requested_due": (now() + timedelta(days=9)).isoformat(), "reason": "再等等"},
    )
    assert second.status_code == 409 and second.json()["error"]["code"] == "extension_pending"
    ext_id = first.json()["id"]
    await client.post(f"/v1/extensions/{ext_id}/decision", headers=URBAN_HEAD, json={"approve": False})
    published = await events(runtime, rid)
    requested = [e for e in published if e["type"] == "request.extension_requested"]
    decided = [e for e in published if e["type"] == "request.extension_decided"]
    assert requested[0]["data"]["extension_id"] == ext_id and decided[0]["data"]["extension_id"] == ext_id
    # Decided: a new request for the same clock may be made.
    third = await client.post(
        f"/v1/cases/{rid}/extensions",
        headers=URBAN,
        json={"requested_due": (now() + timedelta(days=9)).isoformat(), "reason": "检测报告延迟"},
    )
    assert third.status_code == 201


async def test_sla_alerts_name_the_handler_and_supervision_answers_are_published(handling: Handling) -> None:
    client, runtime = handling
    rid = await route(runtime, accept_in=timedelta(minutes=10))
    await sla.sweep(runtime.uow, at=now() + timedelta(minutes=9))
    warning = [e for e in await events(runtime, rid) if e["type"] == "request.sla_warning"]
    assert warning[0]["data"]["handler_id"] is None  # nobody has accepted it yet
    rid = await route(runtime, resolve_in=timedelta(hours=1))
    await client.post(f"/v1/cases/{rid}/accept", json={}, headers=URBAN)
    await sla.sweep(runtime.uow, at=now() + timedelta(hours=2))
    breached = [e for e in await events(runtime, rid) if e["type"] == "request.sla_breached"]
    assert breached[0]["data"]["handler_id"] == "h-urban"

    order = (
        await client.post(
            "/v1/supervision-orders",
            headers=SUPERVISOR,
            json={
                "request_id": rid,
                "instructions": "请今日内回复处置情况",
                "due": (now() + timedelta(days=1)).isoformat(),
            },
        )
    ).json()
    answered = await client.post(
        f"/v1/supervision-orders/{order['id']}/answer", headers=URBAN_HEAD, json={"answer": "已派人现场处置"}
    )
    assert answered.status_code == 200
    answers = [e for e in await events(runtime, rid) if e["type"] == "request.supervision_answered"]
    assert answers[0]["data"] == {
        "order_id": order["id"],
        "department": "urban",
        "answer": "已派人现场处置",
        "answered_by": "head-urban",
        "on_time": True,
        "issued_by": "supervisor-01",  # told of the answer
    }


async def test_the_queue_leaves_out_merged_withdrawn_and_closed_cases(handling: Handling) -> None:
    client, runtime = handling
    kept, merged, withdrawn, closed = [await route(runtime) for _ in range(4)]
    for rid, data in (
        (merged, RequestMerged(into_request_id=kept)),
        (withdrawn, RequestWithdrawn(reason="问题已自行解决")),
        (closed, RequestClosed(reason="rated satisfied")),
    ):
        env = envelope(rid, data)
        async with runtime.uow() as uow:
            await service.close_cases(uow, env, data)
            await uow.commit()
    ids = await _queue_ids(client)
    assert kept in ids and merged not in ids and withdrawn not in ids and closed not in ids
    asked = (await client.get("/v1/cases", headers=URBAN, params={"state": "merged", "limit": 200})).json()
    assert merged in {c["request_id"] for c in asked["items"]}


async def test_a_paused_clock_stands_still_in_the_overdue_and_at_risk_views(handling: Handling) -> None:
    client, runtime = handling
    waiting, late = await route(runtime), await route(runtime)
    for rid in (waiting, late):
        await client.post(f"/v1/cases/{rid}/pause", headers=URBAN, json={"reason": "等市民约定上门时间"})
    k = handling_store.clocks.c
    async with runtime.uow() as uow:
        # Paused two hours ago; one fell due during the pause, the other was late before it.
        for rid, due in ((waiting, now() - timedelta(hours=1)), (late, now() - timedelta(hours=3))):
            await uow.session.execute(
                handling_store.clocks.update()
                .where(k.request_id == rid, k.clock == "resolve")
                .values(paused_at=now() - timedelta(hours=2), due=due, warn_at=due - timedelta(hours=4))
            )
        await uow.commit()
    overdue = {
        c["request_id"] for c in (await client.get("/v1/overdue", headers=URBAN_HEAD)).json()["clocks"]
    }
    assert late in overdue and waiting not in overdue
    at_risk = {
        c["request_id"] for c in (await client.get("/v1/at-risk", headers=URBAN_HEAD)).json()["clocks"]
    }
    assert waiting in at_risk and late not in at_risk  # it stands where the pause found it
    queue = await _queue_ids(client, {"overdue": "true"})
    assert late in queue and waiting not in queue
