"""Transactional outbox: the unit of work writes a command's events in the same
transaction as its state change; the relay publishes them in commit order and marks them.

The development broker keeps nothing across restarts, so the relay also watches for its own
marker topic: when the marker is gone, the broker lost its log, and the relay recreates the
topics and republishes everything from its outbox (consumers' inboxes absorb the repeats).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import (
    ARRAY,
    Integer,
    String,
    Table,
    TextClause,
    Uuid,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import now
from shared.events.catalogue import EventData, dump_data
from shared.events.envelope import Actor, Envelope, new_envelope
from shared.kafka import ensure_topics, topic_exists
from shared.local import RuntimeLocal
from shared.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG
from shared.settings import Settings

log = logging.getLogger(__name__)


class UnitOfWork:
    """One database transaction plus the events the domain raised inside it.

    Use as `async with uow: ...; await uow.commit()`; leaving without commit rolls back,
    and then nothing is published.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        producer: str,
        outbox: Table,
        lifecycle_topic: str,
        settings: Settings,
        local: RuntimeLocal,
        on_commit: Callable[[], None] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self._sessions = sessions
        # The service's settings, handed in by its runtime: commands and event handlers read
        # them here (they all work in a unit of work), never from a process-wide singleton.
        self.settings = settings
        # What the runtime keeps between units of work (e.g. a cache of the service's
        # configuration): the runtime's own, never a module global.
        self.local = local
        self.producer = producer
        self._outbox = outbox
        self._lifecycle_topic = lifecycle_topic
        self._on_commit = on_commit
        self.correlation_id = correlation_id
        self._pending: list[tuple[str, Envelope]] = []
        self.emitted: list[Envelope] = []
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessions()
        self._pending = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._session is not None
        try:
            await self._session.rollback()  # no-op after a commit
        finally:
            await self._session.close()
            self._session = None
            self._pending = []

    def emit(
        self,
        data: EventData,
        *,
        request_id: str,
        actor: Actor,
        cause: Envelope | None = None,
        occurred_at: datetime | None = None,
        topic: str | None = None,
    ) -> Envelope:
        """Raise an event; it reaches the outbox at commit, or never."""
        envelope = new_envelope(
            type=data.TYPE,
            version=data.VERSION,
            request_id=request_id,
            producer=self.producer,
            actor=actor,
            data=dump_data(data),
            occurred_at=occurred_at or now(),
            causation_id=cause.id if cause else None,
            correlation_id=cause.correlation_id if cause else self.correlation_id,
        )
        self._pending.append((topic or self._lifecycle_topic, envelope))
        return envelope

    async def commit(self) -> None:
        # Work a handler deferred to the end of the transaction (e.g. KPI's counts, summed
        # over a whole batch of events and written once, in key order).
        for flush in self.session.info.pop("before_commit", {}).values():
            await flush(self.session)
        if len(self._pending) > 1:
            # A consumer's fetch raises many: one statement of arrays, rows in their order.
            pending = self._pending
            await self.session.execute(
                _outbox_rows(self._outbox.name),
                {
                    "event_ids": [env.id for _, env in pending],
                    "topics": [topic for topic, _ in pending],
                    "keys": [env.request_id for _, env in pending],
                    "types": [env.type for _, env in pending],
                    "versions": [env.version for _, env in pending],
                    "payloads": [env.model_dump_json() for _, env in pending],
                    "priorities": [_priority(env) for _, env in pending],
                },
            )
        elif self._pending:
            ((topic, env),) = self._pending
            await self.session.execute(
                insert(self._outbox),
                {
                    "event_id": env.id,
                    "topic": topic,
                    "key": env.request_id,
                    "type": env.type,
                    "version": env.version,
                    "payload": env.model_dump(mode="json"),
                    "priority": _priority(env),
                },
            )
        await self.session.commit()
        self.emitted.extend(env for _, env in self._pending)
        had_events = bool(self._pending)
        self._pending = []
        if had_events and self._on_commit is not None:
            self._on_commit()


@functools.lru_cache(maxsize=8)
def _outbox_rows(table: str) -> TextClause:
    """Many outbox rows from one array per column, compiled once for any count; the ids
    (commit order per request) follow the arrays' order."""
    return text(
        f"INSERT INTO {table} (event_id, topic, key, type, version, payload, priority) "
        "SELECT e.event_id, e.topic, e.key, e.type, e.version, CAST(e.payload AS jsonb), e.priority "
        "FROM unnest(CAST(:event_ids AS uuid[]), CAST(:topics AS varchar[]), CAST(:keys AS varchar[]), "
        "CAST(:types AS varchar[]), CAST(:versions AS integer[]), CAST(:payloads AS text[]), "
        "CAST(:priorities AS smallint[])) WITH ORDINALITY "
        "AS e(event_id, topic, key, type, version, payload, priority, n) ORDER BY e.n"
    ).bindparams(
        bindparam("event_ids", type_=ARRAY(Uuid())),
        bindparam("topics", type_=ARRAY(String())),
        bindparam("keys", type_=ARRAY(String())),
        bindparam("types", type_=ARRAY(String())),
        bindparam("versions", type_=ARRAY(Integer())),
        bindparam("payloads", type_=ARRAY(String())),
        bindparam("priorities", type_=ARRAY(Integer())),
    )


# An urgent request's first event from a service: nothing of the same request can be ahead
# of it in that service's outbox, so sending it first keeps every request's order.
_FIRST_EVENTS = frozenset({"request.received", "request.routed"})


def _priority(envelope: Envelope) -> int:
    return int(envelope.type in _FIRST_EVENTS and envelope.data.get("urgency") == "urgent")


def _lock_key(service: str) -> int:
    # A stable 63-bit key per service for the relay's advisory lock (one active relay).
    return uuid.uuid5(uuid.NAMESPACE_URL, f"outbox-relay/{service}").int & 0x7FFF_FFFF_FFFF_FFFF


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Table,
        producer: AIOKafkaProducer,
        bootstrap: str,
        topics: list[str],
        partitions: int,
        poll_seconds: float = 0.5,
        batch_size: int = 500,
        broker_check_seconds: float = 3.0,
    ) -> None:
        self.service = service
        self._sessions = sessions
        self._outbox = outbox
        self._producer = producer
        self._bootstrap = bootstrap
        self._topics = topics
        self._partitions = partitions
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._broker_check_seconds = broker_check_seconds
        self._wakeup = asyncio.Event()
        self.marker_topic = f"_relay.{service}"
        # One round trip for the next batch: the green channel first (urgent requests' first
        # events skip the backlog), then the rest in outbox order; each part uses its index.
        ob = outbox
        columns = (ob.c.id, ob.c.topic, ob.c.key, ob.c.type, ob.c.version, ob.c.event_id, ob.c.payload)
        lanes = [
            select(*columns, literal(lane).label("lane"))
            .where(ob.c.published_at.is_(None), which)
            .order_by(ob.c.id)
            .limit(batch_size)
            # Constants inline, so the planner may use the partial indexes for each lane.
            for lane, which in enumerate(
                (ob.c.priority > literal_column("0"), ob.c.priority == literal_column("0"))
            )
        ]
        both = union_all(*lanes).subquery()
        self._next_rows = select(both).order_by(both.c.lane, both.c.id).limit(batch_size)

    def wake(self) -> None:
        self._wakeup.set()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events in outbox order; return how many."""
        ob = self._outbox
        async with self._sessions() as session, session.begin():
            locked = await session.scalar(select(func.pg_try_advisory_xact_lock(_lock_key(self.service))))
            if not locked:
                return 0
            rows = (await session.execute(self._next_rows)).all()
            if not rows:
                return 0
            # send() only enqueues; per partition the producer keeps the enqueue order.
            futures = [
                await self._producer.send(
                    row.topic,
                    value=_encode(row.payload),
                    key=row.key.encode(),
                    headers=[
                        ("type", row.type.encode()),
                        ("version", str(row.version).encode()),
                        ("event_id", str(row.event_id).encode()),
                    ],
                )
                for row in rows
            ]
            await asyncio.gather(*futures)
            await session.execute(
                update(ob).where(ob.c.id.in_([r.id for r in rows])).values(published_at=func.now())
            )
        for row in rows:
            EVENTS_PUBLISHED.labels(self.service, row.type).inc()
        return len(rows)

    async def republish(self, since: datetime | None = None, from_id: int | None = None) -> int:
        """Mark events as unpublished again (all, or from a time or an outbox id on)."""
        ob = self._outbox
        stmt = update(ob).where(ob.c.published_at.is_not(None))
        if since is not None:
            stmt = stmt.where(ob.c.created_at >= since)
        if from_id is not None:
            stmt = stmt.where(ob.c.id >= from_id)
        async with self._sessions() as session, session.begin():
            result = await session.execute(stmt.values(published_at=None))
        self.wake()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def backlog(self) -> int:
        ob = self._outbox
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).where(ob.c.published_at.is_(None))) or 0)

    async def ensure_broker_has_our_log(self) -> None:
        """Create topics at start; if our marker vanished, the broker lost its log: republish."""
        if await topic_exists(self._bootstrap, self.marker_topic):
            return
        await ensure_topics(self._bootstrap, [*self._topics, self.marker_topic], self._partitions)
        # The development broker creates a topic it does not know on the first metadata
        # request, with a partition count of its own; until the producer asks again it sends
        # by the old count, to partitions the new topic does not have (never read). Ask now,
        # so the republish below (which covers whatever went there) and all that follows
        # land in partitions that exist.
        await self._producer.client.force_metadata_update()
        count = await self.republish()
        if count:
            log.warning("broker has lost its log; republishing %d events from the outbox", count)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_broker_check = 0.0
        while True:
            self._wakeup.clear()
            try:
                if loop.time() >= next_broker_check:
                    await self.ensure_broker_has_our_log()
                    OUTBOX_BACKLOG.labels(self.service).set(await self.backlog())
                    next_broker_check = loop.time() + self._broker_check_seconds
                while await self.publish_pending() >= self._batch_size:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_seconds)
            except TimeoutError:
                pass


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class RelayThread:
    """An OutboxRelay on an event loop of its own thread, with its own connection pool and
    producer. On the service's loop it would share turns with every HTTP request and event
    handler, and under a flood an urgent request's first event waited seconds to be sent;
    a thread of its own gets the interpreter every few milliseconds whatever the loop does."""

    def __init__(self, *, database_url: str, settings: Settings, **relay_options: Any) -> None:
        self._database_url = database_url
        self._settings = settings
        self._options = relay_options
        self._loop: asyncio.AbstractEventLoop | None = None
        self._relay: OutboxRelay | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main()), name=f"{relay_options['service']}-relay", daemon=True
        )

    async def start(self) -> None:
        self._thread.start()
        await asyncio.to_thread(self._ready.wait, 60)
        if self._error is not None:
            raise self._error

    async def _main(self) -> None:
        from shared.db import create_engine, session_factory
        from shared.kafka import make_producer

        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        engine = create_engine(self._database_url, self._settings)
        producer = make_producer(self._options["bootstrap"])
        try:
            await producer.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            await engine.dispose()
            return
        self._relay = OutboxRelay(sessions=session_factory(engine), producer=producer, **self._options)
        self._ready.set()
        task = asyncio.create_task(self._relay.run())
        try:
            await self._stopping.wait()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await producer.stop()
            await engine.dispose()

    def wake(self) -> None:
        """Called from the service's loop after a commit with events."""
        if self._loop is not None and self._relay is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._relay.wake)

    async def republish(self, since: datetime | None = None, from_id: int | None = None) -> int:
        if self._loop is None or self._relay is None:
            return 0
        future = asyncio.run_coroutine_threadsafe(self._relay.republish(since, from_id), self._loop)
        return await asyncio.wrap_future(future)

    async def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        await asyncio.to_thread(self._thread.join, 15)
