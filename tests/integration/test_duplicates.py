"""Repeat requests (重复诉求) through intake's API on the real database: the agent sees the
likely repeat with why, merges it in one step, and what is ended, too old or another
department's stays out of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from services.intake import store as intake_store
from services.intake.consumers import HANDLERS
from services.intake.main import build_app
from shared.auth import issue_staff_token
from shared.clock import now
from shared.events.catalogue import Due, RequestRouted
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.support.events import envelope

AGENT = {"Authorization": "Bearer " + issue_staff_token("agent-dup", "agent")}
DISPATCHER = {"Authorization": "Bearer " + issue_staff_token("dispatcher-dup", "dispatcher")}
MARKET_HANDLER = {"Authorization": "Bearer " + issue_staff_token("h-market-dup", "handler", "market")}


@pytest.fixture
async def intake(platform: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    runtime = ServiceRuntime(
        name="intake", metadata=intake_store.metadata, handlers=HANDLERS, settings=platform
    )
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


async def submit(client: httpx.AsyncClient, content: str, phone: str, **extra: Any) -> str:
    r = await client.post(
        "/v1/requests",
        headers=AGENT,
        json={"channel": "hotline", "content": content, "requester": {"phone": phone}, **extra},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def dispatch(runtime: ServiceRuntime, request_id: str, matter: str, department: str = "urban") -> None:
    """Routing's decision as intake's consumer receives it."""
    due = Due(accept=now() + timedelta(days=1), resolve=now() + timedelta(days=5))
    event = envelope(request_id, RequestRouted(lead_department=department, due=due, matter=matter))
    outcome = await runtime.processor("intake").process(event.to_bytes())
    assert outcome[0] == "applied"


async def duplicates(client: httpx.AsyncClient, request_id: str, headers: dict[str, str] = AGENT) -> Any:
    r = await client.get(f"/v1/requests/{request_id}/likely-duplicates", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_repeat_caller_is_shown_the_earlier_request_and_the_agent_merges_it(
    intake: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = intake
    phone = "13911112222"
    first = await submit(client, "我家楼下那个路灯坏了好几天了，晚上黑漆漆的，电话13911112222", phone)
    await dispatch(runtime, first, "urban.streetlight")
    other = await submit(client, "楼上装修太吵了，中午也在打电钻", phone)  # the same person, another thing
    again = await submit(client, "上周说的那个路灯还是不亮啊，就在我家楼下！", phone)

    found = await duplicates(client, again)
    assert [(d["id"], d["reasons"]) for d in found["items"]] == [(first, ["same_person"])]
    item = found["items"][0]
    assert item["lead_department_name"] == "城市管理局" and item["state"] == "routed"
    assert "13911112222" not in item["content"] and "路灯坏了" in item["content"]  # masked as lists show
    assert found["window_days"] == 30

    r = await client.post(
        f"/v1/requests/{again}/merge",
        headers=DISPATCHER,
        json={"into_request_id": first, "reason": "重复诉求"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "merged"
    # Ended requests are no repeat of anything: the merged one is not offered again.
    later = await submit(client, "路灯的事怎么样了，还是不亮", phone)
    assert [d["id"] for d in (await duplicates(client, later))["items"]] == [first]
    assert other not in [d["id"] for d in (await duplicates(client, later))["items"]]


async def test_neighbours_about_the_same_matter_at_the_same_place(
    intake: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = intake
    place = {"location": {"address": "望京西园三区北门"}}
    one = await submit(client, "北门的路灯不亮了", "13900000001", **place)
    two = await submit(client, "晚上小区北门黑乎乎的，灯坏了没人修", "13900000002", **place)
    far = await submit(client, "路灯坏了", "13900000003", location={"address": "酒仙桥路10号"})
    for rid in (one, two, far):
        await dispatch(runtime, rid, "urban.streetlight")
    found = await duplicates(client, two)
    assert [(d["id"], d["reasons"]) for d in found["items"]] == [(one, ["same_matter_and_place"])]

    # Older than the window: no longer offered.
    async with runtime.sessions() as session:
        await session.execute(
            update(intake_store.requests)
            .where(intake_store.requests.c.id == one)
            .values(received_at=now() - timedelta(days=31))
        )
        await session.commit()
    assert (await duplicates(client, two))["items"] == []


async def test_only_staff_who_may_see_the_request_and_may_merge_are_answered(
    intake: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = intake
    rid = await submit(client, "电梯卡在三楼了", "13900000009")
    await dispatch(runtime, rid, "market.elevator_trapped", "market")  # a long matter code
    r = await client.get(f"/v1/requests/{rid}/likely-duplicates", headers=MARKET_HANDLER)
    assert r.status_code == 403  # handlers do not merge; the policy table says who does
    r = await client.get("/v1/requests/no-such-request/likely-duplicates", headers=AGENT)
    assert r.status_code == 404
