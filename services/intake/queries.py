"""Intake's reads that are more than one row: what staff look at beside a request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import store
from services.intake.domain.duplicates import Candidate, likely_duplicates
from services.intake.service import (
    PHONE_LOOKUP,
    caller_phone,
    catalog_view,
    masked_texts,
    may_see,
    public_view,
)
from shared.auth import Principal
from shared.clock import now
from shared.errors import Forbidden, NotFound
from shared.lifecycle import TERMINAL, State
from shared.pagination import decode_cursor, page
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


async def request(session: AsyncSession, principal: Principal, request_id: str) -> dict[str, Any]:
    row = await store.get_request(session, request_id)
    if row is None or not may_see(principal, row):
        raise NotFound(f"no request {request_id}")  # another department's request does not exist for you
    return public_view(row)


async def requests_page(
    session: AsyncSession,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None,
    filters: dict[str, str | None],
    phone: str | None,
    settings: Settings,
) -> dict[str, Any]:
    """A page of requests as staff see them; department staff see their department's, and
    agents may find a caller's earlier requests by phone."""
    caller = None
    if phone is not None:
        if principal.role not in PHONE_LOOKUP:
            raise Forbidden(f"role {principal.role} may not look requests up by phone")
        caller = caller_phone(settings, phone)
    if filters.get("first_responder_id") == "me":
        filters = {**filters, "first_responder_id": principal.id}  # 首问责任制: what I received
    rows = await store.list_requests(
        session,
        limit=limit,
        after_seq=decode_cursor(cursor),
        department=principal.scoped_to,
        filters=filters,
        phone=caller,
    )
    result = page(rows, limit)
    result["items"] = [public_view(r) for r in rows]
    return result


async def personal_data_reads(
    session: AsyncSession, *, limit: int, cursor: str | None, **filters: Any
) -> dict[str, Any]:
    """Who read which request's personal data, when, and for what purpose (the audit log)."""
    rows = await store.list_personal_data_reads(
        session, limit=limit, after_seq=decode_cursor(cursor), **filters
    )
    result = page(rows, limit)
    result["items"] = [
        {
            "request_id": r["request_id"],
            "reader_id": r["reader_id"],
            "reader_role": r["reader_role"],
            "what": r["what"],
            "purpose": r["purpose"],
            "at": r["at"].isoformat(),
        }
        for r in rows
    ]
    return result


async def catalog(session: AsyncSession) -> dict[str, Any]:
    """The business types offered now: each one's latest version, unless it was retired."""
    latest = [catalog_view(r) for r in await store.latest_catalog_entries(session)]
    return {"items": [v for v in latest if v["active"]], "next_cursor": None}


async def catalog_entry(session: AsyncSession, code: str, version: int | None) -> dict[str, Any]:
    entry = (
        await store.catalog_entry(session, code, version)
        if version
        else await store.latest_catalog_entry(session, code)
    )
    if entry is None:
        raise NotFound(f"no business type {code}")
    return catalog_view(entry)


async def channel_keys(session: AsyncSession) -> dict[str, Any]:
    return {
        "items": [
            {**r, "created_at": r["created_at"].isoformat()} for r in await store.list_channel_keys(session)
        ],
        "next_cursor": None,
    }
