"""Intake's reads that are more than one row: what staff look at beside a request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import store
from services.intake.domain.duplicates import Candidate, likely_duplicates
from services.intake.service import masked_texts, may_see
from shared.auth import Principal
from shared.clock import now
from shared.errors import NotFound
from shared.lifecycle import TERMINAL, State
from shared.settings import Settings
from shared.texts import department_name

# A request answered on the spot or ended has nothing left to merge into.
_OPEN = [s.value for s in State if s not in TERMINAL and s is not State.ANSWERED_AT_INTAKE]


def _candidate(row: dict[str, Any]) -> Candidate:
    location = row.get("location") or {}
    return Candidate(
        id=row["id"],
        content=row["content"],
        requester_ref=row["requester_ref"],
        matter=row["matter"],
        area=row["area"],
        address=location.get("address"),
        received_at=row["received_at"],
    )


async def duplicates_of(
    session: AsyncSession, principal: Principal, request_id: str, settings: Settings
) -> dict[str, Any]:
    """The open requests this one most likely repeats (重复诉求), each with why, the text
    masked as lists show it; merging is `POST /v1/requests/{id}/merge`."""
    row = await store.get_request(session, request_id)
    if row is None or not may_see(principal, row):
        raise NotFound(f"no request {request_id}")
    since = now() - timedelta(days=settings.duplicate_window_days)
    rows = {r["id"]: r for r in await store.duplicate_candidates(session, row, since, _OPEN)}
    found = likely_duplicates(_candidate(row), [_candidate(r) for r in rows.values()])
    return {
        "request_id": request_id,
        "window_days": settings.duplicate_window_days,
        "items": [
            {
                "id": match.id,
                "state": rows[match.id]["state"],
                "content": masked_texts(rows[match.id])["content"],
                "matter": rows[match.id]["matter"],
                "lead_department": rows[match.id]["lead_department"],
                "lead_department_name": department_name(rows[match.id]["lead_department"]) or None,
                "received_at": rows[match.id]["received_at"].isoformat(),
                "similarity": match.similarity,
                "reasons": list(match.reasons),
            }
            for match in found
        ],
    }
