"""Intake's commands: each changes state and raises its events in one unit of work."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import knowledge, store
from services.intake.domain.classification import Classifier
from services.intake.domain.materials import RequiredMaterial, check
from services.intake.domain.notifications import render, requester_destination
from services.intake.domain.request import (
    IntakeRequest,
    MergeIntoItself,
    NotFirstResponder,
    NotThisChannels,
    NotWaitingForMaterials,
    PrimaryEnded,
    StillMissing,
    check_merge_target,
)
from services.intake.domain.submission import (
    Material,
    Submission,
    contact_masked,
    normalise_phone,
    requester_identity,
)
from shared.auth import Principal, hash_api_key
from shared.clock import now
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error, validation_fields
from shared.events.catalogue import (
    Audience,
    FirstResponder,
    MissingMaterial,
    NotificationDelivered,
    NotificationOutbound,
    NotificationRequested,
    NotificationSent,
    RequestIncomplete,
    RequestReceived,
)
from shared.events.envelope import SYSTEM, Envelope
from shared.lifecycle import State
from shared.masking import Person, mask_name, mask_text, mask_value
from shared.outbox import UnitOfWork
from shared.settings import Settings

CLASSIFIER = Classifier.default()
PHONE_LOOKUP = ("agent", "supervisor", "admin")  # who may find a person's requests by phone


@dataclass(frozen=True)
class SubmitResult:
    created: bool
    request: dict[str, Any]


def requester_ref(settings: Settings, identity: str | None) -> str | None:
    """A stable pseudonym for the person: lets others count repeats without personal data."""
    if identity is None:
        return None
    # Keyed with its own secret (never the token-signing one): whoever can sign tokens
    # cannot also turn a phone number into the person's pseudonym, and the other way round.
    key = settings.pseudonym_key.get_secret_value().encode()
    digest = hmac.new(key, identity.encode(), hashlib.sha256).hexdigest()
    return "rq_" + digest[:24]


def caller_phone(settings: Settings, phone: str) -> tuple[str, str]:
    """A phone typed by an agent, compacted and checked (422 naming `phone`), with the
    pseudonym it gives when it is the person's identifying value."""
    try:
        compact = normalise_phone(phone)
    except PydanticCustomError as exc:
        raise Unprocessable(
            "invalid fields: phone", fields=[field_error("phone", exc.type, exc.message())]
        ) from exc
    return compact, requester_ref(settings, compact) or ""


def submit_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "state": row["state"],
        "category": row["category"],
        "urgency": row["urgency"],
        "missing_materials": row.get("missing") or [],
        "first_responder": {"kind": row["first_responder_kind"], "id": row["first_responder_id"]},
    }


def _invalid(exc: ValidationError) -> Unprocessable:
    fields = validation_fields(exc.errors())
    names = ", ".join(sorted({f["field"] for f in fields}))
    return Unprocessable(f"invalid fields: {names}", fields=fields)


async def _load(uow: UnitOfWork, request_id: str) -> dict[str, Any]:
    row = await store.get_request(uow.session, request_id, for_update=True)
    if row is None:
        raise NotFound(f"no request {request_id}")
    return row


def _request_of(principal: Principal, row: dict[str, Any]) -> IntakeRequest:
    """The row's aggregate, for a caller that may act on it (another channel's request does
    not exist for a channel)."""
    request = IntakeRequest.from_row(row)
    _check_channel(principal, request)
    return request


async def submit_request(
    uow: UnitOfWork, principal: Principal, body: dict[str, Any], idempotency_key: str | None
) -> SubmitResult:
    try:
        submission = Submission.model_validate(body, context={"now": now()})
    except ValidationError as exc:
        raise _invalid(exc) from exc
    if principal.kind == "channel" and principal.id != submission.channel:
        raise Forbidden(f"this API key belongs to channel {principal.id}, not {submission.channel}")

    catalog_entry = None
    if submission.business_type:
        catalog_entry = await store.latest_catalog_entry(uow.session, submission.business_type)
        if catalog_entry is None:
            raise Unprocessable(
                f"unknown business type {submission.business_type}",
                fields=[field_error("business_type", "known_business_type", "not in the service catalog")],
            )

    received_at = now()
    classification = CLASSIFIER.classify(
        f"{submission.title or ''} {submission.content}",
        submission.category or ("business" if catalog_entry else None),
        submission.urgency,
    )
    materials = [m.model_dump(exclude_none=True) for m in submission.materials]
    problems = (
        check([RequiredMaterial.from_dict(m) for m in catalog_entry["materials"]], materials)
        if catalog_entry
        else []
    )
    first_responder = FirstResponder(kind=principal.kind, id=principal.id)
    requester = submission.requester.model_dump(exclude_none=True) if submission.requester else None
    anonymous = submission.anonymous
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "state": (State.INCOMPLETE if problems else State.RECEIVED).value,
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
        "catalog_version": catalog_entry["version"] if catalog_entry else None,
        "materials": materials,
        "missing": [p.as_dict() for p in problems],
        "paused_from": received_at if problems else None,
        "requester": None if anonymous else requester,
        "requester_ref": None
        if anonymous
        else requester_ref(uow.settings, requester_identity(submission.requester)),
        "contact_masked": None if anonymous else contact_masked(submission.requester),
        "anonymous": anonymous,
        "first_responder_kind": first_responder.kind,
        "first_responder_id": first_responder.id,
        "submitted_at": submission.submitted_at or received_at,
        "received_at": received_at,
    }
    # Insert first, look for the earlier submit only if there is one: a new request (nearly
    # every request) costs no extra query, and two identical submits racing cannot both win.
    if not await store.insert_request(uow.session, row):
        existing = await store.find_duplicate_submit(
            uow.session, submission.channel, submission.external_id, idempotency_key
        )
        if existing is None:
            raise Conflict("this submission conflicts with a stored request")
        _same_submission_or_409(existing, row, idempotency_key)
        return SubmitResult(created=False, request=existing)
    name = submission.requester.name if submission.requester and not anonymous else None
    # Every free text of the request masked once, with what is known of the person.
    masked = masked_texts({**row, "requester": requester})
    received = uow.emit(
        RequestReceived(
            channel=submission.channel,
            category=classification.category,  # type: ignore[arg-type]
            urgency=classification.urgency,  # type: ignore[arg-type]
            topic=masked["topic"],
            area=masked["area"],
            business_type=submission.business_type,
            requester_ref=row["requester_ref"],
            contact_masked=row["contact_masked"],
            first_responder=first_responder,
            submitted_at=row["submitted_at"],
            anonymous=anonymous,
            classification_rule=",".join(classification.rules) or None,
            title=masked["title"],
            content=masked["content"],
            name_masked=mask_name(name) if name else None,
            awaiting_materials=bool(problems),
        ),
        request_id=row["id"],
        actor=principal.actor,
        occurred_at=received_at,
    )
    if problems:
        # 一次性告知: every missing or wrong item, at once, in the answer, the event and a message.
        missing = [MissingMaterial(**p.as_dict()) for p in problems]
        incomplete = uow.emit(
            RequestIncomplete(missing=missing, paused_from=received_at),
            request_id=row["id"],
            actor=SYSTEM,
            cause=received,
        )
        await notify(
            uow, row, "materials_missing", {"missing": _missing_text(problems)}, ["requester"], incomplete
        )
    await uow.commit()
    return SubmitResult(created=True, request=row)


# What makes two submits the same submission (a retry), as stored on the request.
_SAME_SUBMISSION = (
    "channel",
    "content",
    "title",
    "topic",
    "area",
    "location",
    "business_type",
    "requester",
    "anonymous",
)


def _same_submission_or_409(
    existing: dict[str, Any], new: dict[str, Any], idempotency_key: str | None
) -> None:
    """A retry answers the stored request; the same key with other content is a conflict
    (409 naming the key, the request and the fields), never silently dropped."""
    differ = [name for name in _SAME_SUBMISSION if (existing.get(name) or None) != (new.get(name) or None)]
    if not differ:
        return
    if idempotency_key and existing.get("idempotency_key") == idempotency_key:
        key, field = f"Idempotency-Key {idempotency_key}", "Idempotency-Key"
    else:
        key, field = f"external_id {new['external_id']}", "external_id"
    raise Conflict(
        f"{key} was already used for request {existing['id']} with a different body "
        f"({', '.join(differ)} differ); send a new {field} for a new request",
        code="idempotency_conflict",
        fields=[
            field_error(name, "same_as_first_submit", f"differs from request {existing['id']}")
            for name in differ
        ],
    )


def _missing_text(problems: Any) -> str:
    reasons = {"missing": "缺少", "wrong_media_type": "格式不符", "too_large": "文件过大"}
    return "；".join(f"{p.name}（{reasons.get(p.reason, p.reason)}）" for p in problems)


async def supplement(
    uow: UnitOfWork, principal: Principal, request_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    row = await _load(uow, request_id)
    request = _request_of(principal, row)
    try:
        given = [
            Material.model_validate(m).model_dump(exclude_none=True) for m in body.get("materials") or []
        ]
    except ValidationError as exc:
        raise _invalid(exc) from exc
    if not given:
        raise Unprocessable(
            "no materials", fields=[field_error("materials", "min_items", "send at least one")]
        )
    entry = await store.catalog_entry(uow.session, row["business_type"], row["catalog_version"])
    required = [RequiredMaterial.from_dict(m) for m in entry["materials"]] if entry else []
    until = now()
    try:
        updated, outcome = request.supplement(given, required, until)
    except NotWaitingForMaterials as exc:
        raise _not_waiting(exc) from exc
    await store.save_request(uow.session, updated)
    if isinstance(outcome, StillMissing):
        # Still incomplete: the clock stays paused; the answer lists what is still missing.
        missing_text = _missing_text(outcome.problems)
        await _tell(uow, row, "materials_still_missing", {"missing": missing_text}, ["requester"])
        await uow.commit()
        return {**submit_view({**row, "missing": list(updated.missing)}), "state": "incomplete"}
    uow.emit(outcome, request_id=request_id, actor=principal.actor, occurred_at=until)
    await uow.commit()
    return {**submit_view({**row, "missing": []}), "state": updated.state.value}


def _not_waiting(exc: NotWaitingForMaterials) -> Conflict:
    return Conflict(str(exc))


async def _tell(
    uow: UnitOfWork,
    row: dict[str, Any],
    template: str,
    params: dict[str, Any],
    audience: list[Audience],
    cause: Envelope | None = None,
) -> None:
    """Tell people of a step intake itself took: the request for it goes on the lifecycle
    (so the timeline shows it) and is delivered at once (the consumer finds it sent)."""
    requested = uow.emit(
        NotificationRequested(template=template, params=params, audience=audience),
        request_id=row["id"],
        actor=SYSTEM,
        cause=cause,
    )
    await notify(uow, row, template, params, audience, requested)


def _check_channel(principal: Principal, request: IntakeRequest) -> None:
    try:
        request.check_channel(principal.kind, principal.id)
    except NotThisChannels as exc:
        raise NotFound(f"no request {request.id}") from exc  # another channel's does not exist for it


async def answer(
    uow: UnitOfWork, principal: Principal, request_id: str, text: str, article_id: str | None
) -> dict[str, Any]:
    """The agent answered a consultation on the spot: first-contact resolution."""
    if article_id is not None and not await knowledge.live_article(uow.session, article_id):
        raise Unprocessable(
            f"article {article_id} is not a published, valid article",
            fields=[
                field_error("article_id", "published_article", "cite a published, currently valid article")
            ],
        )
    row = await _load(uow, request_id)
    text = mask_text(text, Person.of(row["requester"]))
    updated, event = IntakeRequest.from_row(row).answer_at_intake(text, principal.id, article_id)
    await store.save_request(uow.session, updated)
    answered = uow.emit(event, request_id=request_id, actor=principal.actor)
    await _release_duplicates(uow, row, answered, "answered_at_intake")
    await uow.commit()
    return {"id": request_id, "state": updated.state.value}


async def merge_into(
    uow: UnitOfWork, principal: Principal, request_id: str, into: str, reason: str | None
) -> dict[str, Any]:
    try:
        check_merge_target(request_id, into)
    except MergeIntoItself as exc:
        raise _merge_into_itself() from exc
    row = await _load(uow, request_id)
    primary = await store.get_request(uow.session, into)
    if primary is None:
        raise Unprocessable(
            f"no request {into}", fields=[field_error("into_request_id", "known_request", "no such request")]
        )
    try:
        updated, event = IntakeRequest.from_row(row).merge_into(IntakeRequest.from_row(primary))
    except MergeIntoItself as exc:
        raise _merge_into_itself() from exc
    except PrimaryEnded as exc:
        raise Conflict(str(exc)) from exc
    await store.save_request(uow.session, updated)
    merged = uow.emit(event, request_id=request_id, actor=principal.actor)
    await _tell(uow, row, "request_merged", {"primary_id": into}, ["requester"], merged)
    await uow.commit()
    return {"id": request_id, "state": updated.state.value, "merged_into": into, "reason": reason}


def _merge_into_itself() -> Unprocessable:
    return Unprocessable(
        "a request cannot be merged into itself",
        fields=[field_error("into_request_id", "other_request", "must be another request")],
    )


async def withdraw(uow: UnitOfWork, principal: Principal, request_id: str, reason: str) -> dict[str, Any]:
    row = await _load(uow, request_id)
    request = _request_of(principal, row)
    reason = mask_text(reason, Person.of(row["requester"]))
    updated, event = request.withdraw(reason)
    await store.save_request(uow.session, updated)
    withdrawn = uow.emit(event, request_id=request_id, actor=principal.actor)
    await _tell(uow, row, "request_withdrawn", {"reason": reason}, ["requester"], withdrawn)
    await _release_duplicates(uow, row, withdrawn, "withdrawn")
    await uow.commit()
    return {"id": request_id, "state": updated.state.value}


async def _release_duplicates(uow: UnitOfWork, primary: dict[str, Any], cause: Envelope, how: str) -> None:
    """The primary ended without handling (withdrawn, answered at intake): the requests
    merged into it are other people's and go back to handling. The earliest becomes the
    primary (it is routed afresh), the others are merged into it; each person is told."""
    duplicates = await store.merged_into(
        uow.session, primary["id"], state=State.MERGED.value, for_update=True
    )
    if not duplicates:
        return
    ended = {"withdrawn": ("撤回", "withdrawn"), "answered_at_intake": ("当场答复", "answered at intake")}[
        how
    ]
    params = {"primary_id": primary["id"], "primary_end": ended[0], "primary_end_en": ended[1]}
    first, *others = duplicates
    new_primary, event = IntakeRequest.from_row(first).release_merge()
    await store.save_request(uow.session, new_primary)
    released = uow.emit(event, request_id=first["id"], actor=SYSTEM, cause=cause)
    first_row = {**first, "state": new_primary.state.value}
    await _tell(uow, first_row, "merge_released", params, ["requester"], released)
    for duplicate in others:
        remerged_request, remerge = IntakeRequest.from_row(duplicate).merge_into(new_primary)
        await store.save_request(uow.session, remerged_request)
        remerged = uow.emit(remerge, request_id=duplicate["id"], actor=SYSTEM, cause=released)
        await _tell(uow, duplicate, "merge_released", params, ["requester"], remerged)


async def chase(uow: UnitOfWork, principal: Principal, request_id: str, note: str | None) -> dict[str, Any]:
    """催办 by the first responder: recorded, the lead department's head told (by routing,
    which knows the heads), counted in the KPIs."""
    row = await _load(uow, request_id)
    request = _request_of(principal, row)
    earlier = await store.chase_count(uow.session, request_id)
    try:
        # 409 naming the state if no department has it unresolved.
        event = request.chase_by(principal.kind, principal.id, note, earlier)
    except NotFirstResponder as exc:
        raise Forbidden(f"only the first responder of request {request_id} chases it") from exc
    chased_at = now()
    await store.add_chase(
        uow.session,
        id=str(uuid.uuid4()),
        request_id=request_id,
        department=event.department,
        chased_by=principal.id,
        note=note,
        chased_at=chased_at,
    )
    emitted = uow.emit(event, request_id=request_id, actor=principal.actor, occurred_at=chased_at)
    await uow.commit()
    return {
        "id": request_id,
        "department": event.department,
        "chase_count": event.chase_count,
        "event_id": str(emitted.id),
    }


async def _audited_read(
    uow: UnitOfWork, principal: Principal, request_id: str, purpose: str, what: str
) -> dict[str, Any]:
    row = await store.get_request(uow.session, request_id)
    if row is None or not may_see(principal, row):
        raise NotFound(f"no request {request_id}")
    await store.record_personal_data_read(
        uow.session,
        request_id=request_id,
        reader_id=principal.id,
        reader_role=principal.role,
        purpose=purpose,
        what=what,
        at=now(),
    )
    await uow.commit()
    return row


async def read_requester(
    uow: UnitOfWork, principal: Principal, request_id: str, purpose: str
) -> dict[str, Any]:
    """The full personal data, for roles that need it; every read is audited."""
    row = await _audited_read(uow, principal, request_id, purpose, "requester")
    return {"request_id": request_id, "anonymous": row["anonymous"], "requester": row["requester"]}


def _targets(
    row: dict[str, Any],
    audience: list[Audience],
    department: str | None,
    recipients: list[str],
    by_audience: dict[str, list[str]],
) -> list[tuple[Audience, Any, dict[str, Any], str]]:
    """(audience, channel, destination, recipient) of each message: one per recipient, a
    staff member in two audiences (a head who is also a supervisor) reached once, as the
    first audience named."""
    internal = [a for a in audience if a not in ("requester", "first_responder")]
    targets: list[tuple[Audience, Any, dict[str, Any], str]] = []
    reached: set[str] = set()
    for who in audience:
        if who == "requester":
            found = None if row["anonymous"] else requester_destination(row["channel"], row["requester"])
            if found is not None:
                targets.append((who, found[0], found[1], ""))
        elif who == "first_responder":
            # A channel first responder learns of it through the person's message.
            if row["first_responder_kind"] == "staff" and row["first_responder_id"] not in reached:
                reached.add(row["first_responder_id"])
                staff_id = row["first_responder_id"]
                targets.append((who, "internal", {"staff_id": staff_id}, staff_id))
        else:
            if by_audience:
                staff = by_audience.get(who, [])
            elif who == internal[0]:
                staff = recipients  # one flat list: all of it for the first internal audience
            else:
                continue
            if not staff:
                # Nobody known by name: one message to that audience of the department.
                targets.append((who, "internal", {"audience": who, "department": department}, ""))
            for staff_id in staff:
                if staff_id in reached:
                    continue
                reached.add(staff_id)
                destination = {"staff_id": staff_id, "audience": who, "department": department}
                targets.append((who, "internal", destination, staff_id))
    return targets


async def read_full_text(
    uow: UnitOfWork, principal: Principal, request_id: str, purpose: str
) -> dict[str, Any]:
    """The request's text as the person wrote it (names, numbers and all); audited."""
    row = await _audited_read(uow, principal, request_id, purpose, "text")
    return {
        "request_id": request_id,
        "title": row["title"],
        "content": row["content"],
        "topic": row["topic"],
        "area": row["area"],
        "address": (row["location"] or {}).get("address"),
    }


def masked_texts(row: dict[str, Any]) -> dict[str, str | None]:
    """The request's free texts as staff, events and lists see them (shared.masking)."""
    person = Person.of(row.get("requester"))
    return {
        k: mask_text(row[k], person) if row.get(k) else row.get(k)
        for k in ("title", "content", "topic", "area")
    }


async def notify(
    uow: UnitOfWork,
    row: dict[str, Any],
    template: str,
    params: dict[str, Any],
    audience: list[Audience],
    cause: Envelope,
    *,
    department: str | None = None,
    recipients: list[str] | None = None,
    recipients_by_audience: dict[str, list[str]] | None = None,
) -> int:
    """Join the contact data and the original channel; put one message per recipient on the
    adapters' topic, worded for its audience, and say `notification.sent` on the lifecycle.
    Returns how many."""
    settings = uow.settings
    params = {"request_id": row["id"], "department": department or row.get("lead_department") or "", **params}
    params = mask_value(params, Person.of(row["requester"]))
    sent = 0
    for who, channel, destination, recipient in _targets(
        row, audience, department, recipients or [], recipients_by_audience or {}
    ):
        notification_id = str(uuid.uuid4())
        if not await store.add_notification(
            uow.session,
            id=notification_id,
            request_id=row["id"],
            template=template,
            audience=who,
            channel=channel,
            destination=destination,
            state="sent",
            cause_event_id=str(cause.id),
            recipient=recipient,
        ):
            continue  # this message went out already
        text = render(template, params, audience=who)
        uow.emit(
            NotificationOutbound(
                notification_id=notification_id,
                channel=channel,
                destination=destination,
                template=template,
                language="zh",
                text=text,
            ),
            request_id=row["id"],
            actor=SYSTEM,
            cause=cause,
            topic=settings.notifications_topic,
        )
        uow.emit(
            NotificationSent(
                notification_id=notification_id, channel=channel, template=template, audience=who
            ),
            request_id=row["id"],
            actor=SYSTEM,
            cause=cause,
        )
        sent += 1
    return sent


async def on_notification_requested(uow: UnitOfWork, envelope: Envelope, data: NotificationRequested) -> None:
    row = await store.get_request(uow.session, envelope.request_id)
    if row is None:
        return
    await notify(
        uow,
        row,
        data.template,
        data.params,
        list(data.audience),
        envelope,
        department=data.department,
        recipients=data.recipients,
        recipients_by_audience=data.recipients_by_audience,
    )
    if data.template == "result_feedback":
        # Requests merged into this one follow its result: their people are told too.
        for duplicate in await store.merged_into(uow.session, row["id"]):
            await notify(
                uow,
                duplicate,
                "merged_result",
                {**data.params, "primary_id": row["id"]},
                ["requester"],
                envelope,
            )


async def record_receipt(
    uow: UnitOfWork, principal: Principal, notification_id: str, status: Literal["delivered", "failed"]
) -> dict[str, Any]:
    notification = await store.get_notification(uow.session, notification_id, for_update=True)
    if notification is None or (principal.kind == "channel" and notification["channel"] != principal.id):
        raise NotFound(f"no notification {notification_id}")
    if notification["state"] != "sent":
        return {"id": notification_id, "state": notification["state"]}  # receipts are idempotent
    await store.set_notification_state(uow.session, notification_id, status)
    uow.emit(
        NotificationDelivered(
            notification_id=notification_id, channel=notification["channel"], status=status
        ),
        request_id=notification["request_id"],
        actor=principal.actor,
    )
    await uow.commit()
    return {"id": notification_id, "state": status}


def may_see(principal: Principal, row: dict[str, Any]) -> bool:
    """Channels see their own requests; department staff those their department leads or
    co-handles; the other roles all (the rule is the aggregate's)."""
    return IntakeRequest.from_row(row).may_see(principal)


def public_view(row: dict[str, Any]) -> dict[str, Any]:
    """A request as staff see it: contact data and free text masked, no personal data (the
    text as written is the audited `GET /v1/requests/{id}/text`)."""
    masked = masked_texts(row)
    return {
        "id": row["id"],
        "state": row["state"],
        "channel": row["channel"],
        "external_id": row["external_id"],
        "title": masked["title"],
        "content": masked["content"],
        "category": row["category"],
        "urgency": row["urgency"],
        "classification_rules": row["classification_rules"],
        "topic": masked["topic"],
        "area": masked["area"],
        "business_type": row["business_type"],
        "materials": row["materials"],
        "missing_materials": row["missing"],
        "anonymous": row["anonymous"],
        "requester_ref": row["requester_ref"],
        "contact_masked": row["contact_masked"],
        "first_responder": {"kind": row["first_responder_kind"], "id": row["first_responder_id"]},
        "lead_department": row["lead_department"],
        "merged_into": row["merged_into"],
        "answer": row["answer"],
        "submitted_at": row["submitted_at"].isoformat(),
        "received_at": row["received_at"].isoformat(),
    }


# --- configuration: the service catalog, material bytes, channel adapters' keys ----------


async def put_catalog_entry(session: AsyncSession, code: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Every edit is a new version; requests keep the version they were checked against."""
    row = await store.add_catalog_version(session, code, {**entry, "category": "business"})
    await session.commit()
    return catalog_view(row)


def catalog_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: row[k] for k in ("code", "version", "name", "description", "deadline_class", "materials", "active")
    }


async def store_material(
    session: AsyncSession, principal: Principal, content: bytes, media_type: str, sha256: str | None
) -> dict[str, Any]:
    """Material bytes, stored by their sha256; a hash sent along must match the bytes."""
    digest = hashlib.sha256(content).hexdigest()
    if sha256 is not None and sha256 != digest:
        raise Unprocessable(
            "sha256 does not match the bytes",
            fields=[field_error("sha256", "matches_content", f"the bytes hash to {digest}")],
        )
    await store.store_material(
        session,
        sha256=digest,
        size=len(content),
        media_type=media_type,
        content=content,
        uploaded_by=principal.id,
    )
    await session.commit()
    return {"sha256": digest, "size": len(content), "media_type": media_type}


async def create_channel_key(session: AsyncSession, channel: str, label: str | None) -> dict[str, Any]:
    """A new key for a channel adapter; shown once, stored only as a hash."""
    key = f"sk_{channel}_{secrets.token_urlsafe(24)}"
    key_id = await store.add_channel_key(session, key_hash=hash_api_key(key), channel=channel, label=label)
    await session.commit()
    return {"key_id": key_id, "channel": channel, "api_key": key}


async def revoke_channel_key(session: AsyncSession, key_id: str) -> dict[str, Any]:
    if not await store.revoke_channel_key(session, key_id):
        raise NotFound(f"no key {key_id}")
    await session.commit()
    return {"key_id": key_id, "active": False}
