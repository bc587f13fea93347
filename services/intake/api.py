"""Intake's HTTP API: parse, authorise and shape the answer; commands are in service.py,
reads in queries.py, what each route takes and answers in schemas.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import Field

from services.intake import knowledge, queries, retention, service
from services.intake.channel_keys import ChannelKeys
from services.intake.domain.submission import Submission
from services.intake.schemas import (
    AnswerBody,
    CatalogEntry,
    CatalogPage,
    CatalogView,
    ChannelKeyCreated,
    ChannelKeyPage,
    ChannelKeyRevoked,
    ChaseAnswer,
    ChaseBody,
    DuplicatesAnswer,
    FullTextAnswer,
    MaterialStored,
    MergeAnswer,
    MergeBody,
    NewChannelKey,
    PersonalDataReadPage,
    Purged,
    ReceiptBody,
    RequesterAnswer,
    RequestPage,
    RequestView,
    StateAnswer,
    SubmitAnswer,
    SupplementBody,
    WhoAmI,
    WithdrawBody,
)
from shared.errors import ApiError
from shared.openapi import json_body
from shared.policy import Caller
from shared.runtime import Session, Settings, Uow, runtime_of
from shared.types import Instant, PositiveInt32

router = APIRouter(prefix="/v1", tags=["intake"])
AuditInstant = Annotated[Instant, Query(description="ISO 8601 with offset")]
MAX_MATERIAL_BYTES = 10 * 1024 * 1024


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body: Any = await request.json()
    except ValueError as exc:
        raise ApiError("body is not valid JSON", status=400, code="invalid_json") from exc
    if not isinstance(body, dict):
        raise ApiError("body must be a JSON object", status=422, code="validation_failed")
    return body


@router.post(
    "/requests",
    status_code=201,
    response_model=SubmitAnswer,
    # A submission sent again (the same Idempotency-Key, or channel and external_id): 200 with
    # the request it made the first time.
    responses={
        200: {"description": "Sent again: the request the first submission made", "model": SubmitAnswer}
    },
    # The service validates the body itself (its 422 names each field and rule, and a
    # submission sent again is compared as sent); the document still says what it takes.
    openapi_extra=json_body(Submission, "the request as the person made it (DESIGN §9)"),
)
async def submit_request(
    request: Request,
    principal: Caller,
    uow: Uow,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    body = await _json_object(request)
    result = await service.submit_request(uow, principal, body, idempotency_key)
    answer = service.submit_view(result.request)
    if answer["category"] == "consultation":
        # 首问责任制: what can be answered on the spot should be; offer the best articles.
        async with runtime_of(request).sessions() as session:
            answer["suggested_articles"] = await knowledge.suggestions(session, result.request["content"])
    return JSONResponse(answer, status_code=201 if result.created else 200)


@router.get("/channel-keys/whoami", response_model=WhoAmI)
async def whoami(principal: Caller) -> dict[str, str]:
    """Which channel an API key belongs to; other services check adapters' keys here."""
    return {"channel": principal.id}


@router.get("/requests/{request_id}", response_model=RequestView)
async def get_request(request_id: str, principal: Caller, session: Session) -> dict[str, Any]:
    return await queries.request(session, principal, request_id)


@router.get("/requests", response_model=RequestPage)
async def list_requests(
    principal: Caller,
    session: Session,
    settings: Settings,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    state: str | None = None,
    channel: str | None = None,
    category: str | None = None,
    first_responder: Annotated[str | None, Query(description="a staff id, or `me`")] = None,
    phone: Annotated[
        str | None,
        Query(max_length=20, description="the caller's phone: their earlier requests (agents, supervisors)"),
    ] = None,
) -> dict[str, Any]:
    return await queries.requests_page(
        session,
        principal,
        limit=limit,
        cursor=cursor,
        filters={
            "state": state,
            "channel": channel,
            "category": category,
            "first_responder_id": first_responder,
        },
        phone=phone,
        settings=settings,
    )


@router.post("/requests/{request_id}/supplements", response_model=SubmitAnswer)
async def supplement(request_id: str, body: SupplementBody, uow: Uow, principal: Caller) -> dict[str, Any]:
    """Add materials to an incomplete one-window request; once complete it goes on to routing."""
    return await service.supplement(uow, principal, request_id, body.model_dump(exclude_none=True))


@router.post("/requests/{request_id}/answer", response_model=StateAnswer)
async def answer(request_id: str, body: AnswerBody, uow: Uow, principal: Caller) -> dict[str, Any]:
    return await service.answer(uow, principal, request_id, body.answer, body.article_id)


@router.post("/requests/{request_id}/merge", response_model=MergeAnswer)
async def merge(request_id: str, body: MergeBody, uow: Uow, principal: Caller) -> dict[str, Any]:
    return await service.merge_into(uow, principal, request_id, body.into_request_id, body.reason)


@router.get("/requests/{request_id}/likely-duplicates", response_model=DuplicatesAnswer)
async def likely_duplicates(
    request_id: str, principal: Caller, session: Session, settings: Settings
) -> dict[str, Any]:
    """Open requests this one most likely repeats (重复诉求): the same person about the same
    thing, or the same matter at the same place, within the configured window."""
    return await queries.duplicates_of(session, principal, request_id, settings)


@router.post("/requests/{request_id}/withdraw", response_model=StateAnswer)
async def withdraw(request_id: str, body: WithdrawBody, uow: Uow, principal: Caller) -> dict[str, Any]:
    return await service.withdraw(uow, principal, request_id, body.reason)


@router.post("/requests/{request_id}/chase", response_model=ChaseAnswer)
async def chase(request_id: str, body: ChaseBody, uow: Uow, principal: Caller) -> dict[str, Any]:
    """催办: the first responder chases a request they own; the lead department's head is
    told, and the chase counts in the department's KPIs."""
    return await service.chase(uow, principal, request_id, body.note)


@router.get("/requests/{request_id}/requester", response_model=RequesterAnswer)
async def requester(
    request_id: str,
    uow: Uow,
    principal: Caller,
    purpose: Annotated[str, Query(min_length=3, max_length=500, description="why the full data is read")],
) -> dict[str, Any]:
    """The requester's full personal data; every read is written to the audit log."""
    return await service.read_requester(uow, principal, request_id, purpose)


@router.get("/requests/{request_id}/text", response_model=FullTextAnswer)
async def full_text(
    request_id: str,
    uow: Uow,
    principal: Caller,
    purpose: Annotated[str, Query(min_length=3, max_length=500, description="why the full text is read")],
) -> dict[str, Any]:
    """The request's title, content, topic and area as the person wrote them (views and
    lists show them masked); every read is written to the audit log."""
    return await service.read_full_text(uow, principal, request_id, purpose)


@router.get("/personal-data-reads", response_model=PersonalDataReadPage)
async def personal_data_reads(
    principal: Caller,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
    request_id: Annotated[str | None, Query(max_length=36)] = None,
    reader_id: Annotated[str | None, Query(max_length=200)] = None,
    since: AuditInstant | None = None,
    until: AuditInstant | None = None,
) -> dict[str, Any]:
    """Who read which request's personal data, when, and for what purpose (the audit log)."""
    return await queries.personal_data_reads(
        session,
        limit=limit,
        cursor=cursor,
        request_id=request_id,
        reader_id=reader_id,
        since=since,
        until=until,
    )


@router.post("/notifications/{notification_id}/receipt", response_model=StateAnswer)
async def receipt(notification_id: str, body: ReceiptBody, uow: Uow, principal: Caller) -> dict[str, Any]:
    return await service.record_receipt(uow, principal, notification_id, body.status)


@router.get("/catalog", response_model=CatalogPage)
async def list_catalog(_: Caller, session: Session) -> dict[str, Any]:
    return await queries.catalog(session)


@router.get("/catalog/{code}", response_model=CatalogView)
async def get_catalog(
    code: str, _: Caller, session: Session, version: PositiveInt32 | None = None
) -> dict[str, Any]:
    return await queries.catalog_entry(session, code, version)


@router.put("/catalog/{code}", response_model=CatalogView)
async def put_catalog(
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")],
    body: CatalogEntry,
    _: Caller,
    session: Session,
) -> dict[str, Any]:
    """Every edit is a new version; requests keep the version they were checked against."""
    return await service.put_catalog_entry(session, code, body.model_dump())


@router.post("/materials", status_code=201, response_model=MaterialStored)
async def upload_material(
    principal: Caller,
    session: Session,
    file: Annotated[UploadFile, File()],
    sha256: Annotated[str | None, Form(pattern=r"^[0-9a-f]{64}$")] = None,
) -> dict[str, Any]:
    """Material bytes, stored by their sha256; a hash sent along must match the bytes."""
    content = await file.read(MAX_MATERIAL_BYTES + 1)
    if len(content) > MAX_MATERIAL_BYTES:
        raise ApiError(f"material is over {MAX_MATERIAL_BYTES} bytes", status=413, code="payload_too_large")
    media_type = file.content_type or "application/octet-stream"
    return await service.store_material(session, principal, content, media_type, sha256)


@router.post("/channel-keys", status_code=201, response_model=ChannelKeyCreated)
async def create_channel_key(body: NewChannelKey, _: Caller, session: Session) -> dict[str, Any]:
    """A new key for a channel adapter; shown once, stored only as a hash. Rotate by
    creating a new key, switching the adapter, then revoking the old one."""
    return await service.create_channel_key(session, body.channel, body.label)


@router.get("/channel-keys", response_model=ChannelKeyPage)
async def list_channel_keys(_: Caller, session: Session) -> dict[str, Any]:
    return await queries.channel_keys(session)


@router.delete("/channel-keys/{key_id}", response_model=ChannelKeyRevoked)
async def revoke_channel_key(key_id: str, request: Request, _: Caller, session: Session) -> dict[str, Any]:
    revoked = await service.revoke_channel_key(session, key_id)
    keys = getattr(request.app.state, "api_key_lookup", None)
    if isinstance(keys, ChannelKeys):
        keys.forget()  # revoked here: refused here at once
    return revoked


@router.post("/retention/purge", response_model=Purged)
async def purge_now(request: Request, _: Caller) -> dict[str, Any]:
    """Anonymise now what the hourly retention job would (requests closed past the retention period)."""
    return {"purged": await retention.purge(runtime_of(request))}
