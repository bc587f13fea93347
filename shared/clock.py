"""The one place that reads the wall clock, in the organisation's time zone.

A clock may be *pinned*: `CLOCK_PINNED_AT` (an ISO instant) says what time it was at the
real instant `CLOCK_PINNED_ANCHOR` (seconds since the epoch; the process start if unset),
and the clock runs on from there at the real pace. Every process given the same pair reads
the same time, so a whole platform can be run as if it were a Saturday night or New Year's
Eve. Tests pin it (tests/conftest.py); production leaves it unset and reads the wall clock.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# The clock reads the process's settings itself (not a runtime's): `now()` is called from
# everywhere, pure domain code included, and the pinned instant and the organisation's zone
# are one per process (set in its environment), so there is nothing a runtime could differ in.
from shared.settings import get_settings

_PROCESS_START = time.time()


def organisation_tz() -> ZoneInfo:
    return _zone(get_settings().organisation_timezone)


@lru_cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def now() -> datetime:
    settings = get_settings()
    tz = _zone(settings.organisation_timezone)
    pinned = settings.clock_pinned_at
    if pinned is None:
        return datetime.now(tz)
    anchor = settings.clock_pinned_anchor if settings.clock_pinned_anchor is not None else _PROCESS_START
    return (pinned + timedelta(seconds=time.time() - anchor)).astimezone(tz)


def timestamp() -> float:
    """`now()` as seconds since the epoch (for token claims and the like)."""
    return now().timestamp()
