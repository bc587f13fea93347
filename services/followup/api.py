"""Followup's HTTP API: feedback, rating, closing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.followup import service, store
from services.followup.domain.followup import NotSurveyed
from shared.auth import Principal
from shared.errors import Conflict
from shared.events.catalogue import Rating
from shared.outbox import UnitOfWork
from shared.policy import authorized
from shared.runtime import db_session, unit_of_work

router = APIRouter(prefix="/v1", tags=["followup"])
Uow = Annotated[UnitOfWork, Depends(unit_of_work)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FeedbackBody(Strict):
    message: Annotated[str, Field(min_length=1, max_length=5000)] | None = None


class RatingBody(Strict):
    rating: Rating
    score: int | None = Field(default=None, ge=1, le=5)
    comment: Annotated[str, Field(max_length=2000)] | None = None
    reason: Annotated[str, Field(max_length=2000)] | None = None


class CloseBody(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "completed"


@router.post("/requests/{request_id}/feedback")
async def give_feedback(
    request_id: str,
    body: FeedbackBody,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    return await service.give_feedback(uow, principal, request_id, body.message)


@router.post("/requests/{request_id}/rating")
async def rate(
    request_id: str,
    body: RatingBody,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    try:
        return await service.rate(
            uow, principal, request_id, body.rating, body.score, body.comment, body.reason
        )
    except NotSurveyed as exc:
        raise Conflict("anonymous requests are not surveyed") from exc


@router.post("/requests/{request_id}/close")
async def close(
    request_id: str,
    body: CloseBody,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    return await service.close(uow, principal, request_id, body.reason)


class RevisitOutcome(Strict):
    outcome: Literal["solved", "recurred", "unreachable"]
    notes: Annotated[str, Field(max_length=2000)] | None = None


@router.get("/revisits")
async def list_revisits(
    _: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
    due_before: AwareDatetime | None = None,
    state: Literal["scheduled", "done"] = "scheduled",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Return visits (回访) to make, soonest first."""
    r = store.revisits.c
    stmt = select(store.revisits).where(r.state == state).order_by(r.due).limit(limit)
    if due_before is not None:
        stmt = stmt.where(r.due < due_before)
    rows = (await session.execute(stmt)).mappings()
    return {
        "items": [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(row).items()}
            for row in rows
        ],
        "next_cursor": None,
    }


@router.post("/revisits/{revisit_id}/outcome")
async def record_revisit(
    revisit_id: str,
    body: RevisitOutcome,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    """What the return visit found; `recurred` overturns the result and reopens the request."""
    return await service.record_revisit(uow, principal, revisit_id, body.outcome, body.notes)
