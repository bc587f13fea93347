"""The one loop of every periodic background job (SLA sweeps, personal-data purges, survey
timeouts, KPI period closing, delivery-table pruning): do the work, wait, again, for as
long as the service runs. A failed round is logged and the next round tries again;
cancelling the task (the service stopping) ends it.

A job is what `ServiceRuntime.background` holds: `async def job(runtime: ServiceRuntime)`,
started once per process, which typically calls `run_every` with its round of work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.runtime import ServiceRuntime

BackgroundJob = Callable[["ServiceRuntime"], Coroutine[Any, Any, None]]


async def run_every(
    seconds: float,
    work: Callable[[], Awaitable[object]],
    *,
    log: logging.Logger,
    failure: str,
) -> None:
    """Run `work`, then sleep `seconds`, forever. An exception in `work` is logged on `log`
    (the job's own logger) with the message `failure` and its traceback; the loop goes on."""
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(failure)
        await asyncio.sleep(seconds)
