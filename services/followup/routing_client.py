"""What followup asks of routing through its public API: working days after a moment (routing
owns the business calendar, so followup never counts holidays differently) and who a staff
member is (routing owns the staff directory)."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from shared.auth import issue_staff_token
from shared.pagination import every_page
from shared.settings import Settings

log = logging.getLogger(__name__)


def _token(s: Settings) -> str:
    # Production sets SERVICE_TOKEN (a client-credentials token from the identity provider).
    return s.service_token or issue_staff_token(
        "followup-service", "ops", ttl=timedelta(minutes=5), settings=s
    )


async def working_days_after(s: Settings, start: datetime, days: int) -> datetime:
    """`days` working days after `start`, on routing's calendar (at the service's ROUTING_URL)."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.post(
                f"{s.routing_url.rstrip('/')}/v1/calendar/due",
                json={"start": start.isoformat(), "amount": days, "unit": "working_days"},
                headers={"Authorization": f"Bearer {_token(s)}"},
            )
        response.raise_for_status()
        return datetime.fromisoformat(response.json()["due"])
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("calendar not reachable (%s); counting %d working days as calendar days", exc, days)
        return no_earlier_than(start, days)


def no_earlier_than(start: datetime, days: int) -> datetime:
    """`days` working days after `start` without the calendar: never earlier than the
    working-day answer would be (weekends and a holiday's worth added)."""
    return start + timedelta(days=days + 2 * math.ceil(days / 5) + 1)


class DirectoryUnavailable(Exception):
    """Routing's staff directory could not be asked; the caller should try again."""


async def staff_member(s: Settings, staff_id: str) -> dict[str, Any] | None:
    """The directory's entry for a staff member, or None if there is no such member."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(
                f"{s.routing_url.rstrip('/')}/v1/staff/{quote(staff_id, safe='')}",
                headers={"Authorization": f"Bearer {_token(s)}"},
            )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        member: dict[str, Any] = response.json()
        return member
    except (httpx.HTTPError, ValueError) as exc:
        raise DirectoryUnavailable(str(exc)) from exc


async def active_supervisors(s: Settings) -> list[str]:
    """The ids of the active supervisors (督办组), from the directory."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            items = await every_page(
                client,
                f"{s.routing_url.rstrip('/')}/v1/staff",
                headers={"Authorization": f"Bearer {_token(s)}"},
                params={"role": "supervisor", "limit": 500},
            )
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise DirectoryUnavailable(str(exc)) from exc
    return sorted(m["id"] for m in items if m.get("role") == "supervisor" and m.get("active", True))
