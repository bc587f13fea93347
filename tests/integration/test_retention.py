"""Retention of the delivery tables against the real PostgreSQL: published outbox rows and
inbox rows past their horizon go, in batches; unpublished rows and recent ones stay, and the
duplicate check still holds for everything inside the inbox's horizon."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kpi import store as kpi_store
from shared.clock import now
from shared.db import create_engine, inbox_table, insert_new, outbox_table, session_factory
from shared.retention import prune_delivery_tables
from shared.settings import Settings


@pytest.fixture
async def engine(platform: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(platform.database_url("kpi"), platform)
    yield engine
    await engine.dispose()


async def test_published_outbox_rows_and_inbox_rows_past_their_horizon_are_pruned_in_batches(
    engine: AsyncEngine,
) -> None:
    outbox, inbox = outbox_table(kpi_store.metadata), inbox_table(kpi_store.metadata)
    sessions = session_factory(engine)
    at = now()
    consumer = f"retention-{uuid.uuid4().hex[:6]}"
    topic = f"t.{consumer}"

    def outbox_row(published_hours_ago: float | None, created_hours_ago: float) -> dict[str, object]:
        return {
            "event_id": uuid.uuid4(),
            "topic": topic,
            "key": "r1",
            "type": "request.received",
            "version": 1,
            "payload": {},
            "created_at": at - timedelta(hours=created_hours_ago),
            "published_at": None
            if published_hours_ago is None
            else at - timedelta(hours=published_hours_ago),
        }

    old_published = [outbox_row(200, 201) for _ in range(23)]
    recent_published = [outbox_row(10, 11) for _ in range(4)]
    never_published = [outbox_row(None, 500) for _ in range(3)]  # stuck: kept whatever its age
    old_inbox = [
        {
            "consumer": consumer,
            "event_id": uuid.uuid4(),
            "event_type": "x",
            "applied_at": at - timedelta(days=20),
        }
        for _ in range(17)
    ]
    recent_inbox = [
        {
            "consumer": consumer,
            "event_id": uuid.uuid4(),
            "event_type": "x",
            "applied_at": at - timedelta(days=3),
        }
        for _ in range(5)
    ]
    async with sessions() as session:
        await session.execute(insert(outbox), old_published + recent_published + never_published)
        await session.execute(insert(inbox), old_inbox + recent_inbox)
        await session.commit()

    removed = await prune_delivery_tables(
        sessions,
        outbox,
        inbox,
        outbox_before=at - timedelta(hours=168),
        inbox_before=at - timedelta(hours=336),
        batch=5,  # several batches
    )
    assert removed["outbox"] >= 23 and removed["inbox"] >= 17
    async with sessions() as session:
        left = set(await session.scalars(select(outbox.c.event_id).where(outbox.c.topic == topic)))
        assert left == {r["event_id"] for r in recent_published + never_published}
        kept = set(await session.scalars(select(inbox.c.event_id).where(inbox.c.consumer == consumer)))
        assert kept == {r["event_id"] for r in recent_inbox}
        # Nothing older than a horizon is left anywhere in the table.
        assert (
            await session.scalar(
                select(func.count()).where(outbox.c.published_at < at - timedelta(hours=168))
            )
            == 0
        )
        # The duplicate check still holds inside the horizon: a kept event id is refused again;
        # past it the id is free (why the inbox's horizon must outlive any redelivery).
        record = insert_new(inbox, ("consumer", "event_id"), returning="event_id")
        kept_again = await session.execute(
            record, {"consumer": consumer, "event_id": recent_inbox[0]["event_id"], "event_type": "x"}
        )
        assert kept_again.first() is None
        pruned_again = await session.execute(
            record, {"consumer": consumer, "event_id": old_inbox[0]["event_id"], "event_type": "x"}
        )
        assert pruned_again.first() is not None
        await session.rollback()


def test_the_inbox_must_outlive_the_outbox() -> None:
    with pytest.raises(
        ValidationError, match="INBOX_RETENTION_HOURS must be at least OUTBOX_RETENTION_HOURS"
    ):
        Settings(outbox_retention_hours=48, inbox_retention_hours=24)  # type: ignore[call-arg]
