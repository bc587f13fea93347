"""The KPI rebuild on the real broker and a KPI database of its own: the replay folded in
buckets equals the live rows, a difference is found and named, a rebuild stopped while it
reads the topic or while it folds goes on from its checkpoint to the same answer, folding in
two processes gives the same answer, and one rebuild runs at a time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import insert, update

from services.kpi import rebuild as rebuilding
from services.kpi import store
from services.kpi.domain.facts import fold_all
from shared.db import create_engine, session_factory
from shared.events.catalogue import RequestResolved, decode
from shared.kafka import ensure_topics
from shared.migrations import drop_database, upgrade
from shared.settings import Settings
from tests.support.events import accepted, envelope, received, routed
from tests.support.platform import SANDBOX

REQUESTS = 120


class Stopped(Exception):
    """The rebuild stopped from outside (as a killed process would be)."""


@pytest.fixture
def own_kpi(topics: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    name = f"{SANDBOX}rb_{uuid.uuid4().hex[:8]}_kpi"
    settings = topics.model_copy(
        update={
            "kpi_database_url": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
            "kpi_rebuild_dir": str(tmp_path_factory.mktemp("rebuild")),
            # About 50 events a bucket: twelve buckets of these 600 events.
            "kpi_rebuild_bucket_events": 50,
        }
    )
    upgrade(["kpi"], settings)
    yield settings
    asyncio.run(drop_database(settings.database_url("kpi")))


@pytest.fixture
async def published(own_kpi: Settings) -> AsyncIterator[dict[str, object]]:
    """Five events for each of REQUESTS requests on the topic, keyed by request as the relay
    sends them, and the live fact rows the consumer would have written from them."""
    settings = own_kpi
    await ensure_topics(settings.kafka_bootstrap, [settings.lifecycle_topic], settings.topic_partitions)
    lives: dict[str, list[bytes]] = {}
    for _ in range(REQUESTS):
        first = received()
        rid = first.request_id
        done = RequestResolved(department="urban", handler_id="h-1", outcome="resolved", reply="已修复")
        lives[rid] = [
            e.model_dump_json().encode()
            for e in (first, routed(rid), accepted(rid), envelope(rid, done, minutes=3))
        ]
        lives[rid].append(lives[rid][-1])  # the relay sent one twice: folded once
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [
            await producer.send(
                settings.lifecycle_topic,
                key=rid.encode(),
                value=raw,
                headers=[("type", decode(raw)[0].type.encode())],
            )
            for rid, raws in lives.items()
            for raw in raws
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    facts = [fold_all(rid, [decode(raw) for raw in raws[:-1]]) for rid, raws in lives.items()]
    engine = create_engine(settings.database_url("kpi"), settings)
    try:
        async with session_factory(engine)() as session, session.begin():
            await session.execute(insert(store.facts), [f.to_row() for f in facts])
        yield {"settings": settings, "engine": engine, "request_ids": sorted(lives)}
    finally:
        await engine.dispose()


async def test_the_replay_in_buckets_equals_the_live_rows_and_names_a_difference(
    published: dict[str, object],
) -> None:
    settings = published["settings"]
    assert isinstance(settings, Settings)
    result = await rebuilding.rebuild(settings)
    # About one bucket per 50 events; the broker's high watermark, which sizes them, may fall
    # short of a batch's last records (the spill reads on to the end all the same).
    assert result["events_read"] == REQUESTS * 5 and rebuilding.MIN_BUCKETS <= result["buckets"] <= 12
    assert result["requests_rebuilt"] == result["requests_live"] == REQUESTS
    assert result["differences"] == 0 and result["resumed"] is False, result["examples"][:2]

    changed = published["request_ids"][7]  # type: ignore[index]
    engine = published["engine"]
    async with session_factory(engine)() as session, session.begin():  # type: ignore[arg-type]
        await session.execute(
            update(store.facts).where(store.facts.c.request_id == changed).values(state="closed")
        )
    again = await rebuilding.rebuild(settings)
    assert again["differences"] == 1
    assert again["examples"][0]["request_id"] == changed
    assert again["examples"][0]["fields"]["state"] == {"live": "closed", "rebuilt": "resolved"}


@pytest.mark.parametrize("stop_in", ["spill", "fold"])
async def test_a_stopped_rebuild_goes_on_from_its_checkpoint_to_the_same_answer(
    published: dict[str, object], stop_in: str
) -> None:
    settings = published["settings"]
    assert isinstance(settings, Settings)
    whole = await rebuilding.rebuild(settings)
    seen: list[tuple[str, int]] = []

    def stop_once(step: str, done: int, of: int) -> None:
        seen.append((step, done))
        if step == stop_in and len([s for s, _ in seen if s == step]) == 2:
            raise Stopped

    with pytest.raises(Stopped):
        await rebuilding.rebuild(settings, stop_once, checkpoint_every=100)
    checkpoint = rebuilding.Checkpoint.load(rebuilding.work_folder(settings))
    assert checkpoint is not None
    if stop_in == "spill":
        assert 0 < checkpoint.events_read < REQUESTS * 5 and not checkpoint.spilled
    else:
        assert checkpoint.spilled and len(checkpoint.folded) == 2

    after: list[tuple[str, int]] = []
    resumed = await rebuilding.rebuild(
        settings, lambda step, done, of: after.append((step, done)), resume=True, checkpoint_every=100
    )
    assert resumed["resumed"] is True
    assert {k: v for k, v in resumed.items() if k != "resumed"} == {
        k: v for k, v in whole.items() if k != "resumed"
    }
    # Only what was not done is done again: the spill from its last checkpoint, the buckets not folded.
    if stop_in == "spill":
        assert min(done for step, done in after if step == "spill") > 100
    else:
        assert min(done for step, done in after if step == "fold") == 3


async def test_two_processes_fold_the_buckets_to_the_same_answer(published: dict[str, object]) -> None:
    settings = published["settings"]
    assert isinstance(settings, Settings)
    one = await rebuilding.rebuild(settings)
    two = await rebuilding.rebuild(settings, workers=2)
    assert two == one and two["differences"] == 0


def test_one_rebuild_of_a_projection_runs_at_a_time(tmp_path: object) -> None:
    from pathlib import Path

    work = Path(str(tmp_path))
    with rebuilding._Locked(work), pytest.raises(rebuilding.RebuildRunning) as refused:
        with rebuilding._Locked(work):
            pass
    assert refused.value.status == 409 and refused.value.code == "rebuild_running"
    with rebuilding._Locked(work):  # free again once the first has answered
        pass
