"""Intake's one-window materials, answer, merge, withdraw, personal-data vault,
notifications and uploads, against the real PostgreSQL (services in-process)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.intake import service
from services.intake import store as intake_store
from services.intake.consumers import HANDLERS
from services.intake.main import build_app
from shared.auth import issue_staff_token
from shared.db import outbox_table
from shared.events.catalogue import NotificationRequested
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.support.events import envelope

AGENT = {"Authorization": "Bearer " + issue_staff_token("agent-42", "agent")}
ADMIN = {"Authorization": "Bearer " + issue_staff_token("admin-01", "admin")}
SUPERVISOR = {"Authorization": "Bearer " + issue_staff_token("supervisor-01", "supervisor")}
HANDLER = {"Authorization": "Bearer " + issue_staff_token("h-1", "handler", "urban")}
WEB = {"X-API-Key": "dev-web-key"}
HOTLINE = {"X-API-Key": "dev-hotline-key"}
PERSON = {
    "name": "王小明",
    "phone": "13912345678",
    "email": "wang@example.com",
    "id_number": "11010519491231002X",
}


@pytest.fixture
async def intake(platform: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    runtime = ServiceRuntime(
        name="intake", metadata=intake_store.metadata, handlers=HANDLERS, settings=platform
    )
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


async def events_of(
    runtime: ServiceRuntime, request_id: str, topic: str | None = None
) -> list[dict[str, Any]]:
    outbox = outbox_table(intake_store.metadata)
    stmt = select(outbox.c.payload).where(outbox.c.key == request_id).order_by(outbox.c.id)
    if topic:
        stmt = stmt.where(outbox.c.topic == topic)
    async with runtime.sessions() as session:
        return list(await session.scalars(stmt))


async def submit(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    payload = {"channel": "hotline", "content": "请问居住证怎么办理", "requester": PERSON, **body}
    return await client.post("/v1/requests", json=payload, headers=headers or AGENT)


async def test_missing_materials_are_all_named_at_once_and_supplements_resume(
    intake: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    client, runtime = intake
    response = await submit(
        client,
        business_type="residence_permit",
        materials=[{"code": "id_card", "media_type": "image/gif", "size": 100}],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "incomplete" and body["category"] == "business"
    assert body["missing_materials"] == [
        {"code": "id_card", "name": "身份证", "reason": "wrong_media_type"},
        {"code": "lease", "name": "租赁合同或房产证明", "reason": "missing"},
        {"code": "photo", "name": "近期免冠照片", "reason": "missing"},
    ]
    rid = body["id"]
    lifecycle = await events_of(runtime, rid, platform.lifecycle_topic)
    assert [e["type"] for e in lifecycle] == ["request.received", "request.incomplete", "notification.sent"]
    assert lifecycle[0]["data"]["awaiting_materials"] is True
    assert len(lifecycle[1]["data"]["missing"]) == 3
    outbound = await events_of(runtime, rid, platform.notifications_topic)
    assert len(outbound) == 1
    text = outbound[0]["data"]["text"]
    assert "身份证" in text and "租赁合同" in text and "照片" in text
    assert outbound[0]["data"]["destination"]["phone"] == "13912345678"

    partial = await client.post(
        f"/v1/requests/{rid}/supplements",
        headers=AGENT,
        json={"materials": [{"code": "id_card", "media_type": "image/jpeg"}]},
    )
    assert partial.status_code == 200 and partial.json()["state"] == "incomplete"
    assert [m["code"] for m in partial.json()["missing_materials"]] == ["lease", "photo"]
    done = await client.post(
        f"/v1/requests/{rid}/supplements",
        headers=AGENT,
        json={"materials": [{"code": "lease"}, {"code": "photo", "media_type": "image/jpeg"}]},
    )
    assert done.status_code == 200 and done.json()["state"] == "supplemented"
    last = (await events_of(runtime, rid, platform.lifecycle_topic))[-1]
    assert last["type"] == "request.supplemented" and last["data"]["materials"] == ["lease", "photo"]
    assert last["data"]["paused_from"] < last["data"]["paused_until"]
    again = await client.post(
        f"/v1/requests/{rid}/supplements", headers=AGENT, json={"materials": [{"code": "x"}]}
    )
    assert again.status_code == 409


async def test_unknown_business_types_are_refused(intake: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, _ = intake
    response = await submit(client, business_type="moon_landing")
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"field": "business_type", "rule": "known_business_type", "message": "not in the service catalog"}
    ]


async def test_a_request_keeps_the_catalog_version_it_was_checked_against(
    intake: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, _ = intake
    code = f"bt_{uuid.uuid4().hex[:6]}"
    v1 = {"name": "测试业务", "materials": [{"code": "a", "name": "材料A"}]}
    assert (await client.put(f"/v1/catalog/{code}", json=v1, headers=ADMIN)).json()["version"] == 1
    rid = (await submit(client, business_type=code)).json()["id"]
    v2 = {"name": "测试业务", "materials": [{"code": "a", "name": "材料A"}, {"code": "b", "name": "材料B"}]}
    assert (await client.put(f"/v1/catalog/{code}", json=v2, headers=ADMIN)).json()["version"] == 2
    done = await client.post(
        f"/v1/requests/{rid}/supplements", headers=AGENT, json={"materials": [{"code": "a"}]}
    )
    assert done.json()["state"] == "supplemented"  # version 1 asked only for A
    assert (await client.get(f"/v1/catalog/{code}", headers=AGENT)).json()["version"] == 2
    assert (await client.get(f"/v1/catalog/{code}?version=1", headers=AGENT)).json()["materials"][0][
        "code"
    ] == "a"
    assert (await client.put(f"/v1/catalog/{code}", json=v1, headers=AGENT)).status_code == 403


async def test_answer_on_the_spot(
    intake: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    client, runtime = intake
    rid = (await submit(client)).json()["id"]
    answered = await client.post(
        f"/v1/requests/{rid}/answer",
        headers=AGENT,
        json={"answer": "携带身份证和租房合同到社区服务中心办理", "article_id": "kb-residence-permit"},
    )
    assert answered.json() == {"id": rid, "state": "answered_at_intake"}
    event = (await events_of(runtime, rid, platform.lifecycle_topic))[-1]
    assert event["type"] == "request.answered_at_intake" and event["data"]["agent_id"] == "agent-42"
    again = await client.post(f"/v1/requests/{rid}/answer", headers=AGENT, json={"answer": "again"})
    assert again.status_code == 409 and again.json()["error"]["current_state"] == "answered_at_intake"
    assert (
        await client.post(f"/v1/requests/{rid}/answer", headers=HANDLER, json={"answer": "x"})
    ).status_code == 403


async def test_merge_and_withdraw(intake: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, _ = intake
    primary = (await submit(client, content="路灯坏了")).json()["id"]
    duplicate = (await submit(client, content="同一盏路灯坏了")).json()["id"]
    itself = await client.post(
        f"/v1/requests/{duplicate}/merge", headers=AGENT, json={"into_request_id": duplicate}
    )
    assert itself.status_code == 422 and itself.json()["error"]["fields"][0]["rule"] == "other_request"
    unknown = await client.post(
        f"/v1/requests/{duplicate}/merge", headers=AGENT, json={"into_request_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 422
    merged = await client.post(
        f"/v1/requests/{duplicate}/merge", headers=AGENT, json={"into_request_id": primary}
    )
    assert merged.status_code == 200 and merged.json()["state"] == "merged"
    assert (await client.get(f"/v1/requests/{duplicate}", headers=AGENT)).json()["merged_into"] == primary

    web = (await submit(client, headers=WEB, channel="web")).json()["id"]
    other_channel = await client.post(f"/v1/requests/{web}/withdraw", headers=HOTLINE, json={"reason": "x"})
    assert other_channel.status_code == 404
    withdrawn = await client.post(f"/v1/requests/{web}/withdraw", headers=WEB, json={"reason": "已自行解决"})
    assert withdrawn.json()["state"] == "withdrawn"
    twice = await client.post(f"/v1/requests/{web}/withdraw", headers=WEB, json={"reason": "again"})
    assert twice.status_code == 409 and twice.json()["error"]["current_state"] == "withdrawn"
    into_withdrawn = await client.post(
        f"/v1/requests/{primary}/merge", headers=AGENT, json={"into_request_id": web}
    )
    assert into_withdrawn.status_code == 409


async def test_full_personal_data_is_for_roles_that_need_it_and_every_read_is_audited(
    intake: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = intake
    rid = (await submit(client)).json()["id"]
    assert (await client.get(f"/v1/requests/{rid}/requester", headers=AGENT)).status_code == 422  # no purpose
    assert (
        await client.get(f"/v1/requests/{rid}/requester?purpose=call back", headers=HANDLER)
    ).status_code == 403
    full = await client.get(f"/v1/requests/{rid}/requester?purpose=回访核实", headers=SUPERVISOR)
    assert full.status_code == 200 and full.json()["requester"]["phone"] == "13912345678"
    async with runtime.sessions() as session:
        audit = (
            (
                await session.execute(
                    select(intake_store.personal_data_reads).where(
                        intake_store.personal_data_reads.c.request_id == rid
                    )
                )
            )
            .mappings()
            .all()
        )
    assert [(a["reader_id"], a["reader_role"], a["purpose"]) for a in audit] == [
        ("supervisor-01", "supervisor", "回访核实")
    ]
    # Admins and supervisors read that log through the API; nobody else does.
    logged = await client.get("/v1/personal-data-reads", params={"request_id": rid}, headers=ADMIN)
    assert logged.status_code == 200, logged.text
    [entry] = logged.json()["items"]
    assert (entry["request_id"], entry["reader_id"], entry["reader_role"], entry["purpose"]) == (
        rid,
        "supervisor-01",
        "supervisor",
        "回访核实",
    )
    assert datetime.fromisoformat(entry["at"]) == audit[0]["at"]
    assert (await client.get("/v1/personal-data-reads", headers=AGENT)).status_code == 403
    assert (await client.get("/v1/personal-data-reads", headers=HANDLER)).status_code == 403


async def test_events_intake_publishes_carry_no_personal_data(
    intake: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    client, runtime = intake
    rid = (
        await submit(
            client,
            content="我是王小明，电话13912345678，邮箱wang@example.com，路灯坏了",
            title="身份证11010519491231002X",
        )
    ).json()["id"]
    await client.post(f"/v1/requests/{rid}/answer", headers=AGENT, json={"answer": "已转交"})
    lifecycle = json.dumps(await events_of(runtime, rid, platform.lifecycle_topic), ensure_ascii=False)
    for secret in ("13912345678", "wang@example.com", "11010519491231002X", "王小明"):
        assert secret not in lifecycle
    received = (await events_of(runtime, rid, platform.lifecycle_topic))[0]["data"]
    assert received["contact_masked"] == "139****5678" and received["name_masked"] == "王**"
    assert "139****5678" in received["content"] and "w***@example.com" in received["content"]


async def test_first_responders_see_what_they_received(
    intake: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, _ = intake
    me = {"Authorization": "Bearer " + issue_staff_token(f"agent-{uuid.uuid4().hex[:6]}", "agent")}
    ids = {(await submit(client, headers=me)).json()["id"] for _ in range(3)}
    await submit(client)  # someone else's
    mine = (await client.get("/v1/requests?first_responder=me&limit=2", headers=me)).json()
    assert len(mine["items"]) == 2 and mine["next_cursor"]
    rest = (
        await client.get(f"/v1/requests?first_responder=me&limit=2&cursor={mine['next_cursor']}", headers=me)
    ).json()
    assert {r["id"] for r in mine["items"] + rest["items"]} == ids and rest["next_cursor"] is None


async def test_notifications_join_contact_data_once_and_reach_merged_requests_too(
    intake: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    client, runtime = intake
    primary = (
        await submit(
            client,
            headers=WEB,
            channel="web",
            requester={"phone": "13900000001", "channel_address": "web-user-1"},
        )
    ).json()["id"]
    duplicate = (await submit(client, requester={"phone": "13900000002"})).json()["id"]
    await client.post(f"/v1/requests/{duplicate}/merge", headers=AGENT, json={"into_request_id": primary})
    ask = envelope(
        primary,
        NotificationRequested(
            template="result_feedback",
            params={"message": "已修复"},
            audience=["requester", "first_responder"],
        ),
    )
    for _ in range(2):  # a redelivered request has no second effect
        async with runtime.uow() as uow:
            await service.on_notification_requested(uow, ask, NotificationRequested.model_validate(ask.data))
            await uow.commit()
    to_primary = await events_of(runtime, primary, platform.notifications_topic)
    assert len(to_primary) == 1  # the web adapter's own account; a channel first responder gets none
    assert to_primary[0]["data"]["channel"] == "web"
    assert to_primary[0]["data"]["destination"] == {"channel_address": "web-user-1"}
    assert "已修复" in to_primary[0]["data"]["text"]
    to_duplicate = await events_of(runtime, duplicate, platform.notifications_topic)
    # Told of the merge when it happened, then of the result.
    assert [m["data"]["template"] for m in to_duplicate] == ["request_merged", "merged_result"]
    assert to_duplicate[-1]["data"]["destination"]["phone"] == "13900000002"
    assert to_duplicate[-1]["data"]["text"] == f"您反映的问题与诉求 {primary} 相同，已合并办理：已修复。"

    notification_id = to_primary[0]["data"]["notification_id"]
    assert (
        await client.post(f"/v1/notifications/{notification_id}/receipt", headers=HOTLINE, json={})
    ).status_code == 404
    delivered = await client.post(f"/v1/notifications/{notification_id}/receipt", headers=WEB, json={})
    assert delivered.json() == {"id": notification_id, "state": "delivered"}
    assert (
        await client.post(f"/v1/notifications/{notification_id}/receipt", headers=WEB, json={})
    ).status_code == 200
    kinds = [e["type"] for e in await events_of(runtime, primary, platform.lifecycle_topic)]
    assert kinds.count("notification.delivered") == 1 and kinds.count("notification.sent") == 1


async def test_material_uploads_are_stored_by_their_hash(
    intake: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = intake
    content = b"%PDF-1.4 lease contract " + uuid.uuid4().bytes
    digest = hashlib.sha256(content).hexdigest()
    files = {"file": ("lease.pdf", content, "application/pdf")}
    wrong = await client.post("/v1/materials", files=files, data={"sha256": "0" * 64}, headers=AGENT)
    assert wrong.status_code == 422 and wrong.json()["error"]["fields"][0]["rule"] == "matches_content"
    stored = await client.post("/v1/materials", files=files, data={"sha256": digest}, headers=AGENT)
    assert stored.status_code == 201
    assert stored.json() == {"sha256": digest, "size": len(content), "media_type": "application/pdf"}
    again = await client.post("/v1/materials", files=files, headers=AGENT)
    assert again.status_code == 201 and again.json()["sha256"] == digest
    async with runtime.sessions() as session:
        count = await session.scalar(
            select(func.count()).where(intake_store.material_blobs.c.sha256 == digest)
        )
    assert count == 1
    too_big = await client.post(
        "/v1/materials", files={"file": ("x.bin", b"0" * (11 * 1024 * 1024), "x/y")}, headers=AGENT
    )
    assert too_big.status_code == 413


async def test_channel_keys_rotate_and_revoke(intake: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, _ = intake
    created = await client.post(
        "/v1/channel-keys", json={"channel": "weibo", "label": "rotation 2026-11"}, headers=ADMIN
    )
    assert created.status_code == 201
    key, key_id = created.json()["api_key"], created.json()["key_id"]
    assert (await client.get("/v1/channel-keys/whoami", headers={"X-API-Key": key})).json() == {
        "channel": "weibo"
    }
    listed = (await client.get("/v1/channel-keys", headers=ADMIN)).json()["items"]
    assert key not in json.dumps(listed) and any(k["key_id"] == key_id for k in listed)
    assert (await client.delete(f"/v1/channel-keys/{key_id}", headers=ADMIN)).status_code == 200
    assert (await client.get("/v1/channel-keys/whoami", headers={"X-API-Key": key})).status_code == 401


async def test_personal_data_is_purged_after_the_retention_period(
    intake: tuple[httpx.AsyncClient, ServiceRuntime], platform: Settings
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from shared.clock import now

    client, runtime = intake
    body = (await submit(client, content="王小明反映：电话13912345678，路灯坏了")).json()
    rid = body["id"]
    reference = (await client.get(f"/v1/requests/{rid}", headers=AGENT)).json()["requester_ref"]
    assert reference
    async with runtime.sessions() as session:
        await session.execute(
            update(intake_store.requests)
            .where(intake_store.requests.c.id == rid)
            .values(
                state="closed", closed_at=now() - timedelta(days=platform.personal_data_retention_days + 1)
            )
        )
        await session.commit()
    assert (await client.post("/v1/retention/purge", headers=AGENT)).status_code == 403
    purged = await client.post("/v1/retention/purge", headers=ADMIN)
    assert purged.status_code == 200 and purged.json()["purged"] >= 1
    full = (await client.get(f"/v1/requests/{rid}/requester?purpose=check", headers=SUPERVISOR)).json()
    assert full["requester"] is None
    view = (await client.get(f"/v1/requests/{rid}", headers=AGENT)).json()
    assert "13912345678" not in view["content"] and "王小明" not in view["content"]
    assert view["requester_ref"] == reference  # the pseudonym stays, so KPIs do not change
    last = (await events_of(runtime, rid, platform.lifecycle_topic))[-1]
    assert last["type"] == "request.personal_data_purged"
    again = await client.post("/v1/retention/purge", headers=ADMIN)
    assert rid not in json.dumps(again.json())
