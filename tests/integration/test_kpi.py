"""KPI against the real PostgreSQL: figures per period kind, closing periods, rankings,
accountability after N periods under the pass line, CSV, hot spots."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from services.kpi import store as kpi_store
from services.kpi.consumers import HANDLERS
from services.kpi.main import build_app
from shared.auth import issue_staff_token
from shared.db import outbox_table
from shared.events.catalogue import (
    CATALOGUE,
    Due,
    FirstResponder,
    RequestAccepted,
    RequestReceived,
    RequestRouted,
)
from shared.events.envelope import SYSTEM, new_envelope
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client

TZ = ZoneInfo("Asia/Shanghai")
SUPERVISOR = {"Authorization": "Bearer " + issue_staff_token("supervisor-01", "supervisor")}


@pytest.fixture
async def kpi(platform: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    runtime = ServiceRuntime(name="kpi", metadata=kpi_store.metadata, handlers=HANDLERS, settings=platform)
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


async def feed(runtime: ServiceRuntime, rid: str, data: Any, at: datetime) -> None:
    env = new_envelope(
        type=data.TYPE,
        version=data.VERSION,
        request_id=rid,
        producer="t",
        actor=SYSTEM,
        data=data.model_dump(mode="json"),
        occurred_at=at,
    )
    async with runtime.uow() as uow:
        decoded = CATALOGUE[(env.type, env.version)].model_validate(env.data)
        await HANDLERS[type(decoded)](uow, env, decoded)
        await uow.commit()


async def a_request(
    runtime: ServiceRuntime,
    department: str,
    received: datetime,
    accepted_late: bool,
    topic: str | None = "noise",
    matter: str | None = None,
    area: str | None = None,
) -> None:
    rid = str(uuid.uuid4())
    await feed(
        runtime,
        rid,
        RequestReceived(
            channel="web",
            category="repair",
            urgency="normal",
            submitted_at=received,
            topic=topic,
            area=area,
            first_responder=FirstResponder(kind="channel", id="web"),
        ),
        received,
    )
    due = Due(accept=received + timedelta(days=1), resolve=received + timedelta(days=400))
    await feed(
        runtime,
        rid,
        RequestRouted(lead_department=department, due=due, category="repair", matter=matter),
        received + timedelta(minutes=1),
    )
    await feed(
        runtime,
        rid,
        RequestAccepted(department=department, handler_id="h"),
        received + timedelta(days=2 if accepted_late else 0, hours=1),
    )


async def test_three_periods_under_the_pass_line_flag_a_department_once(
    kpi: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = kpi
    slow, quick = f"slow{uuid.uuid4().hex[:5]}", f"quick{uuid.uuid4().hex[:5]}"
    months = ["2025-06", "2025-07", "2025-08"]
    for month in months:
        received = datetime.fromisoformat(f"{month}-10T10:00:00").replace(tzinfo=TZ)
        await a_request(runtime, slow, received, accepted_late=True)
        await a_request(runtime, quick, received, accepted_late=False)
    for month in months:
        closed = await client.post(f"/v1/periods/{month}/close", headers=SUPERVISOR)
        assert closed.status_code == 200, closed.text
    assert closed.json()["flagged"].count(slow) == 1 and quick not in closed.json()["flagged"]
    again = await client.post(f"/v1/periods/{months[-1]}/close", headers=SUPERVISOR)
    assert slow not in again.json()["flagged"]  # once per streak

    flags = (await client.get("/v1/accountability", headers=SUPERVISOR)).json()["items"]
    mine = [f for f in flags if f["department"] == slow]
    assert len(mine) == 1 and mine[0]["periods"] == months

    # A page at a time (one flag a page here), newest first, is the same list as one page.
    whole = (await client.get("/v1/accountability", params={"limit": 500}, headers=SUPERVISOR)).json()
    paged: list[dict[str, object]] = []
    params: dict[str, object] = {"limit": 1}
    while True:
        part = (await client.get("/v1/accountability", params=params, headers=SUPERVISOR)).json()
        paged += part["items"]
        if not part["next_cursor"]:
            break
        params["cursor"] = part["next_cursor"]
    assert paged == whole["items"] and whole["next_cursor"] is None
    assert [f["flagged_at"] for f in paged] == sorted((f["flagged_at"] for f in paged), reverse=True)
    bad = await client.get("/v1/accountability", params={"cursor": "nonsense"}, headers=SUPERVISOR)
    assert bad.status_code == 400 and bad.json()["error"]["fields"][0]["field"] == "cursor"

    ranking = (await client.get("/v1/rankings", params={"period": "2025-08"}, headers=SUPERVISOR)).json()[
        "items"
    ]
    positions = {r["department"]: r for r in ranking}
    assert positions[quick]["score"] == 100.0 and positions[slow]["score"] == 0.0
    assert positions[quick]["rank"] < positions[slow]["rank"] and positions[slow]["passed"] is False

    outbox = outbox_table(kpi_store.metadata)
    async with runtime.sessions() as session:
        flagged = list(
            await session.scalars(select(outbox.c.payload).where(outbox.c.type == "kpi.department_flagged"))
        )
    assert [f["data"] for f in flagged if f["data"]["department"] == slow] == [
        {"department": slow, "periods": months}
    ]


async def test_figures_by_week_quarter_and_year_and_as_csv(
    kpi: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = kpi
    dept = f"d{uuid.uuid4().hex[:6]}"
    received = datetime(2025, 3, 10, 10, tzinfo=TZ)  # Monday of ISO week 11
    await a_request(runtime, dept, received, accepted_late=False)
    await a_request(runtime, dept, received, accepted_late=True)
    for label in ("2025-W11", "2025-Q1", "2025", "2025-03"):
        body = (
            await client.get("/v1/kpis", params={"period": label, "department": dept}, headers=SUPERVISOR)
        ).json()
        assert body["items"][0]["acceptance_timeliness"] == {"numerator": 1, "denominator": 2, "rate": 0.5}, (
            label
        )
    text = await client.get(
        "/v1/kpis",
        params={"period": "2025-03", "department": dept},
        headers={**SUPERVISOR, "Accept": "text/csv"},
    )
    assert text.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(text.text)))
    assert row["department"] == dept and row["acceptance_timeliness.rate"] == "0.5"
    bad = await client.get("/v1/kpis", params={"period": "March"}, headers=SUPERVISOR)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "period"
    head = {"Authorization": "Bearer " + issue_staff_token("head", "dept_head", dept)}
    own = (
        await client.get("/v1/kpis", params={"period": "2025-03", "department": "other"}, headers=head)
    ).json()
    assert [i["department"] for i in own["items"]] == [dept]
    handler = {"Authorization": "Bearer " + issue_staff_token("h", "handler", dept)}
    assert (await client.get("/v1/kpis", params={"period": "2025-03"}, headers=handler)).status_code == 403


async def test_hotspots(kpi: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, runtime = kpi
    topic = f"t{uuid.uuid4().hex[:6]}"
    for day in (3, 4, 5):
        await a_request(runtime, "urban", datetime(2024, 5, day, 10, tzinfo=TZ), False, topic=topic)
    await a_request(runtime, "urban", datetime(2024, 4, 3, 10, tzinfo=TZ), False, topic=topic)
    spots = (await client.get("/v1/hotspots", params={"period": "2024-05"}, headers=SUPERVISOR)).json()
    entry = next(t for t in spots["topics"]["most"] if t["key"] == topic)
    assert entry == {"key": topic, "count": 3, "previous": 1, "growth": 2.0}


async def test_two_reports_of_one_broken_lamp_are_a_hot_spot_by_matter_and_place(
    kpi: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = kpi
    place = f"望京街道{uuid.uuid4().hex[:4]}"
    lamp = f"urban.l{uuid.uuid4().hex[:5]}"
    for hour in (10, 15):  # two neighbours, in their own words: no shared topic
        await a_request(
            runtime,
            "urban",
            datetime(2024, 7, 8, hour, tzinfo=TZ),
            False,
            topic=None,
            matter=lamp,
            area=place,
        )
    await a_request(runtime, "urban", datetime(2024, 7, 9, 9, tzinfo=TZ), False, matter=lamp, area="别处")
    spots = (await client.get("/v1/hotspots", params={"period": "2024-07"}, headers=SUPERVISOR)).json()
    by_matter = next(m for m in spots["matters"]["most"] if m["key"] == lamp)
    assert (by_matter["count"], by_matter["previous"]) == (3, 0)
    here = next(m for m in spots["matters_in_areas"]["most"] if m["matter"] == lamp and m["area"] == place)
    assert here["count"] == 2
    async with runtime.sessions() as session:
        assert await kpi_store.recount(session) == []
