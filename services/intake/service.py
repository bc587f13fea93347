"""Intake's commands: each changes state and raises its events in one unit of work."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from services.intake import store
from services.intake.domain.classification import Classifier
from services.intake.domain.submission import (
    Submission,
    contact_masked,
    mask_contacts_in_text,
    requester_identity,
)
from shared.auth import Principal
from shared.clock import now
from shared.errors import Forbidden, Unprocessable, validation_fields
from shared.events.catalogue import FirstResponder, RequestReceived
from shared.lifecycle import State
from shared.outbox import UnitOfWork
from shared.settings import get_settings

CLASSIFIER = Classifier.default()


@dataclass(frozen=True)
class SubmitResult:
    created: bool
    request: dict[str, Any]


def requester_ref(identity: str | None) -> str | None:
    """A stable pseudonym for the person: lets others count repeats without personal data."""
    if identity is None:
        return None
    digest = hmac.new(get_settings().jwt_secret.encode(), identity.encode(), hashlib.sha256).hexdigest()
    return "rq_" + digest[:24]


def submit_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "state": row["state"],
        "category": row["category"],
        "urgency": row["urgency"],
        "missing_materials": [],
        "first_responder": {"kind": row["first_responder_kind"], "id": row["first_responder_id"]},
    }


async def submit_request(
    uow: UnitOfWork, principal: Principal, body: dict[str, Any], idempotency_key: str | None
) -> SubmitResult:
    try:
        submission = Submission.model_validate(body, context={"now": now()})
    except ValidationError as exc:
        fields = validation_fields(exc.errors())
        names = ", ".join(sorted({f["field"] for f in fields}))
        raise Unprocessable(f"invalid fields: {names}", fields=fields) from exc
    if principal.kind == "channel" and principal.id != submission.channel:
        raise Forbidden(f"this API key belongs to channel {principal.id}, not {submission.channel}")

    existing = await store.find_duplicate_submit(
        uow.session, submission.channel, submission.external_id, idempotency_key
    )
    if existing:
        return SubmitResult(created=False, request=existing)

    received_at = now()
    classification = CLASSIFIER.classify(
        f"{submission.title or ''} {submission.content}", submission.category, submission.urgency
    )
    first_responder = FirstResponder(kind=principal.kind, id=principal.id)
    requester = submission.requester.model_dump(exclude_none=True) if submission.requester else None
    ref = requester_ref(requester_identity(submission.requester))
    masked = contact_masked(submission.requester)
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "state": State.RECEIVED.value,
        "channel": submission.channel,
        "external_id": submission.external_id,
        "idempotency_key": idempotency_key,
        "content": submission.content,
        "title": submission.title,
        "category": classification.category,
        "urgency": classification.urgency,
        "classification_rules": list(classification.rules),
        "topic": submission.topic,
        "area": submission.area,
        "location": submission.location.model_dump() if submission.location else None,
        "business_type": submission.business_type,
        "materials": [m.model_dump(exclude_none=True) for m in submission.materials],
        "requester": None if submission.anonymous else requester,
        "requester_ref": None if submission.anonymous else ref,
        "contact_masked": None if submission.anonymous else masked,
        "anonymous": submission.anonymous,
        "first_responder_kind": first_responder.kind,
        "first_responder_id": first_responder.id,
        "submitted_at": submission.submitted_at or received_at,
        "received_at": received_at,
    }
    try:
        await uow.session.execute(insert(store.requests).values(**row))
    except IntegrityError:
        # Two identical submits raced: the other one won; answer with its request.
        await uow.session.rollback()
        existing = await store.find_duplicate_submit(
            uow.session, submission.channel, submission.external_id, idempotency_key
        )
        if existing is None:
            raise
        return SubmitResult(created=False, request=existing)
    uow.emit(
        RequestReceived(
            channel=submission.channel,
            category=classification.category,  # type: ignore[arg-type]
            urgency=classification.urgency,  # type: ignore[arg-type]
            topic=submission.topic,
            area=submission.area,
            business_type=submission.business_type,
            requester_ref=row["requester_ref"],
            contact_masked=row["contact_masked"],
            first_responder=first_responder,
            submitted_at=row["submitted_at"],
            anonymous=submission.anonymous,
            classification_rule=",".join(classification.rules) or None,
            title=mask_contacts_in_text(submission.title) if submission.title else None,
            content=mask_contacts_in_text(submission.content),
        ),
        request_id=row["id"],
        actor=principal.actor,
        occurred_at=received_at,
    )
    await uow.commit()
    return SubmitResult(created=True, request=row)


def public_view(row: dict[str, Any]) -> dict[str, Any]:
    """A request as staff see it: contact data masked, no personal data."""
    return {
        "id": row["id"],
        "state": row["state"],
        "channel": row["channel"],
        "external_id": row["external_id"],
        "title": row["title"],
        "content": row["content"],
        "category": row["category"],
        "urgency": row["urgency"],
        "classification_rules": row["classification_rules"],
        "topic": row["topic"],
        "area": row["area"],
        "business_type": row["business_type"],
        "materials": row["materials"],
        "anonymous": row["anonymous"],
        "requester_ref": row["requester_ref"],
        "contact_masked": row["contact_masked"],
        "first_responder": {"kind": row["first_responder_kind"], "id": row["first_responder_id"]},
        "lead_department": row["lead_department"],
        "submitted_at": row["submitted_at"].isoformat(),
        "received_at": row["received_at"].isoformat(),
    }
