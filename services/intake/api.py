"""Intake's HTTP API: thin routes over service.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import service, store
from shared.auth import Principal, require
from shared.errors import ApiError, NotFound
from shared.outbox import UnitOfWork
from shared.pagination import decode_cursor, page
from shared.runtime import db_session, unit_of_work

router = APIRouter(prefix="/v1", tags=["intake"])

STAFF_READERS = ("agent", "handler", "dept_head", "supervisor", "admin", "ops")


@router.post("/requests", status_code=201)
async def submit_request(
    request: Request,
    principal: Annotated[Principal, Depends(require("channel", "agent"))],
    uow: Annotated[UnitOfWork, Depends(unit_of_work)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    try:
        body: Any = await request.json()
    except ValueError as exc:
        raise ApiError("body is not valid JSON", status=400, code="invalid_json") from exc
    if not isinstance(body, dict):
        raise ApiError("body must be a JSON object", status=422, code="validation_failed")
    result = await service.submit_request(uow, principal, body, idempotency_key)
    return JSONResponse(service.submit_view(result.request), status_code=201 if result.created else 200)


@router.get("/channel-keys/whoami")
async def whoami(principal: Annotated[Principal, Depends(require("channel"))]) -> dict[str, str]:
    """Which channel an API key belongs to; other services check adapters' keys here."""
    return {"channel": principal.id}


@router.get("/requests/{request_id}")
async def get_request(
    request_id: str,
    principal: Annotated[Principal, Depends(require("channel", *STAFF_READERS))],
    session: Annotated[AsyncSession, Depends(db_session)],
) -> dict[str, Any]:
    row = await store.get_request(session, request_id)
    if row is None or (principal.kind == "channel" and row["channel"] != principal.id):
        raise NotFound(f"no request {request_id}")
    return service.public_view(row)


@router.get("/requests")
async def list_requests(
    principal: Annotated[Principal, Depends(require(*STAFF_READERS))],
    session: Annotated[AsyncSession, Depends(db_session)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    state: str | None = None,
    channel: str | None = None,
    category: str | None = None,
    first_responder: str | None = None,
) -> dict[str, Any]:
    rows = await store.list_requests(
        session,
        limit=limit,
        after_seq=decode_cursor(cursor),
        filters={
            "state": state,
            "channel": channel,
            "category": category,
            "first_responder_id": first_responder,
        },
    )
    result = page(rows, limit)
    result["items"] = [service.public_view(r) for r in rows]
    return result
