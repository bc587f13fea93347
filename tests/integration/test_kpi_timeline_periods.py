"""KPI as supervisors read it (issue 18): the timeline is the whole story of a request;
periods close once, only when over; departments without figures are listed unranked; a
request answered at intake counts no department's clock; moved due times count."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from services.kpi import store as kpi_store
from services.kpi.consumers import HANDLERS
from services.kpi.main import build_app
from shared.clock import now
from shared.db import outbox_table
from shared.events.catalogue import (
    Due,
    FirstResponder,
    NotificationRequested,
    RequestAccepted,
    RequestAnsweredAtIntake,
    RequestCoOpinionAdded,
    RequestDueChanged,
    RequestExtensionDecided,
    RequestExtensionRequested,
    RequestPaused,
    RequestReceived,
    RequestResumed,
    RequestRouted,
    RequestSlaBreached,
    RequestSlaWarning,
    RequestSupervised,
    RequestSupervisionAnswered,
)
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.integration.test_kpi import SUPERVISOR, TZ, feed

Kpi = tuple[httpx.AsyncClient, ServiceRuntime]


@pytest.fixture
async def kpi(platform: Settings) -> AsyncIterator[Kpi]:
    runtime = ServiceRuntime(name="kpi", metadata=kpi_store.metadata, handlers=HANDLERS, settings=platform)
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


T0 = datetime(2024, 9, 9, 10, 0, tzinfo=TZ)


def received() -> RequestReceived:
    return RequestReceived(
        channel="hotline",
        category="repair",
        urgency="normal",
        submitted_at=T0,
        first_responder=FirstResponder(kind="staff", id="agent-001"),
        content="小区门口井盖松了 电动车差点摔 快来修下",
    )


async def test_the_timeline_shows_every_event_of_the_request(kpi: Kpi) -> None:
    client, runtime = kpi
    rid = str(uuid.uuid4())
    due = Due(accept=T0 + timedelta(days=1), resolve=T0 + timedelta(days=5), feedback=T0 + timedelta(days=7))
    story = [
        received(),
        RequestRouted(lead_department="urban", co_departments=["water"], due=due, category="repair"),
        RequestAccepted(department="urban", handler_id="h-urban"),
        RequestPaused(department="urban", reason="等市民补充现场照片"),
        RequestResumed(department="urban", due=Due(resolve=T0 + timedelta(days=6))),
        RequestExtensionRequested(
            department="urban", clock="resolve", requested_due=T0 + timedelta(days=9), reason="需更换井座"
        ),
        RequestExtensionDecided(
            department="urban",
            clock="resolve",
            approved=True,
            new_due=T0 + timedelta(days=9),
            decided_by="head-urban",
            extension_id="x-1",
        ),
        RequestCoOpinionAdded(department="water", opinion="非供水井盖，归城管"),
        NotificationRequested(
            template="extension_notice", params={"reason": "需更换井座"}, audience=["requester"]
        ),
        RequestSlaWarning(
            department="urban", clock="resolve", due=T0 + timedelta(days=9), handler_id="h-urban"
        ),
        RequestSlaBreached(
            department="urban", clock="resolve", due=T0 + timedelta(days=9), handler_id="h-urban"
        ),
        RequestSupervised(
            order_id="o-1", department="urban", instructions="今日内修好", due=T0 + timedelta(days=10)
        ),
        RequestSupervisionAnswered(
            order_id="o-1", department="urban", answer="已更换井盖", answered_by="head-urban", on_time=True
        ),
    ]
    for minutes, data in enumerate(story):
        await feed(runtime, rid, data, T0 + timedelta(hours=minutes))
    timeline = (await client.get(f"/v1/requests/{rid}/timeline", headers=SUPERVISOR)).json()
    assert [e["type"] for e in timeline["events"]] == [d.TYPE for d in story]
    # What is only told in the timeline leaves the figures as they were.
    facts = (await client.get(f"/v1/requests/{rid}/facts", headers=SUPERVISOR)).json()
    assert facts["events"] == 5 and facts["state"] == "accepted"


async def test_an_answer_at_intake_cancels_the_routing_in_the_figures(kpi: Kpi) -> None:
    client, runtime = kpi
    rid = str(uuid.uuid4())
    due = Due(accept=T0 + timedelta(hours=2), resolve=T0 + timedelta(days=3))
    await feed(runtime, rid, received(), T0)
    await feed(
        runtime, rid, RequestRouted(lead_department="service_center", due=due), T0 + timedelta(minutes=1)
    )
    answer = RequestAnsweredAtIntake(answer="社保卡补办请带身份证到任一网点", agent_id="agent-001")
    await feed(runtime, rid, answer, T0 + timedelta(minutes=3))
    facts = (await client.get(f"/v1/requests/{rid}/facts", headers=SUPERVISOR)).json()
    assert facts["answered_at_intake"] is True
    assert facts["lead_department"] is None and facts["accept_due"] is None  # no late acceptance counted

    # A routing decision that arrives after the answer opens no clock either.
    other = str(uuid.uuid4())
    await feed(runtime, other, received(), T0)
    await feed(runtime, other, answer, T0 + timedelta(minutes=1))
    await feed(
        runtime, other, RequestRouted(lead_department="service_center", due=due), T0 + timedelta(minutes=2)
    )
    facts = (await client.get(f"/v1/requests/{other}/facts", headers=SUPERVISOR)).json()
    assert facts["lead_department"] is None and facts["accept_due"] is None


async def test_moved_due_times_count_in_the_facts(kpi: Kpi) -> None:
    client, runtime = kpi
    rid = str(uuid.uuid4())
    due = Due(accept=T0 + timedelta(days=1), resolve=T0 + timedelta(days=5), feedback=T0 + timedelta(days=7))
    await feed(runtime, rid, received(), T0)
    await feed(runtime, rid, RequestRouted(lead_department="urban", due=due), T0 + timedelta(minutes=1))
    moved = Due(resolve=T0 + timedelta(days=9), feedback=T0 + timedelta(days=11))
    await feed(
        runtime,
        rid,
        RequestDueChanged(department="urban", due=moved, reason="extension"),
        T0 + timedelta(hours=1),
    )
    facts = (await client.get(f"/v1/requests/{rid}/facts", headers=SUPERVISOR)).json()
    assert datetime.fromisoformat(facts["resolve_due"]) == T0 + timedelta(days=9)
    assert datetime.fromisoformat(facts["feedback_due"]) == T0 + timedelta(days=11)


async def test_a_period_closes_once_and_only_when_it_is_over(kpi: Kpi) -> None:
    client, _ = kpi
    today = now().astimezone(TZ)
    next_month = (today.replace(day=1) + timedelta(days=32)).strftime("%Y-%m")
    this_quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    for label in (next_month, today.strftime("%Y-%m"), this_quarter, str(today.year)):  # not over yet
        refused = await client.post(f"/v1/periods/{label}/close", headers=SUPERVISOR)
        assert refused.status_code == 409, label
        error = refused.json()["error"]
        assert error["code"] == "period_not_over" and error["fields"][0]["field"] == "period"
    first = await client.post("/v1/periods/2024-10/close", headers=SUPERVISOR)
    again = await client.post("/v1/periods/2024-10/close", headers=SUPERVISOR)
    assert first.status_code == 200 and again.status_code == 200
    assert again.json()["already_closed"] is True
    assert [r["department"] for r in again.json()["ranking"]] == [
        r["department"] for r in first.json()["ranking"]
    ]
    outbox = outbox_table(kpi_store.metadata)
    async with kpi[1].sessions() as session:
        scored = list(
            await session.scalars(select(outbox.c.payload).where(outbox.c.type == "kpi.period_scored"))
        )
    assert [s["data"]["period"] for s in scored].count("2024-10") == 1


async def test_a_department_without_figures_is_listed_unranked(
    kpi: Kpi,
    routing_directory: str,
) -> None:
    client, runtime = kpi
    rid = str(uuid.uuid4())
    t = datetime(2024, 11, 12, 10, tzinfo=TZ)
    due = Due(accept=t + timedelta(days=1), resolve=t + timedelta(days=3))
    await feed(runtime, rid, received().model_copy(update={"submitted_at": t}), t)
    await feed(runtime, rid, RequestRouted(lead_department="urban", due=due), t + timedelta(minutes=1))
    await feed(runtime, rid, RequestAccepted(department="urban", handler_id="h"), t + timedelta(hours=1))
    ranking = (await client.get("/v1/rankings", params={"period": "2024-11"}, headers=SUPERVISOR)).json()[
        "items"
    ]
    by_department = {r["department"]: r for r in ranking}
    assert by_department["urban"]["rank"] == 1
    assert by_department["transport"]["rank"] is None and by_department["transport"]["score"] is None
