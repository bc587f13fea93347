"""What KPI asks of routing's directory: the active departments, so a department with no
request in a period is still listed (unranked) rather than missing; and the dispatch
catalogue's matter names (request.routed carries a matter's code only)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import httpx

from shared.auth import issue_staff_token
from shared.pagination import every_page
from shared.settings import Settings

log = logging.getLogger(__name__)


async def active_departments(s: Settings) -> list[str]:
    """Active departments' codes (asked of routing at the service's ROUTING_URL); none if the
    directory cannot be asked (then the ranking lists the departments with figures only,
    and says nothing false)."""
    token = s.service_token or issue_staff_token("kpi-service", "ops", ttl=timedelta(minutes=5), settings=s)
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            items = await every_page(
                client,
                f"{s.routing_url.rstrip('/')}/v1/departments",
                headers={"Authorization": f"Bearer {token}"},
            )
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("department directory not reachable (%s); ranking the departments with figures", exc)
        return []
    return sorted(str(d["code"]) for d in items if d.get("active", True))


# The catalogue's names as last read, per routing URL: (monotonic time read, names). A page
# polled every few seconds asks routing at most once a minute; a rename shows within it.
NAMES_FOR_SECONDS = 60.0
_names: dict[str, tuple[float, dict[str, str]]] = {}


async def matter_names(s: Settings) -> dict[str, str]:
    """The dispatch catalogue's matter names by code, retired matters too (their history
    keeps its name); none if the catalogue cannot be asked (then a matter shows its code,
    and routing is asked again next time)."""
    kept = _names.get(s.routing_url)
    if kept is not None and time.monotonic() - kept[0] < NAMES_FOR_SECONDS:
        return kept[1]
    token = s.service_token or issue_staff_token("kpi-service", "ops", ttl=timedelta(minutes=5), settings=s)
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            items = await every_page(
                client,
                f"{s.routing_url.rstrip('/')}/v1/matters",
                headers={"Authorization": f"Bearer {token}"},
                params={"include_retired": "true", "limit": 500},
            )
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("dispatch catalogue not reachable (%s); matters shown by their code", exc)
        return {}
    names = {str(m["code"]): str(m["name"]) for m in items}
    _names[s.routing_url] = (time.monotonic(), names)
    return names
