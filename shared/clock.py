"""The one place that reads the wall clock, in the organisation's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from shared.settings import get_settings


def organisation_tz() -> ZoneInfo:
    return ZoneInfo(get_settings().organisation_timezone)


def now() -> datetime:
    return datetime.now(organisation_tz())
