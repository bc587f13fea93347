"""Handling's HTTP API: the department's queue and the actions on a case."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.handling import service, store
from shared.auth import Principal, require
from shared.errors import NotFound
from shared.events.catalogue import Outcome
from shared.outbox import UnitOfWork
from shared.pagination import decode_cursor, page
from shared.runtime import db_session, unit_of_work

router = APIRouter(prefix="/v1", tags=["handling"])
DeptStaff = Annotated[Principal, Depends(require("handler", "dept_head"))]
Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
Text = Annotated[str, Field(min_length=1, max_length=5000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AcceptBody(Strict):
    handler_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class ContactBody(Strict):
    how: Literal["phone", "sms", "email", "visit", "channel", "other"]
    summary: Text


class ProgressBody(Strict):
    step: Literal["investigate", "plan", "implement", "other"]
    note: Text


class ResolveBody(Strict):
    outcome: Outcome
    reply: Text
    reason: Annotated[str, Field(max_length=2000)] | None = None


class ReturnBody(Strict):
    reason: Text


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "request_id": row["request_id"],
        "department": row["department"],
        "role": row["role"],
        "state": row["state"],
        "category": row["category"],
        "urgency": row["urgency"],
        "due": row["due"],
        "handler_id": row["handler_id"],
        "routed_at": row["routed_at"].isoformat() if row["routed_at"] else None,
    }


@router.get("/cases")
async def list_cases(
    principal: DeptStaff,
    session: Annotated[AsyncSession, Depends(db_session)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    state: str | None = None,
    urgency: Literal["normal", "urgent"] | None = None,
    handler: str | None = None,
) -> dict[str, Any]:
    rows = await store.queue(
        session,
        principal.department,
        limit=limit,
        after_seq=decode_cursor(cursor),
        state=state,
        urgency=urgency,
        handler_id=handler,
    )
    result = page(rows, limit)
    result["items"] = [_view(r) for r in rows]
    return result


@router.get("/cases/{request_id}")
async def get_case(
    request_id: str, principal: DeptStaff, session: Annotated[AsyncSession, Depends(db_session)]
) -> dict[str, Any]:
    row = (
        (
            await session.execute(
                select(store.cases).where(
                    store.cases.c.request_id == request_id, store.cases.c.department == principal.department
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no case {request_id} in your department")
    steps = (
        await session.execute(
            select(store.steps).where(store.steps.c.request_id == request_id).order_by(store.steps.c.seq)
        )
    ).mappings()
    view = _view(dict(row))
    view["steps"] = [
        {
            "kind": s["kind"],
            "department": s["department"],
            "actor_id": s["actor_id"],
            "detail": s["detail"],
            "at": s["at"].isoformat(),
        }
        for s in steps
    ]
    return view


@router.post("/cases/{request_id}/accept")
async def accept(request_id: str, body: AcceptBody, principal: DeptStaff, uow: Uow) -> dict[str, Any]:
    handler_id = body.handler_id or principal.id
    return await service.act(
        uow,
        principal,
        request_id,
        lambda c: c.accept(principal.department, handler_id),
        "accept",
        {"handler_id": handler_id},
    )


@router.post("/cases/{request_id}/contact")
async def contact(request_id: str, body: ContactBody, principal: DeptStaff, uow: Uow) -> dict[str, Any]:
    return await service.act(
        uow,
        principal,
        request_id,
        lambda c: c.contact(principal.department, principal.id, body.how),
        "contact",
        body.model_dump(),
    )


@router.post("/cases/{request_id}/progress")
async def progress(request_id: str, body: ProgressBody, principal: DeptStaff, uow: Uow) -> dict[str, Any]:
    return await service.act(
        uow,
        principal,
        request_id,
        lambda c: c.progress(principal.department, principal.id, body.step, body.note),
        "progress",
        body.model_dump(),
    )


@router.post("/cases/{request_id}/resolve")
async def resolve(request_id: str, body: ResolveBody, principal: DeptStaff, uow: Uow) -> dict[str, Any]:
    return await service.act(
        uow,
        principal,
        request_id,
        lambda c: c.resolve(principal.department, c.handler_id or principal.id, body.outcome, body.reply),
        "resolve",
        body.model_dump(),
    )


@router.post("/cases/{request_id}/return")
async def return_case(request_id: str, body: ReturnBody, principal: DeptStaff, uow: Uow) -> dict[str, Any]:
    return await service.act(
        uow,
        principal,
        request_id,
        lambda c: c.return_(principal.department, body.reason),
        "return",
        body.model_dump(),
    )
