"""KPI folds a whole fetch at once (fact rows read in one statement, written at commit): the
rows and the counts must be exactly what folding each request's events one by one gives,
whatever order the fetch holds them in."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator

import pytest

from services.kpi import store as kpi_store
from services.kpi.consumers import HANDLERS, prepare_batch
from services.kpi.domain.facts import fold_all
from shared.events.catalogue import decode
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.events import accepted, received, routed


@pytest.fixture
async def runtime(platform: Settings) -> AsyncIterator[ServiceRuntime]:
    rt = ServiceRuntime(
        name="kpi",
        metadata=kpi_store.metadata,
        handlers=HANDLERS,
        settings=platform,
        prepare_batch=prepare_batch,
    )
    yield rt
    await rt.engine.dispose()


def stories(count: int) -> dict[str, list[Envelope]]:
    out: dict[str, list[Envelope]] = {}
    for i in range(count):
        first = received()
        first.data["requester_ref"] = f"rq_batch_{uuid.uuid4().hex[:8]}"  # no one's repeats
        rid = first.request_id
        department = ("urban", "water", "market")[i % 3]
        out[rid] = [first, routed(rid, department), accepted(rid, department)]
    return out


async def test_a_fetch_folded_together_equals_each_request_folded_alone(runtime: ServiceRuntime) -> None:
    told = stories(30)
    rng = random.Random(7)
    # Most requests in order, some with a later event first (out of order across fetches and
    # within one), and a fetch that repeats an event (a redelivery).
    messages = [env for story in told.values() for env in story]
    rng.shuffle(messages)
    first_fetch, second_fetch = messages[:50], messages[50:]
    processor = runtime.processor("kpi")
    outcomes = await processor.process_batch([env.to_bytes() for env in first_fetch])
    assert {o[0] for o in outcomes} == {"applied"}
    outcomes = await processor.process_batch([env.to_bytes() for env in [*second_fetch, first_fetch[0]]])
    assert [o[0] for o in outcomes].count("duplicate") == 1

    async with runtime.sessions() as session:
        for rid, story in told.items():
            fact = await kpi_store.load_fact(session, rid)
            expected = fold_all(rid, [decode(env.to_bytes()) for env in story])
            assert fact is not None
            assert (fact.state, fact.lead_department, fact.events) == (
                expected.state,
                expected.lead_department,
                expected.events,
            ), rid
            assert fact.to_row() == expected.to_row(), rid
        assert await kpi_store.recount(session) == []


async def test_an_undecodable_message_in_a_fetch_leaves_the_rest_folded(runtime: ServiceRuntime) -> None:
    told = stories(5)
    messages = [env.to_bytes() for story in told.values() for env in story]
    messages.insert(4, b"{not json")  # dead-lettered, the rest applied
    outcomes = await runtime.processor("kpi").process_batch(messages)
    assert [o[0] for o in outcomes].count("applied") == 15
    async with runtime.sessions() as session:
        for rid, story in told.items():
            fact = await kpi_store.load_fact(session, rid)
            assert fact is not None and fact.state == "accepted" and fact.events == len(story)
