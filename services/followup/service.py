"""Followup's commands and reactions: feedback with the survey invitation, ratings and the
no-response timeout, reopening (up to a limit), return visits and closing."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.followup import store
from services.followup.domain.followup import Followup, FollowupPolicy, needs_revisit
from services.followup.routing_client import (
    DirectoryUnavailable,
    active_supervisors,
    no_earlier_than,
    working_days_after,
)
from shared.auth import Principal
from shared.background import run_every
from shared.clock import now
from shared.errors import Conflict, NotFound
from shared.events.catalogue import (
    EventData,
    NotificationRequested,
    Rating,
    RequestAnsweredAtIntake,
    RequestDueChanged,
    RequestDueRecomputed,
    RequestMerged,
    RequestMergeReleased,
    RequestReceived,
    RequestResolved,
    RequestRevisitScheduled,
    RequestRouted,
    RequestWithdrawn,
)
from shared.events.envelope import SYSTEM, Actor, Envelope
from shared.lifecycle import State, follow
from shared.masking import mask_text
from shared.outbox import UnitOfWork
from shared.runtime import ServiceRuntime
from shared.settings import Settings

log = logging.getLogger(__name__)


def policy(s: Settings) -> FollowupPolicy:
    return FollowupPolicy(
        max_reopens=s.max_reopens,
        survey_working_days=s.survey_working_days,
        revisit_working_days=s.revisit_working_days,
        revisit_sample_rate=s.revisit_sample_rate,
        sample_seed=s.revisit_sample_seed,
    )


@dataclass(frozen=True)
class Asked:
    """Routing's answers a command needs, asked before any row is locked: a locked row must
    not wait on another service (a slow or unreachable routing would hold the lock and every
    event of that request behind it)."""

    at: datetime
    survey_due: datetime | None = None
    revisit_due: datetime | None = None
    supervisors: tuple[str, ...] | None = None  # None: not asked, or the directory unreachable


async def ask_routing(
    settings: Settings, *, survey: bool = False, revisit: bool = False, supervisors: bool = False
) -> Asked:
    at = now()
    rules = policy(settings)
    named: tuple[str, ...] | None = None
    if supervisors:
        try:
            named = tuple(await active_supervisors(settings))
        except DirectoryUnavailable as exc:
            # The rating stands; the message goes to the supervisors' shared inbox meanwhile.
            log.warning(
                "staff directory unreachable (%s): reopen-limit notice without named supervisors", exc
            )
    return Asked(
        at=at,
        survey_due=await working_days_after(settings, at, rules.survey_working_days) if survey else None,
        revisit_due=await working_days_after(settings, at, rules.revisit_working_days) if revisit else None,
        supervisors=named,
    )


async def track_received(uow: UnitOfWork, envelope: Envelope, data: RequestReceived) -> None:
    await store.track(
        uow.session,
        request_id=envelope.request_id,
        state=State.RECEIVED.value,
        channel=data.channel,
        anonymous=data.anonymous,
        category=data.category,
        reopen_count=0,
    )


async def track_lifecycle(uow: UnitOfWork, envelope: Envelope, data: EventData) -> None:
    """Any step of the lifecycle another service decided: the followup's state follows."""
    current = await store.find(uow.session, envelope.request_id, for_update=True)
    if current is None:
        log.warning("event %s for unknown request %s", envelope.type, envelope.request_id)
        return
    state = follow(current.state, type(data))
    if state is None:
        log.warning("request %s: %s does not fit state %s", envelope.request_id, envelope.type, current.state)
        return
    extra: dict[str, Any] = {}
    updated = current.following(state)
    if isinstance(data, RequestRouted):  # routed or rerouted
        extra = {"feedback_due": data.due.feedback}
        updated = current.following(state, lead_department=data.lead_department)
    elif isinstance(data, RequestResolved):
        extra = {"resolved_at": envelope.occurred_at, "outcome": data.outcome, "reply": data.reply}
    await store.save(uow.session, updated, **extra)


async def due_changed(uow: UnitOfWork, envelope: Envelope, data: RequestDueChanged) -> None:
    """The resolve due moved (an extension, a pause): feedback is due later with it."""
    current = await store.find(uow.session, envelope.request_id, for_update=True)
    if current is None or data.due.feedback is None or current.lead_department != data.department:
        return
    await store.save(uow.session, current, feedback_due=data.due.feedback)


async def feedback_at_once(uow: UnitOfWork, envelope: Envelope, data: RequestAnsweredAtIntake) -> None:
    """Answered on the spot: the answer is the feedback, given at once (first-contact resolution)."""
    asked = await ask_routing(uow.settings, survey=True)  # before the row is locked
    await track_lifecycle(uow, envelope, data)
    followup = await store.find(uow.session, envelope.request_id, for_update=True)
    if followup is None or followup.state != State.ANSWERED_AT_INTAKE:
        return
    await store.save(uow.session, followup, resolved_at=envelope.occurred_at, outcome="resolved")
    await _feedback(uow, followup, envelope.actor, data.agent_id, data.answer, asked, cause=envelope)


async def _load(uow: UnitOfWork, request_id: str) -> Followup:
    followup = await store.find(uow.session, request_id, for_update=True)
    if followup is None:
        raise NotFound(f"no request {request_id}")
    return followup


async def _feedback(
    uow: UnitOfWork,
    followup: Followup,
    actor: Actor,
    by: str,
    message: str | None,
    asked: Asked,
    cause: Envelope | None = None,
) -> Followup:
    updated, event = followup.give_feedback(by=by)
    # Given when routing was asked the survey's deadline, so the deadline counts from it.
    given = uow.emit(event, request_id=followup.request_id, actor=actor, cause=cause, occurred_at=asked.at)
    audience: list[Any] = ["first_responder"] if followup.anonymous else ["requester", "first_responder"]
    uow.emit(
        NotificationRequested(
            template="result_feedback",
            params={"message": followup.feedback_text(message)},
            audience=audience,
            department=followup.lead_department,
        ),
        request_id=followup.request_id,
        actor=actor,
        cause=given,
    )
    survey_due = None
    if not followup.anonymous:
        # The survey invitation goes out with the feedback; no answer by the deadline is no_response.
        uow.emit(
            NotificationRequested(template="satisfaction_survey", params={}, audience=["requester"]),
            request_id=followup.request_id,
            actor=SYSTEM,
            cause=given,
        )
        survey_due = asked.survey_due or no_earlier_than(
            given.occurred_at, policy(uow.settings).survey_working_days
        )
    await store.save(uow.session, updated, feedback_at=given.occurred_at, survey_due=survey_due)
    return updated


def _check_channel(principal: Principal, followup: Followup) -> None:
    """A channel acts only on requests that came in through it (another's does not exist)."""
    if principal.kind == "channel" and principal.id != followup.channel:
        raise NotFound(f"no request {followup.request_id}")


async def give_feedback(
    uow: UnitOfWork, principal: Principal, request_id: str, message: str | None
) -> dict[str, Any]:
    asked = await ask_routing(uow.settings, survey=True)  # before the row is locked
    followup = await _load(uow, request_id)
    _check_channel(principal, followup)
    if not principal.sees(followup.lead_department):
        raise NotFound(f"no request {request_id} in your department")
    message = mask_text(message) if message else message  # free text: masked (shared.masking)
    updated = await _feedback(uow, followup, principal.actor, principal.id, message, asked)
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
    comment, reason = (mask_text(t) if t else t for t in (comment, reason))
    rules = policy(uow.settings)
    # What routing must answer, worked out on the row as it is now and asked before locking it.
    preview = await store.find(uow.session, request_id)
    if preview is None:
        raise NotFound(f"no request {request_id}")
    _check_channel(principal, preview)
    rated, foreseen = preview.rate(rating, score, comment, reason, rules)
    asked = await ask_routing(
        uow.settings,
        revisit=_revisit_reason(rated, rules) is not None,
        supervisors=any(_for_supervisors(e) for e in foreseen),
    )
    followup = await _load(uow, request_id)
    _check_channel(principal, followup)
    updated, events = followup.rate(rating, score, comment, reason, rules)
    events = [_with_recipients(asked, e) for e in events]
    await store.save(uow.session, updated, score=score, comment=comment)
    last = None
    for event in events:
        last = uow.emit(event, request_id=request_id, actor=principal.actor)
    updated = await _after_rating(uow, updated, last, asked)
    await uow.commit()
    return {"request_id": request_id, "state": updated.state.value, "reopen_count": updated.reopen_count}


def _for_supervisors(event: Any) -> bool:
    return (
        isinstance(event, NotificationRequested) and not event.recipients and "supervisors" in event.audience
    )


def _with_recipients(asked: Asked, event: Any) -> Any:
    """A notification for the supervisors (the reopen limit) names who they are."""
    if not _for_supervisors(event) or asked.supervisors is None:
        return event
    return event.model_copy(update={"recipients": list(asked.supervisors)})


def _revisit_reason(followup: Followup, rules: FollowupPolicy) -> str | None:
    """Why the policy asks for a return visit after this rating, if it does."""
    if followup.state != State.RATED or not needs_revisit(
        followup.category, followup.rating, followup.request_id, rules, owed=followup.revisit_owed
    ):
        return None
    if followup.category == "complaint":
        return "complaint"
    return "unsatisfied" if followup.rating == "unsatisfied" or followup.revisit_owed else "sampled"


async def _after_rating(
    uow: UnitOfWork, followup: Followup, cause: Envelope | None, asked: Asked
) -> Followup:
    """A return visit where the policy asks for one; otherwise close when nothing is left."""
    reason = _revisit_reason(followup, policy(uow.settings))
    if reason is not None:
        await _schedule_revisit(uow, followup, reason, cause, asked)
        if followup.revisit_owed:
            followup = followup.revisit_scheduled()
            await store.save(uow.session, followup)
        return followup
    if followup.can_close_by_itself(
        revisit_pending=await store.revisit_pending(uow.session, followup.request_id)
    ):
        return await _close(uow, followup, f"rated {followup.rating}", SYSTEM, cause)
    return followup


async def _schedule_revisit(
    uow: UnitOfWork, followup: Followup, reason: str, cause: Envelope | None, asked: Asked
) -> None:
    # Not foreseen when routing was asked (the row changed in between): never earlier than due.
    due = asked.revisit_due or no_earlier_than(asked.at, policy(uow.settings).revisit_working_days)
    revisit_id = str(uuid.uuid4())
    await store.add_revisit(
        uow.session, id=revisit_id, request_id=followup.request_id, due=due, reason=reason, state="scheduled"
    )
    uow.emit(
        RequestRevisitScheduled(revisit_id=revisit_id, due=due),
        request_id=followup.request_id,
        actor=SYSTEM,
        cause=cause,
    )


async def _close(
    uow: UnitOfWork,
    followup: Followup,
    reason: str,
    actor: Actor,
    cause: Envelope | None = None,
    *,
    with_duplicates: bool = True,
) -> Followup:
    updated, event = followup.close(reason)
    await store.save(uow.session, updated, closed_at=now())
    closed = uow.emit(event, request_id=followup.request_id, actor=actor, cause=cause)
    if not with_duplicates:
        return updated
    # Requests merged into this one close with it (its handling was theirs).
    for duplicate_id in await store.merged_into(uow.session, followup.request_id):
        duplicate = await store.find(uow.session, duplicate_id, for_update=True)
        if duplicate is not None:
            done, event = duplicate.close(f"closed with {followup.request_id}")
            await store.save(uow.session, done, closed_at=now())
            uow.emit(event, request_id=duplicate_id, actor=SYSTEM, cause=closed)
    return updated


async def on_withdrawn(uow: UnitOfWork, envelope: Envelope, data: RequestWithdrawn) -> None:
    """Withdrawn by the person: closed at once."""
    await track_lifecycle(uow, envelope, data)
    followup = await store.find(uow.session, envelope.request_id, for_update=True)
    if followup is not None and followup.state == State.WITHDRAWN:
        # Only this person's request: those merged into it are handed back by intake.
        await _close(uow, followup, f"withdrawn: {data.reason}", SYSTEM, envelope, with_duplicates=False)


async def on_due_recomputed(uow: UnitOfWork, envelope: Envelope, data: RequestDueRecomputed) -> None:
    """The calendar changed: the feedback due time is the recomputed one."""
    if data.due.feedback is not None:
        await store.set_feedback_due_unless_given(uow.session, envelope.request_id, data.due.feedback)


async def on_merge_released(uow: UnitOfWork, envelope: Envelope, data: RequestMergeReleased) -> None:
    """Its primary was withdrawn or answered at intake: followed on its own again."""
    await track_lifecycle(uow, envelope, data)
    await store.unmerge(uow.session, envelope.request_id)


async def on_merged(uow: UnitOfWork, envelope: Envelope, data: RequestMerged) -> None:
    """Merged into another request: it closes when that one does (at once if it already has)."""
    await track_lifecycle(uow, envelope, data)
    followup = await store.find(uow.session, envelope.request_id, for_update=True)
    if followup is None or followup.state != State.MERGED:
        return
    await store.save(uow.session, followup, merged_into=data.into_request_id)
    primary = await store.find(uow.session, data.into_request_id)
    if primary is not None and primary.state == State.CLOSED:
        await _close(uow, followup, f"closed with {data.into_request_id}", SYSTEM, envelope)


async def record_revisit(
    uow: UnitOfWork, principal: Principal, revisit_id: str, outcome: str, notes: str | None
) -> dict[str, Any]:
    notes = mask_text(notes) if notes else notes
    row = await store.get_revisit(uow.session, revisit_id, for_update=True)
    if row is None:
        raise NotFound(f"no revisit {revisit_id}")
    if row["state"] != "scheduled":
        raise Conflict(f"revisit {revisit_id} was recorded already")
    followup = await _load(uow, row["request_id"])
    updated, events = followup.revisited(revisit_id, outcome, notes, policy(uow.settings))
    await store.record_revisit(
        uow.session,
        revisit_id,
        state="done",
        outcome=outcome,
        notes=notes,
        visited_by=principal.id,
        visited_at=now(),
    )
    await store.save(uow.session, updated)
    last = None
    for event in events:
        last = uow.emit(event, request_id=followup.request_id, actor=principal.actor)
    if updated.can_close_by_itself(
        revisit_pending=await store.revisit_pending(uow.session, followup.request_id)
    ):
        updated = await _close(uow, updated, f"return visit: {outcome}", SYSTEM, last)
    await uow.commit()
    return {
        "id": revisit_id,
        "request_id": followup.request_id,
        "outcome": outcome,
        "state": updated.state.value,
    }


async def close(uow: UnitOfWork, principal: Principal, request_id: str, reason: str) -> dict[str, Any]:
    followup = await _load(uow, request_id)
    updated = await _close(uow, followup, mask_text(reason), principal.actor)
    await uow.commit()
    return {"request_id": request_id, "state": updated.state.value}


async def expire_surveys(new_uow: Callable[[], UnitOfWork], at: datetime | None = None) -> int:
    """Surveys unanswered by their deadline are recorded as no_response (once)."""
    moment = at or now()
    async with new_uow() as uow:
        asked = await ask_routing(uow.settings, revisit=True)  # before any row is locked
        ids = await store.unrated_surveys(uow.session, moment, limit=500)
        for request_id in ids:
            followup = await store.find(uow.session, request_id)
            assert followup is not None
            updated, event = followup.no_response()
            await store.save(uow.session, updated)
            rated = uow.emit(event, request_id=request_id, actor=SYSTEM)
            await _after_rating(uow, updated, rated, asked)
        await uow.commit()
    return len(ids)


async def survey_timeouts(runtime: ServiceRuntime) -> None:
    """Background job of the followup service: surveys nobody answered in time, every
    FOLLOWUP_SWEEP_SECONDS."""
    await run_every(
        runtime.settings.followup_sweep_seconds,
        lambda: expire_surveys(runtime.uow),
        log=log,
        failure="survey sweep failed; retrying",
    )
