"""Followup's HTTP API: feedback, rating, closing."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.followup import service, staff, store
from services.followup.domain.followup import NotSurveyed, score_contradiction
from services.followup.domain.staff_rating import LEVELS, REASONS
from shared.auth import Principal
from shared.clock import organisation_tz
from shared.errors import Conflict
from shared.events.catalogue import Channel, Rating, RectificationOutcome, StaffRatingLevel
from shared.outbox import UnitOfWork
from shared.pagination import MAX_PAGE, keyset, keyset_page
from shared.policy import authorized
from shared.runtime import db_session, unit_of_work
from shared.types import Day, Instant

router = APIRouter(prefix="/v1", tags=["followup"])
Uow = Annotated[UnitOfWork, Depends(unit_of_work)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FeedbackBody(Strict):
    message: Annotated[str, Field(min_length=1, max_length=5000)] | None = None


class RatingBody(Strict):
    rating: Rating
    score: int | None = Field(
        default=None, ge=1, le=5, description="satisfied 4–5, basically_satisfied 3–4, unsatisfied 1–2"
    )
    comment: Annotated[str, Field(max_length=2000)] | None = None
    reason: Annotated[str, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _score_goes_with_rating(self) -> RatingBody:
        problem = score_contradiction(self.rating, self.score)
        if problem:
            raise PydanticCustomError(
                "score_matches_rating", problem, {"field": "score", "rule": "score_matches_rating"}
            )
        return self


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
    due_before: Annotated[
        Instant | Day | None,
        Query(
            description="an instant, or a date (due before that day begins, in the organisation's time zone)"
        ),
    ] = None,
    state: Literal["scheduled", "done"] = "scheduled",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Return visits (回访) to make, soonest first (keyset pages on an index of state, due, id)."""
    r = store.revisits.c
    stmt = select(store.revisits).where(r.state == state)
    if due_before is not None:
        if not isinstance(due_before, datetime):
            due_before = datetime.combine(due_before, time(0, 0), organisation_tz())
        stmt = stmt.where(r.due < due_before)
    rows = [
        dict(row) for row in (await session.execute(keyset(stmt, [r.due, r.id], cursor, limit))).mappings()
    ]
    return keyset_page(
        rows,
        limit,
        ("due", "id"),
        lambda row: {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()},
    )


@router.post("/revisits/{revisit_id}/outcome")
async def record_revisit(
    revisit_id: str,
    body: RevisitOutcome,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    """What the return visit found; `recurred` overturns the result and reopens the request."""
    return await service.record_revisit(uow, principal, revisit_id, body.outcome, body.notes)


class StaffRatingBody(Strict):
    staff_id: Annotated[str, Field(min_length=1, max_length=200)]
    service_ref: Annotated[
        str, Field(min_length=1, max_length=200, description="the service event: window ticket, call id, …")
    ]
    channel: Channel
    level: StaffRatingLevel
    reasons: list[Annotated[str, Field(max_length=50)]] = Field(default_factory=list, max_length=10)
    comment: Annotated[str, Field(max_length=2000)] | None = None
    anonymous: bool = False
    request_id: Annotated[str, Field(min_length=1, max_length=36)] | None = None


class RectificationBody(Strict):
    outcome: RectificationOutcome
    note: Annotated[str, Field(min_length=1, max_length=2000)]


@router.get("/staff-ratings/reasons")
async def rating_reasons(_: Annotated[Principal, Depends(authorized)]) -> dict[str, Any]:
    """The fixed list of reasons, and the five levels, for the rating forms."""
    return {"levels": list(LEVELS), "reasons": REASONS}


@router.post("/staff-ratings", status_code=201)
async def rate_staff(
    body: StaffRatingBody, uow: Uow, principal: Annotated[Principal, Depends(authorized)]
) -> dict[str, Any]:
    """A person's rating of the staff member who served them (one per service event)."""
    return await staff.rate_staff(uow, principal, body.model_dump())


@router.get("/rectifications")
async def list_rectifications(
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
    open_only: bool = True,
    department: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Rectifications of bad ratings, soonest due first (keyset pages); a department head sees
    their own department's."""
    rows = await staff.list_rectifications(
        uow, principal, open_only=open_only, department=department, limit=limit, cursor=cursor
    )
    return keyset_page(rows, limit, ("due", "id"))


@router.post("/rectifications/{rectification_id}/outcome")
async def decide_rectification(
    rectification_id: str,
    body: RectificationBody,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    return await staff.decide_rectification(uow, principal, rectification_id, body.outcome, body.note)
