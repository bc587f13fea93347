"""KPI figures by matter (事项, issue 17): summed in SQL from the kept matter counts, they are
exactly the Python definitions (services/kpi/domain/figures.py) over the requests
dispatched under the matter, brute force over a generated sample; and what a supervisor
and a department head read: the matter's name from the catalogue, its counts and rates, a
page at a time and as CSV."""

from __future__ import annotations

import base64
import csv
import io
import random
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bench.kpi_facts import generate
from services.kpi import queries, store
from services.kpi.domain.facts import Fact, replace
from services.kpi.domain.figures import Period, department_figures
from services.kpi.domain.scoring import score
from services.kpi.main import build_app
from shared.auth import issue_staff_token
from shared.clock import now, organisation_tz
from shared.db import create_engine, session_factory
from shared.runtime import ServiceRuntime
from shared.settings import Settings, get_settings
from tests.integration.conftest import asgi_client
from tests.integration.test_kpi import SUPERVISOR, TZ, a_request, kpi  # noqa: F401 (the fixture)

# The weights the figures are scored with (the queries take the service's settings).
CONF = get_settings()


@pytest.fixture
async def engine(platform: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(platform.database_url("kpi"), platform)
    yield engine
    await engine.dispose()


def _in_period(facts: list[Fact], period: Period) -> list[Fact]:
    """Facts with any time in the period, bounds inclusive (as merged/withdrawn are counted)."""
    return [
        f
        for f in facts
        if any(
            (t := getattr(f, name)) is not None and period.start <= t <= period.end for name in store._TIMES
        )
    ]


def brute_department(facts: list[Fact], matter: str, department: str, period: Period, at: datetime) -> Any:
    """A department's figures over the requests of the matter only."""
    mine = _in_period([f for f in facts if f.matter == matter], period)
    figures = department_figures(mine, department, period, at=at)
    figures["score"] = score(figures, get_settings().kpi_weights)
    return figures


def brute_whole(facts: list[Fact], matter: str, period: Period, at: datetime) -> Any:
    """The matter's figures for every department together: each request led by whichever
    department, its returns made by whichever department, each request counted once."""
    everyone = "*"
    mine = [
        replace(
            f,
            lead_department=everyone if f.lead_department is not None else None,
            returned_by=(everyone,) * len(f.returned_by),
        )
        for f in _in_period([f for f in facts if f.matter == matter], period)
    ]
    figures = department_figures(mine, everyone, period, at=at)
    figures["score"] = score(figures, get_settings().kpi_weights)
    return {**figures, "department": None}


def _diff(got: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    return {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}


def _figures_only(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("matter", "name")}


async def _all_pages(
    session: AsyncSession, period: Period, department: str | None, at: datetime
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await queries.matter_page(session, CONF, period, department, cursor, 2, at=at)
        assert len(page["items"]) <= 2
        rows += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return rows


async def test_matter_figures_equal_a_brute_force_count_of_the_matters_requests(engine: AsyncEngine) -> None:
    tz = organisation_tz()
    at = now()
    rnd = random.Random(17)
    tag = uuid.uuid4().hex[:6]
    matters = [f"km{tag}.lamp", f"km{tag}.water", f"km{tag}.noise", f"km{tag}.market", f"km{tag}.parking"]
    sample = list(
        generate(900, at - timedelta(days=75), at + timedelta(days=2), until=at, seed=17, prefix=f"m{tag}-")
    )
    month = Period.month(f"{at.year}-{at.month:02d}", tz)
    with_matter: list[Fact] = []
    for fact in sample:
        matter = rnd.choice([*matters, None]) if fact.lead_department else rnd.choice([matters[0], None])
        with_matter.append(replace(fact, matter=matter))
    # An open clock due right now, a withdrawn request with its only time at the next
    # month's midnight, one answered at intake under a matter (no department's figures).
    with_matter[0] = replace(
        with_matter[0],
        lead_department="urban",
        matter=matters[1],
        excluded=None,
        resolve_due=at,
        resolved_at=None,
    )
    with_matter[1] = Fact(
        request_id=with_matter[1].request_id,
        lead_department="water",
        matter=matters[2],
        excluded="withdrawn",
        received_at=month.end,
    )
    sessions = session_factory(engine)
    async with sessions() as session:
        for fact in with_matter:
            # The row as the consumer wrote it on the way: received (no matter yet), routed
            # under another matter to the first department, then as it is now.
            first = fact.returned_by[0] if fact.returned_by else fact.lead_department
            steps = [
                Fact(request_id=fact.request_id, received_at=fact.received_at, category=fact.category),
                replace(
                    fact, matter=rnd.choice(matters), lead_department=first, returned_by=(), resolved_at=None
                ),
            ]
            for step in steps:
                await store.save_fact(session, step)
            await store.save_fact(session, fact)
        await session.commit()

    async with sessions() as session:
        everything = list((await store.all_facts(session)).values())
        week = Period.parse(f"{at.isocalendar()[0]}-W{at.isocalendar()[1]:02d}", tz)
        quarter = Period.parse(f"{at.year}-Q{(at.month - 1) // 3 + 1}", tz)
        year = Period.parse(str(at.year), tz)
        next_month = Period.month(f"{month.end.year}-{month.end.month:02d}", tz)
        for period in (month, month.previous(tz), week, quarter, year, next_month):
            for matter in matters:
                answer = await queries.matter_kpis(session, CONF, period, matter, None, at=at)
                assert answer["matter"] == {"code": matter, "name": None}  # routing not reachable here
                total = answer["matter_total"]
                assert _diff(_figures_only(total), brute_whole(everything, matter, period, at)) == {}, (
                    period.label,
                    matter,
                )
                listed = {i["department"] for i in answer["items"]}
                for item in answer["items"]:
                    assert item["matter"] == matter
                    want = brute_department(everything, matter, item["department"], period, at)
                    assert _diff(_figures_only(item), want) == {}, (period.label, matter, item["department"])
                # Every department with a request of the matter in the period is listed.
                for d in {f.lead_department for f in everything if f.matter == matter and f.lead_department}:
                    want = brute_department(everything, matter, d, period, at)
                    if want["counts"]["routed"] or want["counts"]["resolved"] or want["returns"]["count"]:
                        assert d in listed, (period.label, matter, d)
                one = await queries.matter_kpis(session, CONF, period, matter, "urban", at=at)
                assert "matter_total" not in one
                [urban] = one["items"]
                assert (
                    _diff(_figures_only(urban), brute_department(everything, matter, "urban", period, at))
                    == {}
                )
            # The list, a page of two at a time: each matter once, by code, the same figures.
            pages = await _all_pages(session, period, None, at)
            codes = [r["matter"] for r in pages]
            assert codes == sorted(set(codes))
            for row in pages:
                if row["matter"] in matters:
                    want = brute_whole(everything, row["matter"], period, at)
                    assert _diff(_figures_only(row), want) == {}, (period.label, row["matter"])
            for matter in matters:
                whole = brute_whole(everything, matter, period, at)
                if whole["counts"]["routed"] or whole["counts"]["resolved"] or whole["counts"]["rated"]:
                    assert matter in codes, (period.label, matter)
            urban_pages = await _all_pages(session, period, "urban", at)
            for row in urban_pages:
                assert row["department"] == "urban"
                if row["matter"] in matters:
                    want = brute_department(everything, row["matter"], "urban", period, at)
                    assert _diff(_figures_only(row), want) == {}, (period.label, row["matter"])
        # The sample had something in every figure, and the previous month figures by matter.
        previous = await queries.matter_kpis(session, CONF, month.previous(tz), matters[1], None, at=at)
        assert previous["matter_total"]["on_time_resolution"]["denominator"] > 0
        assert previous["matter_total"]["satisfaction"]["denominator"] > 0
        assert len(previous["items"]) > 1 and previous["matter_total"]["counts"]["routed"] > len(
            previous["items"]
        )
        returned = [
            (await queries.matter_kpis(session, CONF, quarter, m, None, at=at))["matter_total"]["returns"][
                "count"
            ]
            for m in matters
        ]
        assert sum(returned) > 0
        # The kept matter counts are exactly a recount of the fact rows.
        assert await store.recount(session) == []


@pytest.fixture
async def kpi_client(
    platform: Settings, routing_directory: str
) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    from services.kpi import store as kpi_store
    from services.kpi.consumers import HANDLERS

    runtime = ServiceRuntime(name="kpi", metadata=kpi_store.metadata, handlers=HANDLERS, settings=platform)
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


async def test_what_a_supervisor_and_a_head_read_by_matter(
    kpi_client: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    """Three 停水 (water.outage) requests in May 2023, two accepted in time, one late, two
    led by one department and one by another; one 自来水水质 request."""
    client, runtime = kpi_client
    water, other = f"w{uuid.uuid4().hex[:6]}", f"o{uuid.uuid4().hex[:6]}"
    day = datetime(2023, 5, 8, 10, tzinfo=TZ)
    await a_request(runtime, water, day, accepted_late=False, matter="water.outage")
    await a_request(runtime, water, day + timedelta(days=1), accepted_late=True, matter="water.outage")
    await a_request(runtime, other, day + timedelta(days=2), accepted_late=False, matter="water.outage")
    await a_request(runtime, water, day + timedelta(days=3), accepted_late=False, matter="water.quality")

    listed = await client.get("/v1/kpis/matters", params={"period": "2023-05"}, headers=SUPERVISOR)
    assert listed.status_code == 200, listed.text
    rows = {r["matter"]: r for r in listed.json()["items"]}
    outage = rows["water.outage"]
    assert outage["name"] == "停水" and outage["department"] is None
    assert outage["counts"]["routed"] == 3 and outage["counts"]["accepted"] == 3
    assert outage["acceptance_timeliness"] == {"numerator": 2, "denominator": 3, "rate": 0.6667}
    assert rows["water.quality"]["name"] == "自来水水质"
    assert rows["water.quality"]["counts"]["routed"] == 1

    # A page of one: the next page goes on after it.
    first = (
        await client.get("/v1/kpis/matters", params={"period": "2023-05", "limit": 1}, headers=SUPERVISOR)
    ).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = (
        await client.get(
            "/v1/kpis/matters",
            params={"period": "2023-05", "limit": 1, "cursor": first["next_cursor"]},
            headers=SUPERVISOR,
        )
    ).json()
    assert second["items"][0]["matter"] > first["items"][0]["matter"]

    one = (
        await client.get(
            "/v1/kpis", params={"period": "2023-05", "matter": "water.outage"}, headers=SUPERVISOR
        )
    ).json()
    assert one["matter"] == {"code": "water.outage", "name": "停水"}
    assert one["matter_total"]["counts"]["routed"] == 3
    by_department = {i["department"]: i for i in one["items"]}
    assert by_department[water]["counts"]["routed"] == 2
    assert by_department[water]["acceptance_timeliness"]["rate"] == 0.5
    assert by_department[other]["acceptance_timeliness"]["rate"] == 1.0
    assert "organisation" not in one

    # The head of one department reads their own department's figures only.
    head = {"Authorization": "Bearer " + issue_staff_token("head-w", "dept_head", water)}
    own = (
        await client.get("/v1/kpis/matters", params={"period": "2023-05", "department": other}, headers=head)
    ).json()
    assert own["department"] == water
    mine = {r["matter"]: r for r in own["items"]}
    assert set(mine) == {"water.outage", "water.quality"}
    assert mine["water.outage"]["counts"]["routed"] == 2 and mine["water.outage"]["department"] == water
    theirs = (
        await client.get("/v1/kpis", params={"period": "2023-05", "matter": "water.outage"}, headers=head)
    ).json()
    assert [i["department"] for i in theirs["items"]] == [water] and "matter_total" not in theirs
    handler = {"Authorization": "Bearer " + issue_staff_token("h", "handler", water)}
    refused = await client.get("/v1/kpis/matters", params={"period": "2023-05"}, headers=handler)
    assert refused.status_code == 403

    # As CSV: every matter at once, one line each, the name beside the code.
    text = await client.get(
        "/v1/kpis/matters", params={"period": "2023-05"}, headers={**SUPERVISOR, "Accept": "text/csv"}
    )
    assert text.headers["content-type"].startswith("text/csv")
    lines = {r["matter"]: r for r in csv.DictReader(io.StringIO(text.text))}
    assert lines["water.outage"]["name"] == "停水"
    assert lines["water.outage"]["counts.routed"] == "3"
    assert lines["water.outage"]["acceptance_timeliness.rate"] == "0.6667"
    per_matter = await client.get(
        "/v1/kpis",
        params={"period": "2023-05", "matter": "water.outage"},
        headers={**SUPERVISOR, "Accept": "text/csv"},
    )
    csv_rows = list(csv.DictReader(io.StringIO(per_matter.text)))
    assert [(r["department"], r["counts.routed"]) for r in csv_rows] == [
        ("", "3"),
        *sorted([(water, "2"), (other, "1")]),
    ]
    bad = await client.get(
        "/v1/kpis/matters", params={"period": "2023-05", "cursor": "nope"}, headers=SUPERVISOR
    )
    assert bad.status_code == 400
    # A well-formed cursor this API did not give out (a number, not a matter code).
    forged = base64.urlsafe_b64encode(b"[5]").decode().rstrip("=")
    refused_cursor = await client.get(
        "/v1/kpis/matters", params={"period": "2023-05", "cursor": forged}, headers=SUPERVISOR
    )
    assert refused_cursor.status_code == 400 and refused_cursor.json()["error"]["code"] == "bad_cursor"


async def test_a_fetch_folded_together_keeps_the_matter_counts_in_step(platform: Settings) -> None:
    """The consumer's batch path (a fetch's rows read at once, counts written at commit),
    requests routed under one matter and re-routed under another after a return, the fetch
    shuffled: the matter counts equal a recount and the brute-force figures."""
    from datetime import timedelta as td

    from services.kpi.consumers import HANDLERS, prepare_batch
    from services.kpi.domain.facts import fold_all
    from shared.events.catalogue import Due, RequestRerouted, RequestReturned, RequestRouted, decode
    from tests.support.events import accepted, envelope, received

    runtime = ServiceRuntime(
        name="kpi",
        metadata=store.metadata,
        handlers=HANDLERS,
        settings=platform,
        prepare_batch=prepare_batch,
    )
    tag = uuid.uuid4().hex[:6]
    first_matter, second_matter = f"kb{tag}.lamp", f"kb{tag}.road"
    due = Due(accept=now() + td(days=1), resolve=now() + td(days=5), feedback=now() + td(days=6))
    told: dict[str, list[Any]] = {}
    for i in range(24):
        start = received()
        start.data["requester_ref"] = f"rq_km_{uuid.uuid4().hex[:8]}"
        rid = start.request_id
        lead = ("urban", "water", "market")[i % 3]
        story = [
            start,
            envelope(rid, RequestRouted(lead_department=lead, due=due, matter=first_matter), minutes=1),
        ]
        if i % 4 == 0:  # returned, then led by another department under another matter
            story += [
                envelope(rid, RequestReturned(department=lead, reason="不属于本单位"), minutes=2),
                envelope(
                    rid, RequestRerouted(lead_department="housing", due=due, matter=second_matter), minutes=3
                ),
            ]
            lead = "housing"
        story.append(accepted(rid, lead, minutes=4))
        told[rid] = story
    messages = [env for story in told.values() for env in story]
    random.Random(3).shuffle(messages)
    processor = runtime.processor("kpi")
    for part in (messages[:40], messages[40:]):
        outcomes = await processor.process_batch([env.to_bytes() for env in part])
        assert {o[0] for o in outcomes} == {"applied"}
    folded = [fold_all(rid, [decode(env.to_bytes()) for env in story]) for rid, story in told.items()]
    at = now()
    try:
        async with runtime.sessions() as session:
            assert await store.recount(session) == []
            # Every month the events fell in (two when the pinned clock is a month's last minute).
            tz = organisation_tz()
            labels = {(at + td(minutes=m)).astimezone(tz).strftime("%Y-%m") for m in range(6)}
            road = {"returns": 0, "routed": 0}
            for period in [Period.month(label, tz) for label in sorted(labels)]:
                for matter in (first_matter, second_matter):
                    got = (await queries.matter_kpis(session, CONF, period, matter, None, at=at))[
                        "matter_total"
                    ]
                    assert _diff(_figures_only(got), brute_whole(folded, matter, period, at)) == {}
                    if matter == second_matter:
                        road["returns"] += got["returns"]["count"]
                        road["routed"] += got["counts"]["routed"]
            assert road == {"returns": 6, "routed": 6}
    finally:
        await runtime.engine.dispose()
