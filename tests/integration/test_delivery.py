"""Outbox and inbox against the real PostgreSQL and the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from services.kpi import store as kpi_store
from services.kpi.consumers import fold_event
from services.kpi.domain.facts import Fact
from shared.db import inbox_table, outbox_table
from shared.events.catalogue import RequestAccepted, RequestReceived, RequestRouted
from shared.events.envelope import Envelope
from shared.inbox import Handlers, InboxConsumer
from shared.kafka import ensure_topics, make_producer
from shared.outbox import OutboxRelay
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.events import accepted, eventually, produce, read_topic, received, routed


@contextlib.asynccontextmanager
async def running_consumer(
    settings: Settings, handlers: Handlers, name: str | None = None
) -> AsyncIterator[ServiceRuntime]:
    """KPI's real projection, fed by a consumer of its own on this test's topic."""
    runtime = ServiceRuntime(name="kpi", metadata=kpi_store.metadata, handlers=handlers, settings=settings)
    await ensure_topics(settings.kafka_bootstrap, [settings.lifecycle_topic, settings.dlq_topic], 3)
    producer = make_producer(settings.kafka_bootstrap)
    await producer.start()
    consumer = InboxConsumer(
        runtime.processor(name or f"test-{uuid.uuid4().hex[:8]}"),
        bootstrap=settings.kafka_bootstrap,
        topic=settings.lifecycle_topic,
        dlq_topic=settings.dlq_topic,
        producer=producer,
    )
    task = asyncio.create_task(consumer.run())
    try:
        yield runtime
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await producer.stop()
        await runtime.engine.dispose()


async def fact_events(runtime: ServiceRuntime, request_id: str) -> int | None:
    async with runtime.sessions() as session:
        fact = await kpi_store.load_fact(session, request_id)
    return fact.events if fact else None


def raw(env: Envelope) -> tuple[str, bytes]:
    return env.request_id, env.to_bytes()


async def test_the_same_event_delivered_twice_has_one_effect(topics: Settings) -> None:
    event = received()
    later = routed(event.request_id)
    await produce(
        topics.kafka_bootstrap, topics.lifecycle_topic, [raw(event), raw(event), raw(later), raw(event)]
    )
    async with running_consumer(topics, {RequestReceived: fold_event, RequestRouted: fold_event}) as rt:
        await eventually(lambda: _equals(fact_events(rt, event.request_id), 2), what="two events applied")
        await asyncio.sleep(1.0)  # give a wrongly applied repeat the time to show up
        assert await fact_events(rt, event.request_id) == 2
        async with rt.sessions() as session:
            inbox = inbox_table(kpi_store.metadata)
            rows = await session.scalar(select(func.count()).where(inbox.c.event_id == event.id))
        assert rows == 1


async def _equals(value: Any, expected: Any) -> bool:
    return (await value) == expected


async def test_poison_events_go_to_the_dlq_with_headers_and_the_next_good_event_is_applied(
    topics: Settings,
) -> None:
    good = received()
    invalid_payload = received()
    invalid_payload.data.pop("channel")
    unknown_type = received().model_copy(update={"type": "request.teleported"})
    # One key for all, so the good event sits behind the poison in the same partition.
    key = good.request_id
    await produce(
        topics.kafka_bootstrap,
        topics.lifecycle_topic,
        [(key, invalid_payload.to_bytes()), (key, unknown_type.to_bytes()), (key, b"{not json"), raw(good)],
    )
    name = "poison-test"
    async with running_consumer(topics, {RequestReceived: fold_event}, name=name) as rt:
        await eventually(lambda: _equals(fact_events(rt, good.request_id), 1), what="the good event applied")
        assert await fact_events(rt, invalid_payload.request_id) is None
        # Dead letters are sent after the batch's transaction: read them while it still runs.
        dead = await read_topic(topics.kafka_bootstrap, topics.dlq_topic, expected=3)
    assert len(dead) == 3
    for record in dead:
        headers = dict(record.headers)
        assert headers["consumer"] == name.encode()
        assert headers["attempts"] == b"1"
        assert headers["original_topic"] == topics.lifecycle_topic.encode()
    errors = sorted(dict(r.headers)["error"].decode() for r in dead)
    assert any("UnknownEventType" in e for e in errors)
    assert sum("InvalidEvent" in e for e in errors) == 2


async def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered_and_the_consumer_goes_on(
    topics: Settings,
) -> None:
    failing = received(category="complaint")
    good = received()
    calls: list[str] = []

    async def flaky(uow: Any, env: Envelope, data: Any) -> None:
        calls.append(env.request_id)
        if data.category == "complaint":
            raise RuntimeError("projection bug")
        await fold_event(uow, env, data)

    # One key for both, so the good event sits behind the failing one in the same partition.
    same_partition = failing.request_id
    await produce(
        topics.kafka_bootstrap,
        topics.lifecycle_topic,
        [(same_partition, failing.to_bytes()), (same_partition, good.to_bytes())],
    )
    async with running_consumer(topics, {RequestReceived: flaky}) as rt:
        await eventually(lambda: _equals(fact_events(rt, good.request_id), 1), what="the good event applied")
        assert await fact_events(rt, failing.request_id) is None
        dead = await read_topic(topics.kafka_bootstrap, topics.dlq_topic, expected=1)
    # max_attempts one at a time, after one try in the batch when both came in one fetch
    assert calls.count(failing.request_id) in (topics.consumer_max_attempts, topics.consumer_max_attempts + 1)
    headers = dict(dead[0].headers)
    assert headers["attempts"] == str(topics.consumer_max_attempts).encode()
    assert b"projection bug" in headers["error"]
    assert dead[0].value == failing.to_bytes()


async def test_events_of_one_request_are_applied_in_order(topics: Settings) -> None:
    first = received()
    rid = first.request_id
    sequence = [first, routed(rid), accepted(rid)]
    others = [received() for _ in range(5)]
    applied: list[str] = []

    async def recording(uow: Any, env: Envelope, data: Any) -> None:
        if env.request_id == rid:
            applied.append(env.type)
        await fold_event(uow, env, data)

    messages = [raw(e) for pair in zip(sequence, others, strict=False) for e in pair] + [
        raw(e) for e in others[3:]
    ]
    await produce(topics.kafka_bootstrap, topics.lifecycle_topic, messages)
    handlers: Handlers = dict.fromkeys((RequestReceived, RequestRouted, RequestAccepted), recording)
    async with running_consumer(topics, handlers) as rt:
        await eventually(lambda: _equals(fact_events(rt, rid), 3), what="three events applied")
        async with rt.sessions() as session:
            fact = await kpi_store.load_fact(session, rid)
    assert applied == ["request.received", "request.routed", "request.accepted"]
    assert fact is not None and fact.state == "accepted" and fact.lead_department == "urban"


async def test_a_rolled_back_state_change_publishes_nothing(topics: Settings) -> None:
    runtime = ServiceRuntime(name="kpi", metadata=kpi_store.metadata, handlers={}, settings=topics)
    event = received()
    outbox = outbox_table(kpi_store.metadata)
    with pytest.raises(RuntimeError):
        async with runtime.uow() as uow:
            await kpi_store.save_fact(uow.session, Fact(request_id=event.request_id))
            uow.emit(_data(event), request_id=event.request_id, actor=event.actor)
            raise RuntimeError("the command failed after raising its event")
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).where(outbox.c.key == event.request_id)) == 0
        assert await kpi_store.load_fact(session, event.request_id) is None
    await runtime.engine.dispose()


def _data(env: Envelope) -> Any:
    from shared.events.catalogue import CATALOGUE

    return CATALOGUE[(env.type, env.version)].model_validate(env.data)


async def test_the_relay_publishes_in_commit_order_keyed_by_request_and_can_republish(
    topics: Settings,
) -> None:
    await ensure_topics(topics.kafka_bootstrap, [topics.lifecycle_topic], 3)
    runtime = ServiceRuntime(name="kpi", metadata=kpi_store.metadata, handlers={}, settings=topics)
    producer = make_producer(topics.kafka_bootstrap)
    await producer.start()
    rid = str(uuid.uuid4())
    sent: list[Envelope] = []
    for env in (received(rid), routed(rid), accepted(rid)):
        async with runtime.uow() as uow:
            sent.append(uow.emit(_data(env), request_id=rid, actor=env.actor))
            await uow.commit()
    relay = OutboxRelay(
        service=f"test-{uuid.uuid4().hex[:6]}",
        sessions=runtime.sessions,
        outbox=outbox_table(kpi_store.metadata),
        producer=producer,
        bootstrap=topics.kafka_bootstrap,
        topics=[topics.lifecycle_topic],
        partitions=3,
    )
    try:
        while await relay.publish_pending():
            pass
        records = [
            r
            for r in await read_topic(topics.kafka_bootstrap, topics.lifecycle_topic, 3)
            if r.key == rid.encode()
        ]
        assert [dict(r.headers)["event_id"].decode() for r in records] == [str(e.id) for e in sent]
        assert len({r.partition for r in records}) == 1
        outbox = outbox_table(kpi_store.metadata)
        async with runtime.sessions() as session:
            unpublished = await session.scalar(
                select(func.count()).where(outbox.c.key == rid, outbox.c.published_at.is_(None))
            )
        assert unpublished == 0

        first_id = await _outbox_id(runtime, sent[0])
        assert await relay.republish(from_id=first_id) >= 3
        while await relay.publish_pending():
            pass
        again = [
            r
            for r in await read_topic(topics.kafka_bootstrap, topics.lifecycle_topic, 6)
            if r.key == rid.encode()
        ]
        assert [dict(r.headers)["event_id"].decode() for r in again] == [str(e.id) for e in sent] * 2
    finally:
        await producer.stop()
        await runtime.engine.dispose()


async def _outbox_id(runtime: ServiceRuntime, env: Envelope) -> int:
    outbox = outbox_table(kpi_store.metadata)
    async with runtime.sessions() as session:
        value = await session.scalar(select(outbox.c.id).where(outbox.c.event_id == env.id))
    assert value is not None
    return int(value)


async def test_a_fast_lane_acts_only_on_what_it_picks_and_leaves_poison_to_the_main_lane(
    topics: Settings,
) -> None:
    runtime = ServiceRuntime(
        name="kpi", metadata=kpi_store.metadata, handlers={RequestReceived: fold_event}, settings=topics
    )
    lane = runtime.processor(
        f"lane-{uuid.uuid4().hex[:6]}", accepts=lambda env: env.data.get("category") == "help"
    )
    try:
        picked, skipped = received(category="help"), received(category="repair")
        assert (await lane.process(picked.to_bytes()))[0] == "applied"
        assert (await lane.process(picked.to_bytes()))[0] == "duplicate"
        assert (await lane.process(skipped.to_bytes()))[0] == "ignored"
        assert (await lane.process(b"{poison"))[0] == "ignored"
        assert (await runtime.processor("main-lane-test").process(b"{poison"))[0] == "dead_letter"
        assert await fact_events(runtime, picked.request_id) == 1
        assert await fact_events(runtime, skipped.request_id) is None
    finally:
        await runtime.engine.dispose()


async def test_a_dead_letter_is_re_driven_after_the_fix_and_applied_once(topics: Settings) -> None:
    from shared.dlq import dead_letters, redrive

    failing = received(category="complaint")
    fixed = False

    async def buggy_until_fixed(uow: Any, env: Envelope, data: Any) -> None:
        if not fixed:
            raise RuntimeError("projection bug")
        await fold_event(uow, env, data)

    name = f"redrive-{uuid.uuid4().hex[:6]}"
    await produce(topics.kafka_bootstrap, topics.lifecycle_topic, [raw(failing)])
    async with running_consumer(topics, {RequestReceived: buggy_until_fixed}, name=name) as rt:
        await eventually(
            lambda: _has_dead_letters(topics, 1), timeout=30, what="the failing event dead-lettered"
        )
        assert await fact_events(rt, failing.request_id) is None
        letters = await dead_letters(topics.kafka_bootstrap, topics.dlq_topic)
        assert [(letter.consumer, letter.event_id) for letter in letters] == [(name, str(failing.id))]
        assert await redrive(topics.kafka_bootstrap, topics.dlq_topic, consumer="someone-else") == []

        fixed = True  # the fix is deployed; now re-drive
        sent = await redrive(topics.kafka_bootstrap, topics.dlq_topic, consumer=name)
        assert len(sent) == 1
        await eventually(
            lambda: _equals(fact_events(rt, failing.request_id), 1), what="re-driven event applied"
        )
        await redrive(topics.kafka_bootstrap, topics.dlq_topic, event_id=str(failing.id))  # again: no effect
        await asyncio.sleep(1.0)
        assert await fact_events(rt, failing.request_id) == 1


async def _has_dead_letters(topics: Settings, count: int) -> bool:
    from shared.dlq import dead_letters

    return len(await dead_letters(topics.kafka_bootstrap, topics.dlq_topic)) >= count


async def test_every_log_line_of_a_consumer_names_the_event_and_its_correlation(
    topics: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from shared.logging import ContextFilter

    event = received()
    seen: list[logging.LogRecord] = []

    async def logs_something(uow: Any, env: Envelope, data: Any) -> None:
        logging.getLogger("tests.handler").info("handling it")
        await fold_event(uow, env, data)

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    keep.addFilter(ContextFilter())
    logging.getLogger("tests.handler").addHandler(keep)
    logging.getLogger("tests.handler").setLevel(logging.INFO)
    try:
        await produce(topics.kafka_bootstrap, topics.lifecycle_topic, [raw(event)])
        async with running_consumer(topics, {RequestReceived: logs_something}) as rt:
            await eventually(lambda: _equals(fact_events(rt, event.request_id), 1), what="applied")
    finally:
        logging.getLogger("tests.handler").removeHandler(keep)
    record = seen[0]
    assert record.event_id == str(event.id)  # type: ignore[attr-defined]
    assert record.correlation_id == event.correlation_id  # type: ignore[attr-defined]
    assert record.request_id == event.request_id  # type: ignore[attr-defined]


async def test_an_urgent_requests_first_event_is_sent_ahead_of_the_backlog(topics: Settings) -> None:
    from shared.events.catalogue import FirstResponder, RequestReceived

    await ensure_topics(topics.kafka_bootstrap, [topics.lifecycle_topic], 3)
    runtime = ServiceRuntime(name="kpi", metadata=kpi_store.metadata, handlers={}, settings=topics)
    producer = make_producer(topics.kafka_bootstrap)
    await producer.start()
    outbox = outbox_table(kpi_store.metadata)

    def arrival(urgency: str) -> RequestReceived:
        return RequestReceived(
            channel="hotline",
            category="help",
            urgency=urgency,  # type: ignore[arg-type]
            submitted_at=received().occurred_at,
            first_responder=FirstResponder(kind="channel", id="hotline"),
        )

    backlog = [str(uuid.uuid4()) for _ in range(3)]
    urgent = str(uuid.uuid4())
    for rid, urgency in [*((r, "normal") for r in backlog), (urgent, "urgent")]:
        async with runtime.uow() as uow:
            uow.emit(arrival(urgency), request_id=rid, actor=received().actor)
            await uow.commit()
    relay = OutboxRelay(
        service=f"test-{uuid.uuid4().hex[:6]}",
        sessions=runtime.sessions,
        outbox=outbox,
        producer=producer,
        bootstrap=topics.kafka_bootstrap,
        topics=[topics.lifecycle_topic],
        partitions=3,
        batch_size=2,
    )
    try:
        async with runtime.sessions() as session:  # earlier tests' leftovers go first
            while await session.scalar(
                select(func.count()).where(
                    outbox.c.published_at.is_(None), outbox.c.key.not_in([*backlog, urgent])
                )
            ):
                await relay.publish_pending()
        await relay.publish_pending()  # one batch of two: the urgent one, then the oldest
        async with runtime.sessions() as session:
            published = set(
                await session.scalars(
                    select(outbox.c.key).where(
                        outbox.c.key.in_([*backlog, urgent]), outbox.c.published_at.is_not(None)
                    )
                )
            )
        assert published == {urgent, backlog[0]}
    finally:
        await producer.stop()
        await runtime.engine.dispose()


async def test_a_fetch_is_applied_in_one_transaction_and_a_failure_falls_back_to_one_at_a_time(
    topics: Settings,
) -> None:
    runtime = ServiceRuntime(name="kpi", metadata=kpi_store.metadata, handlers={}, settings=topics)
    first, second, failing = received(), received(), received(category="complaint")
    broken = received()
    broken.data.pop("channel")

    async def picky(uow: Any, env: Envelope, data: Any) -> None:
        if data.category == "complaint":
            raise RuntimeError("projection bug")
        await fold_event(uow, env, data)

    processor = runtime.processor(f"batch-{uuid.uuid4().hex[:6]}")
    processor._handlers = {RequestReceived: picky}  # this test's handler
    try:
        together = await processor.process_batch(
            [first.to_bytes(), broken.to_bytes(), second.to_bytes(), first.to_bytes()]
        )
        assert [o[0] for o in together] == ["applied", "dead_letter", "applied", "duplicate"]
        assert await fact_events(runtime, first.request_id) == 1
        assert await fact_events(runtime, second.request_id) == 1

        third = received()
        fallback = await processor.process_batch([failing.to_bytes(), third.to_bytes(), second.to_bytes()])
        assert [o[0] for o in fallback] == ["dead_letter", "applied", "duplicate"]
        assert fallback[0][2] == topics.consumer_max_attempts and "projection bug" in (fallback[0][1] or "")
        assert await fact_events(runtime, third.request_id) == 1
        assert await fact_events(runtime, failing.request_id) is None
    finally:
        await runtime.engine.dispose()
