"""What followup's routes answer, declared for the OpenAPI document (and checked on the way
out by FastAPI's response models). Times the service answers as datetimes are `Moment`s, so
they read as they did before the models (shared.answers)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.answers import Moment


class FollowupState(BaseModel):
    request_id: str
    state: str


class RatingAnswer(FollowupState):
    reopen_count: int = Field(description="how often the request was reopened by an unsatisfied rating")


class RevisitView(BaseModel):
    id: str
    request_id: str
    due: str
    reason: str = Field(description="`complaint`, `unsatisfied` or `sampled`")
    state: str = Field(description="`scheduled` or `done`")
    outcome: str | None
    notes: str | None
    visited_by: str | None
    visited_at: str | None
    scheduled_at: str


class RevisitPage(BaseModel):
    items: list[RevisitView]
    next_cursor: str | None


class RevisitRecorded(BaseModel):
    id: str
    request_id: str
    outcome: str
    state: str


class RatingReasons(BaseModel):
    levels: list[str]
    reasons: dict[str, str] = Field(description="each reason's code and its label for the forms")


class StaffRatingView(BaseModel):
    id: str
    service_ref: str
    staff_id: str
    department: str
    channel: str
    level: str
    reasons: list[str]
    anonymous: bool
    request_id: str | None
    rated_at: Moment
    rectification_due: Moment | None = Field(description="for a bad rating: when the rectification is due")


class RectificationView(BaseModel):
    id: str
    rating_id: str
    staff_id: str
    department: str
    due: Moment
    outcome: str | None = Field(description="`rectified`, `explained` or `disputed`; none while open")
    note: str | None
    decided_by: str | None
    decided_at: Moment | None
    created_at: Moment
    overdue: bool


class RectificationPage(BaseModel):
    items: list[RectificationView]
    next_cursor: str | None


class RectificationDecided(BaseModel):
    id: str
    rating_id: str
    outcome: str
    decided_at: Moment
    on_time: bool
    person_told: bool
