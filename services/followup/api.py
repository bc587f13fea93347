"""Followup's HTTP API: feedback, rating, closing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from services.followup import service
from services.followup.domain.followup import NotSurveyed
from shared.auth import Principal, require
from shared.errors import Conflict
from shared.events.catalogue import Rating
from shared.outbox import UnitOfWork
from shared.runtime import unit_of_work

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
    principal: Annotated[Principal, Depends(require("handler", "dept_head", "agent"))],
) -> dict[str, Any]:
    return await service.give_feedback(uow, principal, request_id, body.message)


@router.post("/requests/{request_id}/rating")
async def rate(
    request_id: str,
    body: RatingBody,
    uow: Uow,
    principal: Annotated[Principal, Depends(require("channel", "agent"))],
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
    principal: Annotated[Principal, Depends(require("agent", "supervisor", "admin"))],
) -> dict[str, Any]:
    return await service.close(uow, principal, request_id, body.reason)
