"""Dead letters: list them, and re-drive them after the fix.

A dead letter keeps the original key and bytes, with headers naming the consumer that gave
up, the error, the attempts and where the event came from. Re-driving sends it back to its
original topic with its original key: the consumer that failed applies it now, and every
consumer that had applied it already skips it at its inbox. Re-driving twice is harmless for
the same reason.

    python scripts/devctl.py dlq                         # list dead letters
    python scripts/devctl.py redrive --consumer routing  # re-drive routing's dead letters
    python scripts/devctl.py redrive --event-id <uuid>   # or one event
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.kafka import make_producer


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    consumer: str
    error: str
    original_topic: str | None

    @property
    def event_id(self) -> str | None:
        """The envelope's id, read without trusting the payload to be valid."""
        import json

        try:
            value = json.loads(self.value or b"")
        except ValueError:
            return None
        return str(value.get("id")) if isinstance(value, dict) and value.get("id") else None


async def dead_letters(bootstrap: str, dlq_topic: str, timeout: float = 2.0) -> list[DeadLetter]:
    """Every record on the dead-letter topic (read without a consumer group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(dlq_topic, p) for p in sorted(consumer.partitions_for_topic(dlq_topic) or [])
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found: list[DeadLetter] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if all([await consumer.position(tp) >= end[tp] for tp in partitions]):
                break
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                for record in batch:
                    headers = {name: value.decode("utf-8", "replace") for name, value in record.headers}
                    found.append(
                        DeadLetter(
                            partition=record.partition,
                            offset=record.offset,
                            key=record.key,
                            value=record.value,
                            consumer=headers.get("consumer", "?"),
                            error=headers.get("error", ""),
                            original_topic=headers.get("original_topic"),
                        )
                    )
        return found
    finally:
        await consumer.stop()


async def redrive(
    bootstrap: str, dlq_topic: str, *, consumer: str | None = None, event_id: str | None = None
) -> list[DeadLetter]:
    """Send the matching dead letters back to their original topics; returns those sent."""
    chosen = [
        letter
        for letter in await dead_letters(bootstrap, dlq_topic)
        if letter.original_topic
        and (consumer is None or letter.consumer == consumer)
        and (event_id is None or letter.event_id == event_id)
    ]
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        for letter in chosen:
            assert letter.original_topic is not None
            await producer.send_and_wait(
                letter.original_topic,
                key=letter.key,
                value=letter.value,
                headers=[("redriven_from", f"{dlq_topic}/{letter.partition}@{letter.offset}".encode())],
            )
    finally:
        await producer.stop()
    return chosen
