"""The dispatch model's life: trained from the catalogue in routing's database and the
centre's own history (dispatch_labels), stored as a new version, loaded by every routing
process, retrained on a schedule when there is something new to learn from.

`make train-dispatch` (python -m services.routing.learning) trains one now."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import jieba
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import store
from services.routing.domain.dispatch import DispatchModel, Example, Matter, history_example
from shared.clock import now
from shared.runtime import ServiceRuntime
from shared.settings import get_settings

log = logging.getLogger(__name__)


def matter_of(row: Any) -> Matter:
    return Matter(
        code=row["code"],
        name=row["name"],
        lead=row["lead_department"],
        co=tuple(row["co_departments"]),
        category=row["category"],
        urgent=row["urgent"],
        description=row["description"],
        keywords=tuple(row["keywords"]),
        examples=tuple(row["examples"]),
    )


async def active_matters(session: AsyncSession) -> list[Matter]:
    return [matter_of(r) for r in await store.active_matters_by_code(session)]


async def history(session: AsyncSession, model: DispatchModel | None) -> list[Example]:
    """The centre's labels as training examples (a department-only label becomes the
    department's matter the text most resembles under the current model)."""
    rows = await store.labels_in_order(session)
    return [history_example(model, r["text"], r["matter"], r["department"]) for r in rows]


@dataclass(frozen=True)
class Trained:
    version: int
    matters: int
    history: int
    threshold: float | None
    cpu_seconds: float


async def train(session: AsyncSession, actor: str, models: ModelCache) -> Trained:
    """Train a model from the active catalogue and the history, store it as the newest
    version (the one every routing process then uses; `models`, the cache of the runtime
    that trains, at once)."""
    matters = await active_matters(session)
    if not matters:
        raise ValueError("the dispatch catalogue has no active matter")
    current = await models.get(session)
    examples = await history(session, current)
    started = time.process_time()
    model = await asyncio.to_thread(DispatchModel.train, matters, examples)
    cpu = time.process_time() - started
    version = await store.insert_model(
        session,
        {
            "trained_at": now(),
            "trained_by": actor,
            "catalogue_matters": len(matters),
            "history_labels": len(examples),
            "threshold": model.threshold,
            "blob": model.dumps(),
        },
    )
    await session.commit()
    models.invalidate()
    log.info("dispatch model %s trained: %s matters, %s history labels", version, len(matters), len(examples))
    return Trained(version, len(matters), len(examples), model.threshold, round(cpu, 2))


async def stale(session: AsyncSession) -> bool:
    """New labels or catalogue edits since the newest model was trained."""
    latest = await store.newest_model_trained(session)
    if latest is None:
        return True
    labels = await store.label_count(session)
    edited = await store.last_matter_edit(session)
    return labels != latest["history_labels"] or (edited is not None and edited > latest["trained_at"])


class Training:
    """The training a runtime runs in the background, if one runs (one at a time)."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None


def start_training(runtime: ServiceRuntime, actor: str) -> bool:
    """Train in the background (one training at a time per runtime); False if one runs."""
    training = runtime.local.get(Training)
    if training.task is not None and not training.task.done():
        return False
    models = runtime.local.get(ModelCache)

    async def job() -> None:
        try:
            async with runtime.sessions() as session:
                await train(session, actor, models)
        except Exception:
            log.exception("dispatch training asked by %s failed", actor)

    training.task = asyncio.create_task(job(), name="dispatch-training")
    return True


class ModelCache:
    """The newest stored model, checked for a newer version every few seconds. Each runtime
    holds its own (`runtime.local`, `uow.local`), not a module global."""

    def __init__(self, ttl_seconds: float = 5.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._model: DispatchModel | None = None
        self._checked_at = -1e9

    def invalidate(self) -> None:
        self._checked_at = -1e9

    async def get(self, session: AsyncSession) -> DispatchModel | None:
        clock = time.monotonic()
        if clock - self._checked_at < self.ttl_seconds:
            return self._model
        self._checked_at = clock
        newest = await store.newest_model_version(session)
        if newest is None:
            self._model = None
        elif self._model is None or self._model.version != newest:
            blob = await store.model_blob(session, newest)
            assert blob is not None
            self._model = DispatchModel.loads(blob, newest)
        return self._model


async def retrain_job(runtime: ServiceRuntime) -> None:
    """Background: retrain when the history or the catalogue changed (ServiceRuntime job)."""
    # Warm up off the event loop: jieba's dictionary and the newest model, so the first
    # request does not pay for them.
    models = runtime.local.get(ModelCache)
    try:
        await asyncio.to_thread(jieba.initialize)
        async with runtime.sessions() as session:
            await models.get(session)
    except Exception:
        log.exception("warming up the dispatch model failed")
    every = runtime.settings.dispatch_retrain_seconds
    if every <= 0:
        return
    while True:
        await asyncio.sleep(every)
        try:
            async with runtime.sessions() as session:
                if await stale(session):
                    await train(session, "schedule", models)
        except Exception:  # a failed training keeps the current model; try again next time
            log.exception("scheduled dispatch training failed")


async def _main() -> None:
    from shared.db import create_engine, session_factory

    settings = get_settings()
    engine = create_engine(settings.database_url("routing"), settings)
    async with session_factory(engine)() as session:
        trained = await train(session, "make train-dispatch", ModelCache())
    await engine.dispose()
    print(
        f"dispatch model v{trained.version}: {trained.matters} matters, {trained.history} history labels, "
        f"confidence threshold {trained.threshold}, {trained.cpu_seconds} s CPU"
    )


if __name__ == "__main__":
    asyncio.run(_main())
