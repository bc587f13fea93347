"""Broker helpers: producers, topic creation. Nothing here depends on which broker it is."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)


def make_producer(bootstrap: str) -> AIOKafkaProducer:
    # acks=all so an event counts as published only once the broker has it; no transactions
    # (the development broker does not support them; the outbox + inbox make delivery safe).
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, request_timeout_ms=15000)


async def _admin(bootstrap: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    return admin


async def topic_exists(bootstrap: str, topic: str) -> bool:
    admin = await _admin(bootstrap)
    try:
        return topic in await admin.list_topics()
    finally:
        await admin.close()


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int) -> None:
    admin = await _admin(bootstrap)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        for topic in missing:
            try:
                await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
                log.info("created topic %s with %d partitions", topic, partitions)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


async def broker_reachable(bootstrap: str) -> bool:
    try:
        admin = await _admin(bootstrap)
    except Exception:
        return False
    await admin.close()
    return True
