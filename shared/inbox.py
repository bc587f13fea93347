"""Inbox consumer: apply each event once in effect, however often the broker delivers it.

For every message: decode it against the catalogue (unknown or invalid → dead letter at
once), then in ONE transaction record (consumer, event_id) in the inbox and apply the
handler; a conflict on the inbox key means the event was already applied and it is skipped.
Offsets are committed only after the batch is applied. A handler that keeps failing is
retried with backoff, then the event goes to the dead-letter topic and the consumer goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from sqlalchemy import ARRAY, String, Table, Uuid, bindparam, text

from shared.db import insert_new
from shared.events.catalogue import CATALOGUE, EventData, InvalidEvent, UnknownEventType, decode
from shared.events.envelope import Envelope
from shared.kafka import ensure_topics, topic_exists
from shared.logging import log_context
from shared.metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_CONSUMED
from shared.outbox import UnitOfWork

MARKER_CHECK_SECONDS = 3.0

log = logging.getLogger(__name__)


class BrokerLostLog(Exception):
    """The broker restarted empty (development broker): start the consumer afresh."""


Handler = Callable[[UnitOfWork, Envelope, Any], Awaitable[None]]
Outcome = tuple[str, str | None, int]  # applied / duplicate / ignored / dead_letter, error, attempts


def _context_of(envelope: Envelope) -> contextlib.AbstractContextManager[None]:
    """Every log line written while an event is handled names it and its correlation."""
    return log_context(
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
        event_id=envelope.id,
        request_id=envelope.request_id,
    )


# A consumer's handlers, keyed by the catalogue's event classes; each handler's `data` is
# annotated with its key's class (or a union of the classes it is registered for).
Handlers = Mapping[type[EventData], Handler]
BatchPreparer = Callable[[UnitOfWork, Sequence[Envelope]], Awaitable[None]]


class InboxProcessor:
    """The broker-independent part: decode, dedupe, apply, retry, decide dead-lettering."""

    def __init__(
        self,
        *,
        consumer: str,
        inbox: Table,
        new_uow: Callable[[], UnitOfWork],
        handlers: Handlers,
        max_attempts: int = 3,
        backoff_seconds: float = 0.2,
        accepts: Callable[[Envelope], bool] | None = None,
        dead_letters_undecodable: bool = True,
        prepare_batch: BatchPreparer | None = None,
    ) -> None:
        self.consumer = consumer
        self._prepare_batch = prepare_batch
        self._inbox = inbox
        self._new_uow = new_uow
        self._handlers = handlers
        # The wire names of what it handles: the relay's type header is read without parsing.
        self._handled_types = frozenset(event.TYPE for event in handlers)
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        # A fast lane sees the whole topic but acts only on what `accepts` picks out, and
        # leaves undecodable events to the main consumer (one dead letter, not two).
        self._accepts = accepts
        self._dead_letters_undecodable = dead_letters_undecodable
        self._record = insert_new(inbox, ("consumer", "event_id"), returning="event_id")
        # A fetch's inbox rows in one statement with three parameters (arrays), so it is
        # compiled once: a multi-row VALUES would be built and compiled for every fetch.
        self._record_many = (
            text(
                f"INSERT INTO {inbox.name} (consumer, event_id, event_type) "
                "SELECT :consumer, e.id, e.type "
                "FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS varchar[])) AS e(id, type) "
                "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
            )
            .bindparams(bindparam("ids", type_=ARRAY(Uuid())), bindparam("types", type_=ARRAY(String())))
            .columns(event_id=Uuid())
        )

    async def apply_once(self, envelope: Envelope, data: EventData, handler: Handler) -> bool:
        """Apply in one transaction with the inbox row; False if it was applied before."""
        async with self._new_uow() as uow:
            recorded = await uow.session.execute(
                self._record,
                {"consumer": self.consumer, "event_id": envelope.id, "event_type": envelope.type},
            )
            if recorded.first() is None:
                return False
            await handler(uow, envelope, data)
            await uow.commit()
        return True

    def skips_unread(self, headers: Sequence[tuple[str, bytes]] | None) -> bool:
        """A catalogued event type this consumer has no handler for can be passed over
        without parsing it (the relay puts the type in a header); anything else is read."""
        for name, value in headers or ():
            if name == "type":
                try:
                    event_type = value.decode()
                except UnicodeDecodeError:
                    return False
                return event_type not in self._handled_types and any(t == event_type for t, _ in CATALOGUE)
        return False

    def _read(self, raw: bytes | None) -> tuple[Outcome | None, tuple[Envelope, EventData, Handler] | None]:
        """Decode one message: either its outcome is already known (dead letter, ignored), or
        it is an event for one of this consumer's handlers."""
        try:
            envelope, data = decode(raw or b"")
        except (InvalidEvent, UnknownEventType) as exc:
            if not self._dead_letters_undecodable:
                return ("ignored", None, 0), None
            EVENTS_CONSUMED.labels(self.consumer, "?", "dead_letter").inc()
            return ("dead_letter", f"{type(exc).__name__}: {exc}", 1), None
        handler = self._handlers.get(type(data))
        if handler is None or (self._accepts is not None and not self._accepts(envelope)):
            return ("ignored", None, 0), None
        return None, (envelope, data, handler)

    async def process(self, raw: bytes | None) -> Outcome:
        """Handle one message. Returns (outcome, error, attempts); outcome is one of
        applied, duplicate, ignored, dead_letter."""
        known, event = self._read(raw)
        if event is None:
            assert known is not None
            return known
        envelope, data, handler = event
        with _context_of(envelope):
            return await self._apply_with_retries(envelope, data, handler)

    async def process_batch(self, raws: Sequence[bytes | None]) -> list[Outcome]:
        """Handle the messages of one fetch, in order (each request's events in the order of
        its partition). Under load a fetch holds many events: they are applied in ONE
        transaction with one bulk inbox insert, which saves a commit and an insert per event.
        If any handler fails, that transaction is rolled back and the events are applied one
        at a time, with retries and dead letters, exactly as `process` does."""
        results: list[Outcome | None] = []
        events: list[tuple[int, Envelope, EventData, Handler]] = []
        for i, raw in enumerate(raws):
            known, event = self._read(raw)
            results.append(known)
            if event is not None:
                events.append((i, *event))
        if len(events) > 1:
            try:
                for i, outcome in await self._apply_together(events):
                    results[i] = outcome
                return [r for r in results if r is not None]
            except Exception as exc:
                log.warning(
                    "consumer %s: a batch of %d failed (%s); one at a time", self.consumer, len(events), exc
                )
        for i, envelope, data, handler in events:
            with _context_of(envelope):
                results[i] = await self._apply_with_retries(envelope, data, handler)
        return [r for r in results if r is not None]

    async def _apply_together(
        self, events: list[tuple[int, Envelope, EventData, Handler]]
    ) -> list[tuple[int, Outcome]]:
        outcomes: list[tuple[int, Outcome]] = []
        async with self._new_uow() as uow:
            recorded = await uow.session.execute(
                self._record_many,
                {
                    "consumer": self.consumer,
                    "ids": [envelope.id for _, envelope, _, _ in events],
                    "types": [envelope.type for _, envelope, _, _ in events],
                },
            )
            new = set(recorded.scalars())
            if self._prepare_batch is not None and new:
                await self._prepare_batch(uow, [env for _, env, _, _ in events if env.id in new])
            for i, envelope, data, handler in events:
                if envelope.id in new:
                    new.discard(envelope.id)  # the same event twice in one fetch: once
                    with _context_of(envelope):
                        await handler(uow, envelope, data)
                    outcomes.append((i, ("applied", None, 1)))
                else:
                    outcomes.append((i, ("duplicate", None, 1)))
            await uow.commit()
        for (_, envelope, _, _), (_, outcome) in zip(events, outcomes, strict=True):
            EVENTS_CONSUMED.labels(self.consumer, envelope.type, outcome[0]).inc()
        return outcomes

    async def _apply_with_retries(
        self, envelope: Envelope, data: EventData, handler: Handler
    ) -> tuple[str, str | None, int]:
        error: str | None = None
        for attempt in range(1, self._max_attempts + 1):
            try:
                applied = await self.apply_once(envelope, data, handler)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "consumer %s failed on %s %s (attempt %d/%d): %s",
                    self.consumer,
                    envelope.type,
                    envelope.id,
                    attempt,
                    self._max_attempts,
                    error,
                )
                if attempt < self._max_attempts:
                    await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
                continue
            outcome = "applied" if applied else "duplicate"
            EVENTS_CONSUMED.labels(self.consumer, envelope.type, outcome).inc()
            return outcome, None, attempt
        EVENTS_CONSUMED.labels(self.consumer, envelope.type, "dead_letter").inc()
        return "dead_letter", error, self._max_attempts


class InboxConsumer:
    """Runs an InboxProcessor against a topic with a consumer group named after it."""

    def __init__(
        self,
        processor: InboxProcessor,
        *,
        bootstrap: str,
        topic: str,
        dlq_topic: str,
        producer: AIOKafkaProducer,
        group_id: str | None = None,
        partitions: int = 6,
        fetch_max_wait_ms: int = 200,
    ) -> None:
        self.processor = processor
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._partitions = partitions
        self._bootstrap = bootstrap
        self._topic = topic
        self._dlq_topic = dlq_topic
        self._producer = producer
        self._group_id = group_id or processor.consumer
        self.ready = asyncio.Event()
        # After the broker lost its log, every partition is read from the new log's start
        # when it is assigned, until a position of the new log has been committed for it:
        # the offsets committed in between are the old log's positions (events past them
        # were never read), and a rebalance would fetch them again.
        self._after_loss = False
        self._settled: set[TopicPartition] = set()

    async def dead_letter(self, msg: ConsumerRecord[bytes, bytes], error: str, attempts: int) -> None:
        DEAD_LETTERS.labels(self.processor.consumer).inc()
        headers = [
            ("consumer", self.processor.consumer.encode()),
            ("error", error[:2000].encode("utf-8", "replace")),
            ("attempts", str(attempts).encode()),
            ("original_topic", msg.topic.encode()),
            ("original_partition", str(msg.partition).encode()),
            ("original_offset", str(msg.offset).encode()),
        ]
        await self._producer.send_and_wait(self._dlq_topic, value=msg.value, key=msg.key, headers=headers)
        log.error(
            "consumer %s dead-lettered %s/%d@%d after %d attempt(s): %s",
            self.processor.consumer,
            msg.topic,
            msg.partition,
            msg.offset,
            attempts,
            error,
        )

    def _lost_log(self) -> None:
        self._after_loss = True
        self._settled = set()

    async def run(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=self._group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=200,
                # The wait trades a quiet platform's event latency against empty fetches
                # (settings.consumer_fetch_max_wait_ms).
                fetch_max_wait_ms=self._fetch_max_wait_ms,
                # See a topic that was (re)created (a restarted development broker) in seconds.
                metadata_max_age_ms=5000,
            )
            consumer.subscribe([self._topic], listener=_ReadLostLogFromStart(self, consumer))
            try:
                await ensure_topics(self._bootstrap, [self._topic, self._dlq_topic], self._partitions)
                if await self._broker_lost_its_log():  # checked before joining the group
                    self._lost_log()
                await consumer.start()
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except BrokerLostLog:
                log.warning("consumer %s: the broker lost its log; reading it again", self.processor.consumer)
                self._lost_log()
            except Exception:
                log.exception("consumer %s lost its connection; restarting", self.processor.consumer)
                await asyncio.sleep(1.0)
            finally:
                await consumer.stop()

    async def _broker_lost_its_log(self) -> bool:
        """A marker topic of this consumer's own vanishes when the (development) broker loses
        its log; then the committed offsets are gone and the old positions mean nothing."""
        marker = f"_consumer.{self._group_id}"
        if await topic_exists(self._bootstrap, marker):
            return False
        await ensure_topics(self._bootstrap, [marker], 1)
        return True

    async def _watch_marker(self, lost: asyncio.Event) -> None:
        """Beside the consume loop, so the admin round trips never hold up events."""
        while not lost.is_set():
            await asyncio.sleep(MARKER_CHECK_SECONDS)
            try:
                if await self._broker_lost_its_log():
                    lost.set()
            except Exception as exc:  # the consume loop sees a broker that is down by itself
                log.debug("marker check failed: %s", exc)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        lost = asyncio.Event()
        watcher = asyncio.create_task(self._watch_marker(lost))
        try:
            while True:
                if lost.is_set():
                    # Join again as a new member: with no committed offsets it reads the new
                    # log from its start; the inbox absorbs what was applied before.
                    raise BrokerLostLog(self.processor.consumer)
                batches = await consumer.getmany(timeout_ms=500, max_records=200)
                if not self.ready.is_set() and consumer.assignment():
                    self.ready.set()  # joined the group and holds partitions: events flow
                # Every partition's events of this fetch in one transaction (far cheaper than
                # one per partition), each partition's in offset order. Partitions in number
                # order, so two groups reading one topic (a fast lane and the main group)
                # take row locks in the same order and cannot deadlock.
                wanted = [
                    msg
                    for tp in sorted(batches, key=lambda tp: tp.partition)
                    for msg in batches[tp]
                    if not self.processor.skips_unread(msg.headers)
                ]
                outcomes = await self.processor.process_batch([msg.value for msg in wanted])
                for msg, (outcome, error, attempts) in zip(wanted, outcomes, strict=True):
                    if outcome == "dead_letter":
                        await self.dead_letter(msg, error or "unknown error", attempts)
                if batches:
                    await consumer.commit()
                    if self._after_loss:
                        self._settled |= set(batches)
                self._record_lag(consumer, batches)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    def _record_lag(self, consumer: AIOKafkaConsumer, batches: dict[Any, list[Any]]) -> None:
        """Events on the topic this consumer has not handled yet, per partition it holds: the
        high watermark of the last fetch minus the next offset to handle. Never waits on the
        broker (a partition that returned nothing in this fetch has nothing waiting)."""
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:  # nothing fetched from it yet
                continue
            messages = batches.get(tp)
            lag = highwater - (messages[-1].offset + 1) if messages else 0
            CONSUMER_LAG.labels(self.processor.consumer, str(tp.partition)).set(max(0, lag))


class _ReadLostLogFromStart(ConsumerRebalanceListener):
    """Seeks the partitions assigned after a loss of the broker's log to the new log's start
    (the inbox absorbs every event read again)."""

    def __init__(self, owner: InboxConsumer, consumer: AIOKafkaConsumer) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if not self._owner._after_loss:
            return
        unsettled = [tp for tp in assigned if tp not in self._owner._settled]
        if unsettled:
            await self._consumer.seek_to_beginning(*unsettled)
