"""Followup's HTTP API: feedback, rating, closing."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from services.followup import queries, service, staff
from services.followup.domain.followup import NotSurveyed, score_contradiction
from services.followup.domain.staff_rating import LEVELS, REASONS
from services.followup.schemas import (
    FollowupState,
    RatingAnswer,
    RatingReasons,
    RectificationDecided,
    RectificationPage,
    RevisitPage,
    RevisitRecorded,
    StaffRatingView,
)
from shared.clock import organisation_tz
from shared.errors import Conflict
from shared.events.catalogue import Channel, Rating, RectificationOutcome, StaffRatingLevel
from shared.pagination import MAX_PAGE, keyset_page
from shared.policy import Caller
from shared.runtime import Session, Uow
from shared.types import Day, Instant, Strict

router = APIRouter(prefix="/v1", tags=["followup"])


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


@router.post("/requests/{request_id}/feedback", response_model=FollowupState)
async def give_feedback(
    request_id: str,
    body: FeedbackBody,
    uow: Uow,
    principal: Caller,
) -> dict[str, Any]:
    return await service.give_feedback(uow, principal, request_id, body.message)


@router.post("/requests/{request_id}/rating", response_model=RatingAnswer)
async def rate(
    request_id: str,
    body: RatingBody,
    uow: Uow,
    principal: Caller,
) -> dict[str, Any]:
    try:
        return await service.rate(
            uow, principal, request_id, body.rating, body.score, body.comment, body.reason
        )
    except NotSurveyed as exc:
        raise Conflict("anonymous requests are not surveyed") from exc


@router.post("/requests/{request_id}/close", response_model=FollowupState)
async def close(
    request_id: str,
    body: CloseBody,
    uow: Uow,
    principal: Caller,
) -> dict[str, Any]:
    return await service.close(uow, principal, request_id, body.reason)


class RevisitOutcome(Strict):
    outcome: Literal["solved", "recurred", "unreachable"]
    notes: Annotated[str, Field(max_length=2000)] | None = None


@router.get("/revisits", response_model=RevisitPage)
async def list_revisits(
    _: Caller,
    session: Session,
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
    if due_before is not None and not isinstance(due_before, datetime):
        due_before = datetime.combine(due_before, time(0, 0), organisation_tz())
    return await queries.revisits(session, state, due_before, cursor, limit)


@router.post("/revisits/{revisit_id}/outcome", response_model=RevisitRecorded)
async def record_revisit(
    revisit_id: str,
    body: RevisitOutcome,
    uow: Uow,
    principal: Caller,
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


@router.get("/staff-ratings/reasons", response_model=RatingReasons)
async def rating_reasons(_: Caller) -> dict[str, Any]:
    """The fixed list of reasons, and the five levels, for the rating forms."""
    return {"levels": list(LEVELS), "reasons": REASONS}


@router.post("/staff-ratings", status_code=201, response_model=StaffRatingView)
async def rate_staff(body: StaffRatingBody, uow: Uow, principal: Caller) -> dict[str, Any]:
    """A person's rating of the staff member who served them (one per service event)."""
    return await staff.rate_staff(uow, principal, body.model_dump())


@router.get("/rectifications", response_model=RectificationPage)
async def list_rectifications(
    uow: Uow,
    principal: Caller,
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


@router.post("/rectifications/{rectification_id}/outcome", response_model=RectificationDecided)
async def decide_rectification(
    rectification_id: str,
    body: RectificationBody,
    uow: Uow,
    principal: Caller,
) -> dict[str, Any]:
    return await staff.decide_rectification(uow, principal, rectification_id, body.outcome, body.note)
