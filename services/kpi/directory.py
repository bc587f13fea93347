"""What KPI asks of routing's directory: the active departments, so a department with no
request in a period is still listed (unranked) rather than missing."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx

from shared.auth import issue_staff_token
from shared.settings import Settings

log = logging.getLogger(__name__)


async def active_departments(s: Settings) -> list[str]:
    """Active departments' codes (asked of routing at the service's ROUTING_URL); none if the
    directory cannot be asked (then the ranking lists the departments with figures only,
    and says nothing false)."""
    token = s.service_token or issue_staff_token("kpi-service", "ops", ttl=timedelta(minutes=5), settings=s)
    items: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            cursor: str | None = None
            while True:  # every page of the directory
                response = await client.get(
                    f"{s.routing_url.rstrip('/')}/v1/departments",
                    params={"cursor": cursor} if cursor else {},
                    headers={"Authorization": f"Bearer {token}"},
                )
                response.raise_for_status()
                page = response.json()
                items += page["items"]
                cursor = page.get("next_cursor")
                if not cursor:
                    break
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("department directory not reachable (%s); ranking the departments with figures", exc)
        return []
    return sorted(str(d["code"]) for d in items if d.get("active", True))
