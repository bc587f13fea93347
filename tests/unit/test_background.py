"""The one loop of the background jobs: a failed round is logged and retried, cancelling ends it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shared.background import run_every


async def test_a_failed_round_is_logged_and_the_next_round_runs(caplog: pytest.LogCaptureFixture) -> None:
    rounds = 0
    done = asyncio.Event()

    async def work() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise RuntimeError("database away")
        if rounds == 3:
            done.set()

    log = logging.getLogger("tests.background")
    task = asyncio.create_task(run_every(0, work, log=log, failure="the sweep failed; retrying"))
    with caplog.at_level(logging.ERROR, logger="tests.background"):
        await asyncio.wait_for(done.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rounds >= 3
    [record] = [r for r in caplog.records if r.name == "tests.background"]
    assert record.getMessage() == "the sweep failed; retrying"
    assert record.exc_info is not None and "database away" in str(record.exc_info[1])


async def test_cancelling_ends_the_loop_even_during_a_round() -> None:
    started = asyncio.Event()

    async def work() -> None:
        started.set()
        await asyncio.sleep(3600)

    task = asyncio.create_task(run_every(3600, work, log=logging.getLogger("tests.background"), failure="x"))
    await asyncio.wait_for(started.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
