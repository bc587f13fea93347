"""Followup against the real PostgreSQL: feedback with the survey, no-response timeout,
return visits, reopen limits and closing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from services.followup import service
from services.followup import store as followup_store
from services.followup.consumers import HANDLERS, prepare_batch
from services.followup.main import build_app
from shared.auth import issue_staff_token
from shared.clock import now
from shared.db import outbox_table
from shared.events.catalogue import (
    CATALOGUE,
    Due,
    FirstResponder,
    RequestAccepted,
    RequestDueChanged,
    RequestReceived,
    RequestResolved,
    RequestRouted,
)
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.support.events import envelope

AGENT = {"Authorization": "Bearer " + issue_staff_token("agent-001", "agent")}
HANDLER = {"Authorization": "Bearer " + issue_staff_token("h-urban", "handler", "urban")}
OTHER_HANDLER = {"Authorization": "Bearer " + issue_staff_token("h-water", "handler", "water")}


@pytest.fixture
async def followup(platform: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    runtime = ServiceRuntime(
        name="followup", metadata=followup_store.metadata, handlers=HANDLERS, settings=platform
    )
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


async def feed(runtime: ServiceRuntime, env: Envelope) -> None:
    async with runtime.uow() as uow:
        data = CATALOGUE[(env.type, env.version)].model_validate(env.data)
        await HANDLERS[type(data)](uow, env, data)
        await uow.commit()


async def resolved_request(runtime: ServiceRuntime, category: str = "repair", anonymous: bool = False) -> str:
    rid = str(uuid.uuid4())
    t = now()
    for data in (
        RequestReceived(
            channel="hotline",
            category=category,
            urgency="normal",
            submitted_at=t,  # type: ignore[arg-type]
            first_responder=FirstResponder(kind="staff", id="agent-001"),
            anonymous=anonymous,
        ),
        RequestRouted(lead_department="urban", due=Due(feedback=t + timedelta(days=9)), category=category),  # type: ignore[arg-type]
        RequestAccepted(department="urban", handler_id="h-urban"),
        RequestResolved(department="urban", handler_id="h-urban", outcome="resolved", reply="已处理"),
    ):
        await feed(runtime, envelope(rid, data))
    return rid


async def events(runtime: ServiceRuntime, request_id: str) -> list[dict[str, Any]]:
    outbox = outbox_table(followup_store.metadata)
    async with runtime.sessions() as session:
        return list(
            await session.scalars(
                select(outbox.c.payload).where(outbox.c.key == request_id).order_by(outbox.c.id)
            )
        )


async def test_feedback_carries_the_survey_and_no_answer_becomes_no_response(
    followup: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = followup
    rid = await resolved_request(runtime)
    assert (
        await client.post(f"/v1/requests/{rid}/feedback", json={}, headers=OTHER_HANDLER)
    ).status_code == 404
    given = await client.post(f"/v1/requests/{rid}/feedback", json={"message": "路灯已修复"}, headers=HANDLER)
    assert given.status_code == 200, given.text
    assert given.json()["state"] == "feedback_given"
    sent = await events(runtime, rid)
    assert [e["type"] for e in sent] == [
        "request.feedback_given",
        "notification.requested",
        "notification.requested",
    ]
    assert sent[1]["data"]["audience"] == ["requester", "first_responder"]
    assert sent[2]["data"]["template"] == "satisfaction_survey"
    async with runtime.sessions() as session:
        feedback_at, survey_due = (
            await session.execute(
                select(followup_store.followups.c.feedback_at, followup_store.followups.c.survey_due).where(
                    followup_store.followups.c.request_id == rid
                )
            )
        ).one()
    # Three working days, whatever the day: at least two whole calendar days after the feedback.
    assert survey_due is not None and survey_due - feedback_at > timedelta(days=2)

    await service.expire_surveys(runtime.uow, at=survey_due - timedelta(minutes=1))  # not yet
    assert "request.rated" not in [e["type"] for e in await events(runtime, rid)]
    await service.expire_surveys(runtime.uow, at=survey_due + timedelta(minutes=1))
    await service.expire_surveys(runtime.uow, at=survey_due + timedelta(minutes=2))  # once only
    after = [e for e in await events(runtime, rid) if e["type"] == "request.rated"]
    assert [e["data"]["rating"] for e in after] == ["no_response"]
    kinds = [e["type"] for e in await events(runtime, rid)]
    assert kinds[-1] in ("request.closed", "request.revisit_scheduled")


async def test_complaints_always_get_a_return_visit_and_a_recurrence_reopens(
    followup: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = followup
    rid = await resolved_request(runtime, category="complaint")
    await client.post(f"/v1/requests/{rid}/feedback", json={}, headers=AGENT)
    rated = await client.post(
        f"/v1/requests/{rid}/rating", json={"rating": "satisfied", "score": 5}, headers=AGENT
    )
    assert rated.json()["state"] == "rated"  # not closed: a return visit is pending
    scheduled = (await events(runtime, rid))[-1]
    assert scheduled["type"] == "request.revisit_scheduled"
    revisit_id = scheduled["data"]["revisit_id"]
    listed = (
        await client.get(
            "/v1/revisits", params={"due_before": (now() + timedelta(days=30)).isoformat()}, headers=AGENT
        )
    ).json()["items"]
    assert revisit_id in [r["id"] for r in listed]
    outcome = await client.post(
        f"/v1/revisits/{revisit_id}/outcome", json={"outcome": "recurred", "notes": "又坏了"}, headers=AGENT
    )
    assert outcome.json()["state"] == "reopened"
    assert [e["type"] for e in await events(runtime, rid)][-3:] == [
        "request.revisited",
        "request.reopened",
        "notification.requested",
    ]
    again = await client.post(f"/v1/revisits/{revisit_id}/outcome", json={"outcome": "solved"}, headers=AGENT)
    assert again.status_code == 409


async def test_unsatisfied_reopens_until_the_limit_then_goes_to_the_supervisors(
    followup: tuple[httpx.AsyncClient, ServiceRuntime], routing_directory: str
) -> None:
    client, runtime = followup
    rid = await resolved_request(runtime)
    for round_ in range(1, 4):
        await client.post(f"/v1/requests/{rid}/feedback", json={}, headers=AGENT)
        rated = await client.post(
            f"/v1/requests/{rid}/rating",
            headers=AGENT,
            json={"rating": "unsatisfied", "reason": f"第{round_}次仍未解决"},
        )
        if round_ <= 2:
            assert rated.json() == {"request_id": rid, "state": "reopened", "reopen_count": round_}
            t = now()
            for data in (
                RequestRouted(
                    lead_department="urban", due=Due(feedback=t + timedelta(days=9)), category="repair"
                ),
                RequestAccepted(department="urban", handler_id="h-urban"),
                RequestResolved(
                    department="urban", handler_id="h-urban", outcome="resolved", reply="再次处理"
                ),
            ):
                env = envelope(rid, data)
                await feed(
                    runtime,
                    env.model_copy(update={"type": "request.rerouted"})
                    if data.TYPE == "request.routed"
                    else env,
                )
        else:
            assert rated.json()["state"] == "rated" and rated.json()["reopen_count"] == 2
    last = await events(runtime, rid)
    supervisors = [
        e for e in last if e["type"] == "notification.requested" and "supervisors" in e["data"]["audience"]
    ]
    assert len(supervisors) == 1 and supervisors[0]["data"]["template"] == "reopen_limit_reached"
    # Sent to the supervisors by name (the directory's), not to nobody.
    assert supervisors[0]["data"]["recipients"] == ["supervisor-01", "supervisor-02"]


async def test_anonymous_requests_are_not_surveyed(
    followup: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = followup
    rid = await resolved_request(runtime, anonymous=True)
    await client.post(f"/v1/requests/{rid}/feedback", json={}, headers=AGENT)
    assert [e["type"] for e in await events(runtime, rid)] == [
        "request.feedback_given",
        "notification.requested",
    ]
    refused = await client.post(f"/v1/requests/{rid}/rating", json={"rating": "satisfied"}, headers=AGENT)
    assert refused.status_code == 409
    closed = await client.post(f"/v1/requests/{rid}/close", json={"reason": "匿名诉求已反馈"}, headers=AGENT)
    assert closed.json()["state"] == "closed"


async def test_followup_holds_no_contact_data(followup: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    _, runtime = followup
    async with runtime.sessions() as session:
        columns = (
            await session.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public'"
                )
            )
        ).all()
    personal = {"phone", "email", "name", "address", "id_number", "requester", "contact"}
    assert not [c for c in columns if any(p in c.column_name for p in personal)]


async def test_withdrawn_closes_at_once_and_merged_closes_with_its_primary(
    followup: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    from shared.events.catalogue import RequestMerged, RequestWithdrawn

    client, runtime = followup
    t = now()
    withdrawn, primary, duplicate = (str(uuid.uuid4()) for _ in range(3))
    for rid in (withdrawn, duplicate):
        await feed(
            runtime,
            envelope(
                rid,
                RequestReceived(
                    channel="web",
                    category="repair",
                    urgency="normal",
                    submitted_at=t,
                    first_responder=FirstResponder(kind="channel", id="web"),
                ),
            ),
        )
    await feed(runtime, envelope(withdrawn, RequestWithdrawn(reason="已自行解决")))
    assert [e["type"] for e in await events(runtime, withdrawn)] == ["request.closed"]

    primary = await resolved_request(runtime)
    await feed(runtime, envelope(duplicate, RequestMerged(into_request_id=primary)))
    assert await events(runtime, duplicate) == []  # waits for its primary
    await client.post(f"/v1/requests/{primary}/feedback", json={}, headers=AGENT)
    await client.post(f"/v1/requests/{primary}/close", json={"reason": "已办结"}, headers=AGENT)
    closed = await events(runtime, duplicate)
    assert [e["type"] for e in closed] == ["request.closed"] and primary in closed[0]["data"]["reason"]


async def test_the_feedback_due_moves_with_an_extended_resolve_due(
    followup: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    _, runtime = followup
    rid = str(uuid.uuid4())
    t = now()
    await feed(
        runtime,
        envelope(
            rid,
            RequestReceived(
                channel="hotline",
                category="repair",
                urgency="normal",
                submitted_at=t,
                first_responder=FirstResponder(kind="staff", id="agent-001"),
            ),
        ),
    )
    routed = RequestRouted(
        lead_department="urban",
        due=Due(resolve=t + timedelta(days=5), feedback=t + timedelta(days=7)),
        category="repair",
    )
    await feed(runtime, envelope(rid, routed))
    moved = RequestDueChanged(
        department="urban",
        due=Due(resolve=t + timedelta(days=12), feedback=t + timedelta(days=14)),
        reason="extension",
    )
    await feed(runtime, envelope(rid, moved, minutes=1))
    async with runtime.sessions() as session:
        feedback_due = await session.scalar(
            select(followup_store.followups.c.feedback_due).where(
                followup_store.followups.c.request_id == rid
            )
        )
    assert feedback_due == t + timedelta(days=14)  # not before the new resolve due


async def test_feedback_without_a_text_tells_the_person_the_reply_recorded_at_resolution(
    followup: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    from services.intake.domain.notifications import render

    client, runtime = followup
    rid = await resolved_request(runtime)  # resolved with the reply "已处理"
    assert (await client.post(f"/v1/requests/{rid}/feedback", json={}, headers=AGENT)).status_code == 200
    ask = (await events(runtime, rid))[1]
    assert ask["data"]["template"] == "result_feedback"
    assert ask["data"]["params"] == {"message": "已处理"} and ask["data"]["department"] == "urban"
    params = {"request_id": "R1", "department": "urban", **ask["data"]["params"]}
    assert (
        render("result_feedback", params) == "您的诉求（编号 R1）已办理完毕：已处理。请对办理结果进行评价。"
    )
    assert render("result_feedback", params, audience="first_responder") == (
        "您首问受理的诉求 R1 已由城市管理局办结，答复诉求人：已处理。"
    )
    # A feedback text of its own wins over the reply.
    other = await resolved_request(runtime)
    await client.post(f"/v1/requests/{other}/feedback", json={"message": "路灯已更换新灯泡"}, headers=AGENT)
    assert (await events(runtime, other))[1]["data"]["params"] == {"message": "路灯已更换新灯泡"}


async def test_a_channel_rates_only_requests_that_came_in_through_it(
    followup: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    from shared.auth import Principal
    from shared.errors import NotFound

    _, runtime = followup
    rid = await resolved_request(runtime)  # came in by the hotline
    async with runtime.uow() as uow:
        await service.give_feedback(uow, Principal(kind="staff", id="agent-001", role="agent"), rid, None)
    web = Principal(kind="channel", id="web", role="channel")
    with pytest.raises(NotFound):
        async with runtime.uow() as uow:
            await service.rate(uow, web, rid, "unsatisfied", None, None, "web says no")
    hotline = Principal(kind="channel", id="hotline", role="channel")
    async with runtime.uow() as uow:
        rated = await service.rate(uow, hotline, rid, "satisfied", 5, None, None)
    assert rated["state"] in ("rated", "closed")


async def test_withdrawing_a_primary_leaves_the_requests_merged_into_it_open(
    followup: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    from shared.events.catalogue import RequestMerged, RequestMergeReleased, RequestWithdrawn

    _, runtime = followup
    t = now()
    primary, duplicate = str(uuid.uuid4()), str(uuid.uuid4())
    for rid in (primary, duplicate):
        received = RequestReceived(
            channel="web",
            category="repair",
            urgency="normal",
            submitted_at=t,
            first_responder=FirstResponder(kind="channel", id="web"),
        )
        await feed(runtime, envelope(rid, received))
    await feed(runtime, envelope(duplicate, RequestMerged(into_request_id=primary)))
    await feed(runtime, envelope(primary, RequestWithdrawn(reason="不需要了")))
    assert [e["type"] for e in await events(runtime, primary)] == ["request.closed"]
    assert await events(runtime, duplicate) == []  # another person's request: not closed with it
    await feed(runtime, envelope(duplicate, RequestMergeReleased(former_primary_id=primary)))
    async with runtime.sessions() as session:
        found = await followup_store.find(session, duplicate)
    assert found is not None and found.state.value == "received"


async def test_an_unsatisfied_rating_owes_a_return_visit_once_it_is_handled_again(
    followup: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = followup
    rid = await resolved_request(runtime)
    await client.post(f"/v1/requests/{rid}/feedback", json={}, headers=AGENT)
    rated = await client.post(
        f"/v1/requests/{rid}/rating", json={"rating": "unsatisfied", "reason": "路灯还是不亮"}, headers=AGENT
    )
    assert rated.json()["state"] == "reopened"
    told = (await events(runtime, rid))[-1]
    assert told["data"]["template"] == "request_reopened"
    assert (
        told["data"]["audience"] == ["requester", "first_responder"] and told["data"]["department"] == "urban"
    )
    t = now()
    for data in (
        RequestRouted(lead_department="urban", due=Due(feedback=t + timedelta(days=9)), category="repair"),
        RequestAccepted(department="urban", handler_id="h-urban"),
        RequestResolved(department="urban", handler_id="h-urban", outcome="resolved", reply="已更换灯具"),
    ):
        env = envelope(rid, data)
        await feed(
            runtime,
            env.model_copy(update={"type": "request.rerouted"}) if data.TYPE == "request.routed" else env,
        )
    await client.post(f"/v1/requests/{rid}/feedback", json={}, headers=AGENT)
    again = await client.post(f"/v1/requests/{rid}/rating", json={"rating": "satisfied"}, headers=AGENT)
    assert again.json()["state"] == "rated"  # not closed: the return visit it owes is pending
    async with runtime.sessions() as session:
        reasons = list(
            await session.scalars(
                select(followup_store.revisits.c.reason).where(followup_store.revisits.c.request_id == rid)
            )
        )
    assert reasons == ["unsatisfied"]


async def test_revisits_are_listed_page_by_page_and_due_before_takes_a_date(
    followup: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = followup
    ids = []
    for _ in range(3):
        rid = await resolved_request(runtime, category="complaint")
        await client.post(f"/v1/requests/{rid}/feedback", json={}, headers=AGENT)
        await client.post(f"/v1/requests/{rid}/rating", json={"rating": "satisfied"}, headers=AGENT)
        ids.append((await events(runtime, rid))[-1]["data"]["revisit_id"])
    by_date = await client.get("/v1/revisits", params={"due_before": "2099-12-31"}, headers=AGENT)
    assert by_date.status_code == 200, by_date.text
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {
            "due_before": "2099-12-31",
            "limit": 2,
            **({"cursor": cursor} if cursor else {}),
        }
        page = (await client.get("/v1/revisits", params=params, headers=AGENT)).json()
        assert len(page["items"]) <= 2
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    bad = await client.get("/v1/revisits", params={"due_before": "明天"}, headers=AGENT)
    assert bad.status_code == 422


async def test_a_fetch_applied_at_once_leaves_each_request_where_one_by_one_would(platform: Settings) -> None:
    """The consumer reads and locks a fetch's followups in one statement (prepare_batch) and
    keeps them while it applies the fetch: the state, lead and reply come out as when each
    event is applied alone, also for a request that arrives inside the same fetch."""
    runtime = ServiceRuntime(
        name="followup",
        metadata=followup_store.metadata,
        handlers=HANDLERS,
        settings=platform,
        prepare_batch=prepare_batch,
    )
    t = now()
    fetch: list[bytes] = []
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for rid in ids:
        for data in (
            RequestReceived(
                channel="wechat",
                category="repair",
                urgency="normal",
                submitted_at=t,  # type: ignore[arg-type]
                first_responder=FirstResponder(kind="staff", id="agent-001"),
            ),
            RequestRouted(
                lead_department="water", due=Due(feedback=t + timedelta(days=9)), category="repair"
            ),  # type: ignore[arg-type]
            RequestAccepted(department="water", handler_id="h-water"),
            RequestResolved(department="water", handler_id="h-water", outcome="resolved", reply="水管已换新"),
        ):
            fetch.append(envelope(rid, data).model_dump_json().encode())
    outcomes = await runtime.processor().process_batch(fetch)
    assert [o[0] for o in outcomes] == ["applied"] * len(fetch)
    for rid in ids:
        async with runtime.sessions() as session:
            followup = await followup_store.find(session, rid)
        assert followup is not None
        assert (followup.state.value, followup.lead_department, followup.reply) == (
            "resolved",
            "water",
            "水管已换新",
        )
    await runtime.engine.dispose()
