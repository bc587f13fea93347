"""Building real events and moving them through the real broker in tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.clock import now
from shared.events.catalogue import Due, FirstResponder, RequestAccepted, RequestReceived, RequestRouted
from shared.events.envelope import Actor, Envelope, new_envelope

CHANNEL = Actor(kind="channel", id="web")


def envelope(request_id: str, data: Any, *, minutes: int = 0) -> Envelope:
    return new_envelope(
        type=data.TYPE,
        version=data.VERSION,
        request_id=request_id,
        producer="test",
        actor=CHANNEL,
        data=data.model_dump(mode="json"),
        occurred_at=now() + timedelta(minutes=minutes),
    )


def received(request_id: str | None = None, category: str = "repair") -> Envelope:
    rid = request_id or str(uuid.uuid4())
    return envelope(
        rid,
        RequestReceived(
            channel="web",
            category=category,
            urgency="normal",
            first_responder=FirstResponder(kind="channel", id="web"),  # type: ignore[arg-type]
            submitted_at=now(),
            requester_ref="rq_test",
            contact_masked="138****0000",
        ),
    )


def routed(request_id: str, department: str = "urban", minutes: int = 1) -> Envelope:
    due = Due(
        accept=now() + timedelta(days=1),
        resolve=now() + timedelta(days=5),
        feedback=now() + timedelta(days=6),
    )
    return envelope(
        request_id, RequestRouted(lead_department=department, due=due, category="repair"), minutes=minutes
    )


def accepted(request_id: str, department: str = "urban", minutes: int = 2) -> Envelope:
    return envelope(request_id, RequestAccepted(department=department, handler_id="h-1"), minutes=minutes)


async def produce(bootstrap: str, topic: str, messages: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value=value, key=key.encode())
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 20) -> list[Any]:
    """All records of a topic (no consumer group), waiting until `expected` have arrived."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = asyncio.get_running_loop().time() + timeout
        while not partitions and asyncio.get_running_loop().time() < deadline:
            await consumer.force_metadata_update()  # type: ignore[no-untyped-call]
            partitions = consumer.partitions_for_topic(topic)
            await asyncio.sleep(0.2)
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions or [])])
        records: list[Any] = []
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 30, what: str = "condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
