"""Bad input gets a clear 4xx naming the field and the rule, and stores nothing.
The services run in-process against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.handling import service as handling_service
from services.handling import store as handling_store
from services.handling.main import build_app as build_handling
from services.intake import store as intake_store
from services.intake.main import build_app as build_intake
from shared.auth import issue_staff_token
from shared.clock import now
from shared.db import outbox_table
from shared.events.catalogue import decode
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.support.events import routed

AGENT = {"Authorization": "Bearer " + issue_staff_token("agent-7", "agent")}
HOTLINE = {"X-API-Key": "dev-hotline-key"}


def valid(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "hotline",
        "content": "小区路灯坏了，请维修",
        "requester": {"name": "李四", "phone": "13912345678"},
    }
    body.update(overrides)
    return body


@pytest.fixture
async def intake(platform: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from services.intake.consumers import HANDLERS

    runtime = ServiceRuntime(
        name="intake", metadata=intake_store.metadata, handlers=HANDLERS, settings=platform
    )
    async for client in asgi_client(build_intake(runtime)):
        yield client


@pytest.fixture
async def handling(platform: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    runtime = ServiceRuntime(
        name="handling", metadata=handling_store.metadata, handlers={}, settings=platform
    )
    async for client in asgi_client(build_handling(runtime)):
        yield client, runtime


async def count_requests(client: httpx.AsyncClient) -> int:
    runtime: ServiceRuntime = client._transport.app.state.runtime  # type: ignore[attr-defined]
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(intake_store.requests)) or 0)


def fields_of(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}
    return {f["field"]: f["rule"] for f in body["error"]["fields"]}


async def test_a_valid_submission_is_stored_and_its_event_carries_no_personal_data(
    intake: httpx.AsyncClient,
) -> None:
    response = await intake.post(
        "/v1/requests", json=valid(external_id=f"ext-{uuid.uuid4()}"), headers=HOTLINE
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "received" and body["category"] == "repair" and body["urgency"] == "normal"
    assert body["missing_materials"] == []
    assert body["first_responder"] == {"kind": "channel", "id": "hotline"}

    shown = (await intake.get(f"/v1/requests/{body['id']}", headers=AGENT)).json()
    assert shown["contact_masked"] == "139****5678"
    assert "13912345678" not in str(shown)

    runtime: ServiceRuntime = intake._transport.app.state.runtime  # type: ignore[attr-defined]
    outbox = outbox_table(intake_store.metadata)
    async with runtime.sessions() as session:
        payload = await session.scalar(select(outbox.c.payload).where(outbox.c.key == body["id"]))
    assert payload is not None
    envelope, data = decode(__import__("json").dumps(payload))
    assert envelope.type == "request.received" and data.contact_masked == "139****5678"
    assert "13912345678" not in str(payload) and "李四" not in str(payload)


async def test_an_agent_becomes_the_first_responder(intake: httpx.AsyncClient) -> None:
    response = await intake.post("/v1/requests", json=valid(channel="window"), headers=AGENT)
    assert response.status_code == 201
    assert response.json()["first_responder"] == {"kind": "staff", "id": "agent-7"}


async def test_idempotent_submits_answer_200_with_the_first_answer(intake: httpx.AsyncClient) -> None:
    body = valid(external_id=f"ext-{uuid.uuid4()}")
    first = await intake.post("/v1/requests", json=body, headers=HOTLINE)
    again = await intake.post("/v1/requests", json=body, headers=HOTLINE)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()

    key = {"Idempotency-Key": str(uuid.uuid4()), **HOTLINE}
    one = await intake.post("/v1/requests", json=valid(), headers=key)
    two = await intake.post("/v1/requests", json=valid(), headers=key)
    assert (one.status_code, two.status_code) == (201, 200) and one.json()["id"] == two.json()["id"]


async def test_two_identical_submits_racing_create_one_request(intake: httpx.AsyncClient) -> None:
    body = valid(external_id=f"race-{uuid.uuid4()}")
    before = await count_requests(intake)
    answers = await asyncio.gather(
        *[intake.post("/v1/requests", json=body, headers=HOTLINE) for _ in range(4)]
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await count_requests(intake) == before + 1


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"content": None}, "content", "string_type"),
        ({"content": "   "}, "content", "string_too_short"),
        ({"content": "长" * 5001}, "content", "string_too_long"),
        ({"content": 123}, "content", "string_type"),
        ({"content": "bad\x00byte"}, "content", "control_characters"),
        ({"category": "gossip"}, "category", "literal_error"),
        ({"urgency": "asap"}, "urgency", "literal_error"),
        ({"channel": "pigeon"}, "channel", "literal_error"),
        ({"requester": {"phone": "12345"}}, "requester.phone", "phone_format"),
        ({"requester": {"email": "not-an-email"}}, "requester.email", "email_format"),
        ({"requester": {"name": "no way to reach"}}, "requester", "contact_required"),
        ({"location": {"lat": 95, "lon": 0}}, "location.lat", "less_than_equal"),
        ({"submitted_at": "2026-01-01T10:00:00"}, "submitted_at", "timezone_aware"),
        ({"submitted_at": (now() + timedelta(days=1)).isoformat()}, "submitted_at", "not_in_future"),
        ({"colour": "red"}, "colour", "extra_forbidden"),
    ],
)
async def test_bad_fields_are_named_with_the_rule_they_broke(
    intake: httpx.AsyncClient, change: dict[str, Any], field: str, rule: str
) -> None:
    body = valid(**change)
    if change.get("content", "") is None:
        body.pop("content")
        rule = "missing"
    before = await count_requests(intake)
    response = await intake.post("/v1/requests", json=body, headers=HOTLINE)
    assert response.status_code == 422, response.text
    assert fields_of(response).get(field) == rule, response.json()
    assert response.json()["error"]["code"] == "validation_failed"
    assert await count_requests(intake) == before


async def test_every_bad_field_is_listed_at_once(intake: httpx.AsyncClient) -> None:
    body = {"channel": "fax", "content": "", "category": "x", "requester": {"phone": "1"}}
    response = await intake.post("/v1/requests", json=body, headers=AGENT)
    assert response.status_code == 422
    assert {"channel", "content", "category", "requester.phone"} <= set(fields_of(response))


async def test_transport_level_refusals(intake: httpx.AsyncClient) -> None:
    huge = await intake.post(
        "/v1/requests",
        content=b'{"content": "' + b"x" * 300_000 + b'"}',
        headers={**HOTLINE, "content-type": "application/json"},
    )
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    text = await intake.post(
        "/v1/requests", content=b"channel=hotline", headers={**HOTLINE, "content-type": "text/plain"}
    )
    assert text.status_code == 415
    broken = await intake.post(
        "/v1/requests", content=b"{oops", headers={**HOTLINE, "content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    assert (await intake.get(f"/v1/requests/{uuid.uuid4()}", headers=AGENT)).status_code == 404


async def test_who_may_submit(intake: httpx.AsyncClient) -> None:
    assert (await intake.post("/v1/requests", json=valid())).status_code == 401
    assert (
        await intake.post("/v1/requests", json=valid(), headers={"X-API-Key": "stolen"})
    ).status_code == 401
    wrong_channel = await intake.post("/v1/requests", json=valid(channel="web"), headers=HOTLINE)
    assert wrong_channel.status_code == 403
    handler = {"Authorization": "Bearer " + issue_staff_token("h-1", "handler", "urban")}
    assert (await intake.post("/v1/requests", json=valid(), headers=handler)).status_code == 403
    expired = issue_staff_token("agent-7", "agent", ttl=timedelta(seconds=-1))
    assert (
        await intake.post("/v1/requests", json=valid(), headers={"Authorization": f"Bearer {expired}"})
    ).status_code == 401


async def _open_case(runtime: ServiceRuntime, department: str = "urban") -> str:
    env = routed(str(uuid.uuid4()), department)
    from shared.events.catalogue import RequestRouted

    async with runtime.uow() as uow:
        await handling_service.open_cases(uow, env, RequestRouted.model_validate(env.data))
        await uow.commit()
    return env.request_id


async def test_illegal_transitions_are_refused_with_409_naming_the_current_state(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = handling
    rid = await _open_case(runtime)
    urban = {"Authorization": "Bearer " + issue_staff_token("h-urban", "handler", "urban")}
    early = await client.post(
        f"/v1/cases/{rid}/resolve", json={"outcome": "resolved", "reply": "done"}, headers=urban
    )
    assert early.status_code == 409
    assert early.json()["error"]["current_state"] == "routed"
    assert "routed" in early.json()["error"]["message"]
    assert (await client.post(f"/v1/cases/{rid}/accept", json={}, headers=urban)).status_code == 200
    twice = await client.post(f"/v1/cases/{rid}/accept", json={}, headers=urban)
    assert twice.status_code == 409 and twice.json()["error"]["current_state"] == "accepted"


async def test_another_departments_case_does_not_exist_for_you(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = handling
    rid = await _open_case(runtime, "water")
    urban = {"Authorization": "Bearer " + issue_staff_token("h-urban", "handler", "urban")}
    assert (await client.get(f"/v1/cases/{rid}", headers=urban)).status_code == 404
    assert (await client.post(f"/v1/cases/{rid}/accept", json={}, headers=urban)).status_code == 404
    bad = await client.post(f"/v1/cases/{rid}/resolve", json={"outcome": "magic", "reply": ""}, headers=urban)
    assert bad.status_code == 422 and set(fields_of(bad)) == {"outcome", "reply"}


async def test_deep_json_and_too_many_requests_are_refused(platform: Settings) -> None:
    from services.intake.consumers import HANDLERS

    strict = platform.model_copy(update={"rate_limit_per_minute": 3})
    runtime = ServiceRuntime(
        name="intake", metadata=intake_store.metadata, handlers=HANDLERS, settings=strict
    )
    async for client in asgi_client(build_intake(runtime)):
        deep = b'{"content": ' + b"[" * 30 + b"]" * 30 + b"}"
        nested = await client.post(
            "/v1/requests", content=deep, headers={**AGENT, "content-type": "application/json"}
        )
        assert nested.status_code == 400 and nested.json()["error"]["code"] == "json_too_deep"
        answers = [await client.get(f"/v1/requests/{uuid.uuid4()}", headers=AGENT) for _ in range(2)]
        assert [a.status_code for a in answers] == [404, 404]  # the deep one took the first token
        limited = await client.get(f"/v1/requests/{uuid.uuid4()}", headers=AGENT)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        other = {"Authorization": "Bearer " + issue_staff_token("agent-8", "agent")}
        assert (await client.get(f"/v1/requests/{uuid.uuid4()}", headers=other)).status_code == 404


async def test_a_connection_the_database_cut_answers_503_once_and_the_next_call_works(
    intake: httpx.AsyncClient, platform: Settings
) -> None:
    import asyncpg

    first = await intake.post("/v1/requests", json=valid(), headers=HOTLINE)
    assert first.status_code == 201  # the pool now holds an open connection
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        database = platform.database_url("intake").rsplit("/", 1)[1]
        cut = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", database
        )
    finally:
        await admin.close()
    assert cut >= 1
    lost = await intake.get(f"/v1/requests/{first.json()['id']}", headers=AGENT)
    assert lost.status_code == 503, lost.text
    assert lost.json()["error"]["code"] == "database_unavailable" and lost.headers["Retry-After"] == "1"
    again = await intake.get(f"/v1/requests/{first.json()['id']}", headers=AGENT)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
