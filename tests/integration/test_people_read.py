"""What the person and the staff read (issue 18), against the real PostgreSQL: one message
per recipient worded for them, the person told of every step that concerns them, channels
acting only on their own requests, conflicting resubmits refused, the first responder's 催办,
and merged duplicates handed back when their primary is withdrawn."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.intake import service
from services.intake import store as intake_store
from services.intake.consumers import HANDLERS
from services.intake.main import build_app
from shared.auth import issue_staff_token
from shared.db import outbox_table
from shared.events.catalogue import NotificationRequested, RequestRouted
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.support.events import envelope

AGENT = {"Authorization": "Bearer " + issue_staff_token("agent-42", "agent")}
OTHER_AGENT = {"Authorization": "Bearer " + issue_staff_token("agent-77", "agent")}
WEB = {"X-API-Key": "dev-web-key"}
HOTLINE = {"X-API-Key": "dev-hotline-key"}


@pytest.fixture
async def intake(platform: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    runtime = ServiceRuntime(
        name="intake", metadata=intake_store.metadata, handlers=HANDLERS, settings=platform
    )
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


async def events_of(runtime: ServiceRuntime, request_id: str, topic: str) -> list[dict[str, Any]]:
    outbox = outbox_table(intake_store.metadata)
    stmt = (
        select(outbox.c.payload)
        .where(outbox.c.key == request_id, outbox.c.topic == topic)
        .order_by(outbox.c.id)
    )
    async with runtime.sessions() as session:
        return list(await session.scalars(stmt))


async def texts(runtime: ServiceRuntime, platform: Settings, request_id: str) -> list[str]:
    return [e["data"]["text"] for e in await events_of(runtime, request_id, platform.notifications_topic)]


def person(n: int) -> dict[str, str]:
    return {"name": "李大妈", "phone": f"1390000{n:04d}"}


async def submit(client: httpx.AsyncClient, headers: dict[str, str] | None = None, **body: Any) -> str:
    payload = {"channel": "hotline", "content": "小区门口路灯坏了好几天了", "requester": person(1), **body}
    response = await client.post("/v1/requests", json=payload, headers=headers or AGENT)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def deliver(
    runtime: ServiceRuntime, request_id: str, ask: NotificationRequested, times: int = 1
) -> None:
    env = envelope(request_id, ask)
    for _ in range(times):  # a redelivered request has no second effect
        async with runtime.uow() as uow:
            await service.on_notification_requested(uow, env, NotificationRequested.model_validate(env.data))
            await uow.commit()


async def test_an_urgent_notice_reaches_each_recipient_once_in_their_own_words(
    intake: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    client, runtime = intake
    rid = await submit(client, content="燃气管道漏气，味道很大")
    ask = NotificationRequested(
        template="urgent_request_routed",
        params={"due_accept": "2026-12-02T01:30:00+00:00"},
        audience=["department_head", "supervisors"],
        department="urban",
        recipients=["head-urban", "supervisor-01", "supervisor-02"],
        recipients_by_audience={
            "department_head": ["head-urban"],
            "supervisors": ["supervisor-01", "supervisor-02", "head-urban"],  # reached once
        },
    )
    await deliver(runtime, rid, ask, times=2)
    outbound = await events_of(runtime, rid, platform.notifications_topic)
    assert [(m["data"]["destination"]["staff_id"], m["data"]["text"]) for m in outbound] == [
        (
            "head-urban",
            f"紧急诉求 {rid} 已派至贵单位（城市管理局），请立即组织处置，签收时限 2026年12月2日 09:30。",
        ),
        (
            "supervisor-01",
            f"紧急诉求 {rid} 已派至城市管理局，请关注处置情况（签收时限 2026年12月2日 09:30）。",
        ),
        (
            "supervisor-02",
            f"紧急诉求 {rid} 已派至城市管理局，请关注处置情况（签收时限 2026年12月2日 09:30）。",
        ),
    ]
    assert all("staff_ids" not in m["data"]["destination"] for m in outbound)


async def test_feedback_reaches_the_person_and_the_first_responder_each_in_their_words(
    intake: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    client, runtime = intake
    rid = await submit(client)
    await deliver(
        runtime,
        rid,
        NotificationRequested(
            template="result_feedback",
            params={"message": "路灯已于今日修复。"},
            audience=["requester", "first_responder"],
            department="urban",
        ),
    )
    outbound = await events_of(runtime, rid, platform.notifications_topic)
    assert [(m["data"]["destination"], m["data"]["text"]) for m in outbound] == [
        (
            {"phone": "13900000001", "name": "李大妈"},
            f"您的诉求（编号 {rid}）已办理完毕：路灯已于今日修复。请对办理结果进行评价。",
        ),
        (
            {"staff_id": "agent-42"},
            f"您首问受理的诉求 {rid} 已由城市管理局办结，答复诉求人：路灯已于今日修复。",
        ),
    ]


async def test_the_person_hears_of_a_partial_supplement_a_merge_and_a_withdrawal(
    intake: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    client, runtime = intake
    rid = await submit(
        client,
        content="我想办居住证",
        business_type="residence_permit",
        materials=[{"code": "id_card", "media_type": "image/jpeg"}],
    )
    partial = await client.post(
        f"/v1/requests/{rid}/supplements", headers=AGENT, json={"materials": [{"code": "lease"}]}
    )
    assert partial.json()["state"] == "incomplete"
    assert (await texts(runtime, platform, rid))[-1] == (
        "已收到您补充的材料，但还缺少以下材料，请补齐：近期免冠照片（缺少）。"
        f"补齐后我们继续办理（编号 {rid}）。"
    )

    primary = await submit(client)
    duplicate = await submit(client, content="路灯不亮，晚上很黑", requester=person(2))
    await client.post(f"/v1/requests/{duplicate}/merge", headers=AGENT, json={"into_request_id": primary})
    assert await texts(runtime, platform, duplicate) == [
        f"您反映的问题与诉求 {primary} 相同，已合并办理，办理结果将一并告知您（编号 {duplicate}）。"
    ]

    web = await submit(client, headers=WEB, channel="web", requester={"channel_address": "web-u-9"})
    await client.post(f"/v1/requests/{web}/withdraw", headers=WEB, json={"reason": "已自行解决"})
    assert await texts(runtime, platform, web) == [
        f"您的诉求（编号 {web}）已按您的要求撤回，不再办理。如有需要，欢迎再次反映。"
    ]


async def test_withdrawing_a_primary_hands_its_duplicates_back_and_tells_each_person(
    intake: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    client, runtime = intake
    primary = await submit(client, headers=WEB, channel="web", requester={"channel_address": "web-u-1"})
    first = await submit(client, requester=person(3))
    second = await submit(client, requester=person(4))
    for duplicate in (first, second):
        merged = await client.post(
            f"/v1/requests/{duplicate}/merge", headers=AGENT, json={"into_request_id": primary}
        )
        assert merged.status_code == 200
    await client.post(f"/v1/requests/{primary}/withdraw", headers=WEB, json={"reason": "不需要了"})

    earliest = (await client.get(f"/v1/requests/{first}", headers=AGENT)).json()
    later = (await client.get(f"/v1/requests/{second}", headers=AGENT)).json()
    assert (earliest["state"], earliest["merged_into"]) == ("received", None)  # handled again
    assert (later["state"], later["merged_into"]) == ("merged", first)  # follows the new primary
    released = (await events_of(runtime, first, platform.lifecycle_topic))[-3:]
    assert released[0]["type"] == "request.merge_released"
    assert released[0]["data"] == {"former_primary_id": primary, "new_primary_id": None}
    remerged = [
        e for e in await events_of(runtime, second, platform.lifecycle_topic) if e["type"] == "request.merged"
    ]
    assert [e["data"]["into_request_id"] for e in remerged] == [primary, first]
    told = f"与您的诉求合并办理的诉求 {primary} 已撤回，您的诉求（编号 {{}}）将继续办理并按时反馈结果。"
    assert (await texts(runtime, platform, first))[-1] == told.format(first)
    assert (await texts(runtime, platform, second))[-1] == told.format(second)


async def test_the_same_external_id_with_another_body_is_a_conflict(
    intake: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, _ = intake
    external_id = f"call-{uuid.uuid4().hex[:8]}"
    body = {"channel": "hotline", "external_id": external_id, "content": "路灯坏了", "requester": person(5)}
    first = await client.post("/v1/requests", json=body, headers=HOTLINE)
    assert first.status_code == 201
    retry = await client.post("/v1/requests", json=body, headers=HOTLINE)
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    other = await client.post("/v1/requests", json={**body, "content": "井盖丢了"}, headers=HOTLINE)
    assert other.status_code == 409, other.text
    error = other.json()["error"]
    assert error["code"] == "idempotency_conflict"
    assert f"external_id {external_id}" in error["message"] and first.json()["id"] in error["message"]
    assert [f["field"] for f in error["fields"]] == ["content"]

    key = {"Idempotency-Key": f"key-{uuid.uuid4().hex[:8]}"}
    keyed = {"channel": "hotline", "content": "噪音扰民", "requester": person(6)}
    assert (await client.post("/v1/requests", json=keyed, headers={**AGENT, **key})).status_code == 201
    clash = await client.post("/v1/requests", json={**keyed, "content": "别的事"}, headers={**AGENT, **key})
    assert clash.status_code == 409 and "Idempotency-Key" in clash.json()["error"]["message"]


async def test_the_first_responder_chases_a_request_and_nobody_else_does(
    intake: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    client, runtime = intake
    rid = await submit(client)
    early = await client.post(f"/v1/requests/{rid}/chase", headers=AGENT, json={})
    assert early.status_code == 409  # not with a department yet
    routed = envelope(rid, RequestRouted(lead_department="urban", due={}))  # type: ignore[arg-type]
    async with runtime.uow() as uow:
        await HANDLERS[RequestRouted](uow, routed, RequestRouted.model_validate(routed.data))
        await uow.commit()
    assert (await client.post(f"/v1/requests/{rid}/chase", headers=OTHER_AGENT, json={})).status_code == 403
    assert (await client.post(f"/v1/requests/{rid}/chase", headers=WEB, json={})).status_code == 404
    chased = await client.post(f"/v1/requests/{rid}/chase", headers=AGENT, json={"note": "市民第三次来电"})
    assert chased.status_code == 200, chased.text
    assert chased.json()["department"] == "urban" and chased.json()["chase_count"] == 1
    again = await client.post(f"/v1/requests/{rid}/chase", headers=AGENT, json={})
    assert again.json()["chase_count"] == 2
    events = [
        e for e in await events_of(runtime, rid, platform.lifecycle_topic) if e["type"] == "request.chased"
    ]
    assert [e["data"] for e in events] == [
        {"department": "urban", "chased_by": "agent-42", "note": "市民第三次来电", "chase_count": 1},
        {"department": "urban", "chased_by": "agent-42", "note": None, "chase_count": 2},
    ]
