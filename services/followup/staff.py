"""Staff evaluation commands (followup): record a rating of the staff member who served the
person; a bad one opens a rectification for the member's head, due in working days; the
head records the outcome and the person is told. Events: staff.rated and
staff.rectification_decided (the KPI service counts them per staff member)."""

from __future__ import annotations

import uuid
from typing import Any

from services.followup import store
from services.followup.domain.staff_rating import (
    OUTCOME_TEXT,
    counts_against_staff,
    decided_on_time,
    is_bad,
    unknown_reasons,
)
from services.followup.routing_client import DirectoryUnavailable, staff_member, working_days_after
from shared.auth import Principal
from shared.clock import now
from shared.errors import ApiError, Conflict, Forbidden, NotFound, Unprocessable, field_error
from shared.events.catalogue import NotificationRequested, StaffRated, StaffRectificationDecided
from shared.events.envelope import SYSTEM
from shared.masking import mask_text
from shared.outbox import UnitOfWork


def _subject(rating_id: str, request_id: str | None) -> str:
    """Events are keyed by request; a rating of a service with no request has its own key."""
    return request_id or f"rating-{rating_id}"


async def rate_staff(uow: UnitOfWork, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    unknown = unknown_reasons(body["reasons"])
    if unknown:
        raise Unprocessable(
            f"unknown reasons: {', '.join(unknown)}",
            fields=[
                field_error("reasons", "known_reason", "pick reasons from GET /v1/staff-ratings/reasons")
            ],
        )
    if principal.kind == "staff" and principal.id == body["staff_id"]:
        raise Forbidden("staff members do not record ratings of themselves")
    if principal.kind == "channel" and principal.id != body["channel"]:
        raise Forbidden(f"this API key belongs to channel {principal.id}, not {body['channel']}")
    if principal.kind == "channel" and body.get("request_id"):
        # A channel rates the service of requests that came in through it, no others.
        followed = await store.find(uow.session, body["request_id"])
        if followed is not None and followed.channel != principal.id:
            raise NotFound(f"no request {body['request_id']}")
    try:
        member = await staff_member(uow.settings, body["staff_id"])
    except DirectoryUnavailable as exc:
        raise ApiError(
            "the staff directory is not reachable; try again", status=503, code="unavailable"
        ) from exc
    if member is None or not member.get("department"):
        raise Unprocessable(
            f"no staff member {body['staff_id']} with a department",
            fields=[field_error("staff_id", "known_staff", "must be a staff member in the directory")],
        )
    if await store.staff_rating_of_service(uow.session, body["service_ref"]) is not None:
        raise Conflict(f"service {body['service_ref']} was rated already (one rating per service event)")

    rating_id = str(uuid.uuid4())
    rated_at = now()
    department = str(member["department"])
    # Asked of routing's calendar before the rating's row is written (and locked).
    due = (
        await working_days_after(uow.settings, rated_at, uow.settings.rectification_working_days)
        if is_bad(body["level"])
        else None
    )
    row = {
        "id": rating_id,
        "service_ref": body["service_ref"],
        "staff_id": body["staff_id"],
        "department": department,
        "channel": body["channel"],
        "level": body["level"],
        "reasons": body["reasons"],
        "comment": mask_text(body["comment"]) if body.get("comment") else None,
        "anonymous": body["anonymous"],
        "request_id": body.get("request_id"),
        "rated_by": principal.id,
        "rated_at": rated_at,
    }
    if not await store.add_staff_rating(uow.session, row):  # two identical submissions raced
        raise Conflict(f"service {body['service_ref']} was rated already")
    subject = _subject(rating_id, row["request_id"])
    if due is not None:
        await store.add_rectification(
            uow.session,
            {
                "id": str(uuid.uuid4()),
                "rating_id": rating_id,
                "staff_id": row["staff_id"],
                "department": department,
                "due": due,
            },
        )
    rated = uow.emit(
        StaffRated(
            rating_id=rating_id,
            staff_id=row["staff_id"],
            department=department,
            channel=body["channel"],
            level=body["level"],
            reasons=body["reasons"],
            bad=due is not None,
            service_ref=body["service_ref"],
            rated_at=rated_at,
            rectification_due=due,
        ),
        request_id=subject,
        actor=principal.actor,
    )
    if due is not None and row["request_id"]:
        uow.emit(
            NotificationRequested(
                template="rectification_assigned",
                params={"staff_id": row["staff_id"], "level": body["level"], "due": due.isoformat()},
                audience=["department_head"],
                department=department,
            ),
            request_id=subject,
            actor=SYSTEM,
            cause=rated,
        )
    await uow.commit()
    return {**_rating_view(row), "rectification_due": due}


def _rating_view(row: Any) -> dict[str, Any]:
    keys = (
        "id",
        "service_ref",
        "staff_id",
        "department",
        "channel",
        "level",
        "reasons",
        "anonymous",
        "request_id",
    )
    return {k: row[k] for k in keys} | {"rated_at": row["rated_at"]}


async def decide_rectification(
    uow: UnitOfWork, principal: Principal, rectification_id: str, outcome: str, note: str
) -> dict[str, Any]:
    note = mask_text(note)
    task = await store.get_rectification(uow.session, rectification_id, for_update=True)
    if task is None or not principal.sees(task["department"]):
        raise NotFound(f"no rectification {rectification_id}")
    if task["outcome"] is not None:
        raise Conflict("this rectification was decided already", current_state=task["outcome"])
    rating = await store.get_staff_rating(uow.session, task["rating_id"])
    assert rating is not None  # a rectification is made with its rating
    decided_at = now()
    await store.decide_rectification(
        uow.session,
        rectification_id,
        {"outcome": outcome, "note": note, "decided_by": principal.id, "decided_at": decided_at},
    )
    subject = _subject(rating["id"], rating["request_id"])
    decided = uow.emit(
        StaffRectificationDecided(
            rating_id=rating["id"],
            staff_id=task["staff_id"],
            department=task["department"],
            outcome=outcome,  # type: ignore[arg-type]
            counts_against_staff=counts_against_staff(outcome),
            on_time=decided_on_time(task["due"], decided_at),
        ),
        request_id=subject,
        actor=principal.actor,
    )
    told = bool(rating["request_id"]) and not rating["anonymous"]
    if told:  # the person is told what came of it (回访)
        uow.emit(
            NotificationRequested(
                template="rectification_result",
                params={"outcome": outcome, "outcome_text": OUTCOME_TEXT[outcome]},
                audience=["requester"],
            ),
            request_id=subject,
            actor=SYSTEM,
            cause=decided,
        )
    await uow.commit()
    return {
        "id": rectification_id,
        "rating_id": rating["id"],
        "outcome": outcome,
        "decided_at": decided_at,
        "on_time": decided_on_time(task["due"], decided_at),
        "person_told": told,
    }


async def list_rectifications(
    uow: UnitOfWork,
    principal: Principal,
    *,
    open_only: bool,
    department: str | None,
    limit: int = 100,
    cursor: str | None = None,
) -> list[dict[str, Any]]:
    if principal.scoped_to:
        department = principal.scoped_to
    moment = now()
    return [
        {**row, "overdue": row["outcome"] is None and row["due"] < moment}
        for row in await store.rectifications_page(uow.session, department, open_only, cursor, limit)
    ]
