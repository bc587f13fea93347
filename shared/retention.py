"""Retention of the delivery tables: published outbox rows and inbox rows older than their
horizon are deleted in batches, so a service's storage stays flat however long it runs.

What is kept, and why (docs/operations.md "Retention of delivery tables"):
* the outbox keeps every unpublished row, and published rows for OUTBOX_RETENTION_HOURS:
  `republish --since` (after the broker lost its log) can replay only what is still there;
* the inbox keeps each applied event id for INBOX_RETENTION_HOURS (at least the outbox's
  horizon, settings enforce it): an event delivered again after its inbox row is gone would
  be applied a second time, so the horizon must outlive a republish window plus the longest
  a consumer may lag behind.

Each batch is one short transaction (`FOR UPDATE SKIP LOCKED`, so two replicas pruning at
once share the work and never wait on each other or on the relay).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.background import run_every
from shared.clock import now

if TYPE_CHECKING:
    from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


async def _prune(
    sessions: async_sessionmaker[AsyncSession], table: Table, key: list[Any], old: Any, batch: int
) -> int:
    removed = 0
    while True:
        async with sessions() as session, session.begin():
            chosen = select(*key).where(old).limit(batch).with_for_update(skip_locked=True).cte("chosen")
            match = (
                key[0] == chosen.c[key[0].name]
                if len(key) == 1
                else (key[0] == chosen.c[key[0].name]) & (key[1] == chosen.c[key[1].name])
            )
            result = await session.execute(delete(table).where(match))
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        removed += count
        if count < batch:
            return removed
        await asyncio.sleep(0)  # let the service's other work in between batches


async def prune_delivery_tables(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Table,
    inbox: Table,
    *,
    outbox_before: datetime,
    inbox_before: datetime,
    batch: int = 5000,
) -> dict[str, int]:
    """Delete published outbox rows published before `outbox_before` and inbox rows applied
    before `inbox_before`, `batch` rows a transaction; how many of each went."""
    ob, ib = outbox.c, inbox.c
    return {
        "outbox": await _prune(
            sessions, outbox, [ob.id], ob.published_at.is_not(None) & (ob.published_at < outbox_before), batch
        ),
        "inbox": await _prune(
            sessions, inbox, [ib.consumer, ib.event_id], ib.applied_at < inbox_before, batch
        ),
    }


async def prune_once(runtime: ServiceRuntime) -> dict[str, int]:
    s = runtime.settings
    at = now()
    return await prune_delivery_tables(
        runtime.sessions,
        runtime.metadata.tables["outbox"],
        runtime.metadata.tables["inbox"],
        outbox_before=at - timedelta(hours=s.outbox_retention_hours),
        inbox_before=at - timedelta(hours=s.inbox_retention_hours),
        batch=s.retention_batch_size,
    )


async def delivery_retention_job(runtime: ServiceRuntime) -> None:
    """Background job of every service: prune, then wait RETENTION_SWEEP_SECONDS."""

    async def prune() -> None:
        removed = await prune_once(runtime)
        if any(removed.values()):
            log.info("pruned delivery tables: %s", removed)

    await run_every(
        runtime.settings.retention_sweep_seconds,
        prune,
        log=log,
        failure="pruning the delivery tables failed; retrying later",
    )
