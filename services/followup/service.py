"""Followup's commands and the projection of the lifecycle it needs to decide them."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.followup import store
from services.followup.domain.followup import Followup
from shared.auth import Principal
from shared.clock import now
from shared.errors import NotFound
from shared.events.catalogue import NotificationRequested, Rating, RequestAnsweredAtIntake, RequestReceived
from shared.events.envelope import Envelope
from shared.lifecycle import State, follow
from shared.outbox import UnitOfWork

log = logging.getLogger(__name__)


async def track_received(uow: UnitOfWork, envelope: Envelope, data: RequestReceived) -> None:
    await uow.session.execute(
        pg_insert(store.followups)
        .values(
            request_id=envelope.request_id,
            state=State.RECEIVED.value,
            channel=data.channel,
            anonymous=data.anonymous,
            category=data.category,
            reopen_count=0,
        )
        .on_conflict_do_nothing()
    )


async def track_lifecycle(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    current = await store.find(uow.session, envelope.request_id, for_update=True)
    if current is None:
        log.warning("event %s for unknown request %s", envelope.type, envelope.request_id)
        return
    state = follow(current.state, envelope.type)
    if state is None:
        log.warning("request %s: %s does not fit state %s", envelope.request_id, envelope.type, current.state)
        return
    extra: dict[str, Any] = {}
    if envelope.type in ("request.routed", "request.rerouted"):
        extra = {"lead_department": data.lead_department, "feedback_due": data.due.feedback}
    elif envelope.type == "request.resolved":
        extra = {"resolved_at": envelope.occurred_at, "outcome": data.outcome}
    elif envelope.type == "request.answered_at_intake":
        extra = {"resolved_at": envelope.occurred_at, "outcome": "resolved"}
    updated = Followup(**{**current.__dict__, "state": state})
    if envelope.type in ("request.routed", "request.rerouted"):
        updated = Followup(**{**updated.__dict__, "lead_department": data.lead_department})
    await store.save(uow.session, updated, **extra)


async def feedback_at_once(uow: UnitOfWork, envelope: Envelope, data: RequestAnsweredAtIntake) -> None:
    """Answered on the spot: the answer is the feedback, given at once (first-contact resolution)."""
    await track_lifecycle(uow, envelope, data)
    followup = await store.find(uow.session, envelope.request_id, for_update=True)
    if followup is None or followup.state != State.ANSWERED_AT_INTAKE:
        return
    updated, event = followup.give_feedback(by=data.agent_id)
    await store.save(uow.session, updated, feedback_at=envelope.occurred_at)
    uow.emit(event, request_id=envelope.request_id, actor=envelope.actor, cause=envelope)
    audience: list[Any] = [] if followup.anonymous else ["requester"]
    if audience:
        uow.emit(
            NotificationRequested(
                template="result_feedback", params={"message": data.answer}, audience=audience
            ),
            request_id=envelope.request_id,
            actor=envelope.actor,
            cause=envelope,
        )


async def _load(uow: UnitOfWork, request_id: str) -> Followup:
    followup = await store.find(uow.session, request_id, for_update=True)
    if followup is None:
        raise NotFound(f"no request {request_id}")
    return followup


async def give_feedback(
    uow: UnitOfWork, principal: Principal, request_id: str, message: str | None
) -> dict[str, Any]:
    followup = await _load(uow, request_id)
    updated, event = followup.give_feedback(by=principal.id)
    await store.save(uow.session, updated, feedback_at=now())
    uow.emit(event, request_id=request_id, actor=principal.actor)
    audience: list[Any] = ["first_responder"] if followup.anonymous else ["requester", "first_responder"]
    uow.emit(
        NotificationRequested(
            template="result_feedback",
            params={"message": message} if message else {},
            audience=audience,
        ),
        request_id=request_id,
        actor=principal.actor,
    )
    await uow.commit()
    return {"request_id": request_id, "state": updated.state.value}


async def rate(
    uow: UnitOfWork,
    principal: Principal,
    request_id: str,
    rating: Rating,
    score: int | None,
    comment: str | None,
    reason: str | None,
) -> dict[str, Any]:
    followup = await _load(uow, request_id)
    updated, events = followup.rate(rating, score, comment, reason)
    await store.save(uow.session, updated, rating=rating, score=score, comment=comment)
    for event in events:
        uow.emit(event, request_id=request_id, actor=principal.actor)
    await uow.commit()
    return {"request_id": request_id, "state": updated.state.value, "reopen_count": updated.reopen_count}


async def close(uow: UnitOfWork, principal: Principal, request_id: str, reason: str) -> dict[str, Any]:
    followup = await _load(uow, request_id)
    updated, event = followup.close(reason)
    await store.save(uow.session, updated, closed_at=now())
    uow.emit(event, request_id=request_id, actor=principal.actor)
    await uow.commit()
    return {"request_id": request_id, "state": updated.state.value}
