"""Working days after a moment, asked of routing (which owns the business calendar)
through its public API, so followup never counts holidays differently."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

import httpx

from shared.auth import issue_staff_token
from shared.settings import get_settings

log = logging.getLogger(__name__)


def _token() -> str:
    s = get_settings()
    # Production sets SERVICE_TOKEN (a client-credentials token from the identity provider).
    return s.service_token or issue_staff_token("followup-service", "ops", ttl=timedelta(minutes=5))


async def working_days_after(start: datetime, days: int) -> datetime:
    s = get_settings()
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.post(
                f"{s.routing_url.rstrip('/')}/v1/calendar/due",
                json={"start": start.isoformat(), "amount": days, "unit": "working_days"},
                headers={"Authorization": f"Bearer {_token()}"},
            )
        response.raise_for_status()
        return datetime.fromisoformat(response.json()["due"])
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        # Routing unreachable: never earlier than the working-day answer would be.
        log.warning("calendar not reachable (%s); counting %d working days as calendar days", exc, days)
        return start + timedelta(days=days + 2 * math.ceil(days / 5) + 1)
