"""Rebuild: replay `requests.lifecycle` from the beginning into a fresh, in-memory projection
and compare it with the live fact table (there must be no difference).

    python -m services.kpi.rebuild        # `make kpi-rebuild`; also POST /v1/rebuild
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.kpi import store
from services.kpi.domain.facts import FOLDED, FOLDED_TYPES, Fact, fold_all
from shared.db import create_engine, session_factory
from shared.events.catalogue import InvalidEvent, UnknownEventType, decode
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)


async def replay(
    settings: Settings, progress: Callable[[int], None] | None = None
) -> tuple[dict[str, Fact], int]:
    """Fold every event on the topic, up to its end when the replay began, once per event id."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(settings.lifecycle_topic, p)
            for p in sorted(consumer.partitions_for_topic(settings.lifecycle_topic) or [])
        ]
        if not partitions:
            return {}, 0
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        by_request: dict[str, dict[str, Any]] = {}
        read = 0
        # Millions of objects kept until the fold and no cycles among them: the cyclic
        # collector would rescan them over and over (a third of the replay's time).
        gc.disable()
        # Read to the end offsets seen at the start, then on until a fetch comes back empty: some
        # brokers report a high watermark short of a multi-record batch's last record.
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for messages in batches.values():
                for msg in messages:
                    read += 1
                    if _folded_or_unknown(msg.headers):
                        _collect(by_request, msg.value)
            if progress and batches:
                progress(read)
            if not batches and all([await consumer.position(tp) >= end[tp] for tp in partitions]):
                break
        return {rid: fold_all(rid, events.values()) for rid, events in by_request.items()}, read
    finally:
        gc.enable()
        try:
            await consumer.stop()
        except asyncio.CancelledError:
            # aiokafka's coordinator can raise this on close after the broker restarted;
            # swallow it unless this task itself is being cancelled.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise


def _folded_or_unknown(headers: Any) -> bool:
    """An event the fold ignores (its type in the relay's header) is passed over unparsed."""
    for name, value in headers or ():
        if name == "type":
            return bool(value.decode("utf-8", "replace") in FOLDED_TYPES)
    return True


def _collect(by_request: dict[str, dict[str, Any]], raw: bytes | None) -> None:
    try:
        envelope, data = decode(raw or b"")
    except (InvalidEvent, UnknownEventType):
        return  # the live consumer dead-lettered it too
    if type(data) in FOLDED:  # each event id once, as the inbox does
        by_request.setdefault(envelope.request_id, {})[str(envelope.id)] = (envelope, data)


def differences(live: dict[str, Fact], rebuilt: dict[str, Fact]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for request_id in sorted(set(live) | set(rebuilt)):
        a, b = live.get(request_id), rebuilt.get(request_id)
        if a == b:
            continue
        if a is None or b is None:
            found.append({"request_id": request_id, "only_in": "rebuilt" if a is None else "live"})
            continue
        fields = {
            k: {"live": _show(v), "rebuilt": _show(getattr(b, k))}
            for k, v in a.__dict__.items()
            if getattr(b, k) != v
        }
        found.append({"request_id": request_id, "fields": fields})
    return found


def _show(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def rebuild(
    settings: Settings, progress: Callable[[int], None] | None = None, *, repair_counts: bool = False
) -> dict[str, Any]:
    """Compare the replay with the live fact rows, and the kept counts with a recount of the
    live rows (`repair_counts` rewrites the counts to the recount)."""
    rebuilt, events = await replay(settings, progress)
    engine = create_engine(settings.database_url("kpi"), settings)
    try:
        async with session_factory(engine)() as session:
            live = await store.all_facts(session)
            counted = await store.recount(session, repair=repair_counts)
            await session.commit()
    finally:
        await engine.dispose()
    diff = differences(live, rebuilt)
    return {
        "events_read": events,
        "requests_live": len(live),
        "requests_rebuilt": len(rebuilt),
        "differences": len(diff),
        "examples": diff[:20],
        "count_differences": len(counted),
        "count_examples": counted[:20],
        "counts_repaired": repair_counts and bool(counted),
    }


def main() -> int:
    def show(read: int) -> None:
        print(f"\r  replayed {read:,} events", end="", file=sys.stderr, flush=True)

    result = asyncio.run(rebuild(get_settings(), show))
    print(file=sys.stderr)
    print(
        f"events read {result['events_read']:,}; requests live {result['requests_live']:,}, "
        f"rebuilt {result['requests_rebuilt']:,}; differences {result['differences']}"
    )
    for example in result["examples"]:
        print("  ", example)
    print(f"count differences {result['count_differences']}")
    for example in result["count_examples"]:
        print("  ", example)
    return 0 if result["differences"] == 0 and result["count_differences"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
