"""Intake's HTTP API: thin routes over service.py."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import knowledge, queries, retention, service, store
from services.intake.channel_keys import ChannelKeys
from shared.auth import Principal, hash_api_key
from shared.errors import ApiError, Forbidden, NotFound, Unprocessable, field_error
from shared.events.catalogue import Channel
from shared.outbox import UnitOfWork
from shared.pagination import decode_cursor, page
from shared.policy import authorized
from shared.runtime import db_session, runtime_of, unit_of_work
from shared.types import Instant, PositiveInt32

router = APIRouter(prefix="/v1", tags=["intake"])
AuditInstant = Annotated[Instant, Query(description="ISO 8601 with offset")]

PHONE_LOOKUP = ("agent", "supervisor", "admin")  # who may find a person's requests by phone


@router.post(
    "/requests",
    status_code=201,
    # A submission sent again (the same Idempotency-Key, or channel and external_id): 200 with
    # the request it made the first time.
    responses={200: {"description": "Sent again: the request the first submission made"}},
)
async def submit_request(
    request: Request,
    principal: Annotated[Principal, Depends(authorized)],
    uow: Annotated[UnitOfWork, Depends(unit_of_work)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    try:
        body: Any = await request.json()
    except ValueError as exc:
        raise ApiError("body is not valid JSON", status=400, code="invalid_json") from exc
    if not isinstance(body, dict):
        raise ApiError("body must be a JSON object", status=422, code="validation_failed")
    result = await service.submit_request(uow, principal, body, idempotency_key)
    answer = service.submit_view(result.request)
    if answer["category"] == "consultation":
        # 首问责任制: what can be answered on the spot should be; offer the best articles.
        async with runtime_of(request).sessions() as session:
            answer["suggested_articles"] = await knowledge.suggestions(session, result.request["content"])
    return JSONResponse(answer, status_code=201 if result.created else 200)


@router.get("/channel-keys/whoami")
async def whoami(principal: Annotated[Principal, Depends(authorized)]) -> dict[str, str]:
    """Which channel an API key belongs to; other services check adapters' keys here."""
    return {"channel": principal.id}


@router.get("/requests/{request_id}")
async def get_request(
    request_id: str,
    principal: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
) -> dict[str, Any]:
    row = await store.get_request(session, request_id)
    if row is None or not service.may_see(principal, row):
        raise NotFound(f"no request {request_id}")  # another department's request does not exist for you
    return service.public_view(row)


@router.get("/requests")
async def list_requests(
    principal: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
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
    caller = None
    if phone is not None:
        if principal.role not in PHONE_LOOKUP:
            raise Forbidden(f"role {principal.role} may not look requests up by phone")
        caller = service.caller_phone(phone)
    if first_responder == "me":
        first_responder = principal.id  # 首问责任制: what I received, and where each stands
    rows = await store.list_requests(
        session,
        limit=limit,
        after_seq=decode_cursor(cursor),
        department=principal.department if principal.role in ("handler", "dept_head") else None,
        filters={
            "state": state,
            "channel": channel,
            "category": category,
            "first_responder_id": first_responder,
        },
        phone=caller,
    )
    result = page(rows, limit)
    result["items"] = [service.public_view(r) for r in rows]
    return result


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AnswerBody(Strict):
    answer: Annotated[str, Field(min_length=1, max_length=5000)]
    article_id: Annotated[str, Field(max_length=100)] | None = None


class MergeBody(Strict):
    into_request_id: Annotated[str, Field(min_length=1, max_length=36)]
    reason: Annotated[str, Field(max_length=500)] | None = None


class WithdrawBody(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ReceiptBody(Strict):
    status: Literal["delivered", "failed"] = "delivered"


class CatalogMaterial(Strict):
    code: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    mandatory: bool = True
    media_types: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list)
    max_size: int | None = Field(default=None, ge=1)


class CatalogEntry(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    deadline_class: Annotated[str, Field(max_length=100)] | None = None
    materials: list[CatalogMaterial] = Field(default_factory=list, max_length=50)
    active: bool = True


class NewChannelKey(Strict):
    channel: Channel
    label: Annotated[str, Field(max_length=100)] | None = None


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body: Any = await request.json()
    except ValueError as exc:
        raise ApiError("body is not valid JSON", status=400, code="invalid_json") from exc
    if not isinstance(body, dict):
        raise ApiError("body must be a JSON object", status=422, code="validation_failed")
    return body


@router.post("/requests/{request_id}/supplements")
async def supplement(
    request_id: str,
    request: Request,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    """Add materials to an incomplete one-window request; once complete it goes on to routing."""
    return await service.supplement(uow, principal, request_id, await _json_object(request))


@router.post("/requests/{request_id}/answer")
async def answer(
    request_id: str, body: AnswerBody, uow: Uow, principal: Annotated[Principal, Depends(authorized)]
) -> dict[str, Any]:
    return await service.answer(uow, principal, request_id, body.answer, body.article_id)


@router.post("/requests/{request_id}/merge")
async def merge(
    request_id: str,
    body: MergeBody,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    return await service.merge_into(uow, principal, request_id, body.into_request_id, body.reason)


@router.get("/requests/{request_id}/likely-duplicates")
async def likely_duplicates(
    request_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
) -> dict[str, Any]:
    """Open requests this one most likely repeats (重复诉求): the same person about the same
    thing, or the same matter at the same place, within the configured window."""
    return await queries.duplicates_of(session, principal, request_id, runtime_of(request).settings)


@router.post("/requests/{request_id}/withdraw")
async def withdraw(
    request_id: str,
    body: WithdrawBody,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    return await service.withdraw(uow, principal, request_id, body.reason)


class ChaseBody(Strict):
    note: Annotated[str, Field(min_length=1, max_length=500)] | None = None


@router.post("/requests/{request_id}/chase")
async def chase(
    request_id: str,
    body: ChaseBody,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    """催办: the first responder chases a request they own; the lead department's head is
    told, and the chase counts in the department's KPIs."""
    return await service.chase(uow, principal, request_id, body.note)


@router.get("/requests/{request_id}/requester")
async def requester(
    request_id: str,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
    purpose: Annotated[str, Query(min_length=3, max_length=500, description="why the full data is read")],
) -> dict[str, Any]:
    """The requester's full personal data; every read is written to the audit log."""
    return await service.read_requester(uow, principal, request_id, purpose)


@router.get("/requests/{request_id}/text")
async def full_text(
    request_id: str,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
    purpose: Annotated[str, Query(min_length=3, max_length=500, description="why the full text is read")],
) -> dict[str, Any]:
    """The request's title, content, topic and area as the person wrote them (views and
    lists show them masked); every read is written to the audit log."""
    return await service.read_full_text(uow, principal, request_id, purpose)


@router.get("/personal-data-reads")
async def personal_data_reads(
    principal: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
    request_id: Annotated[str | None, Query(max_length=36)] = None,
    reader_id: Annotated[str | None, Query(max_length=200)] = None,
    since: AuditInstant | None = None,
    until: AuditInstant | None = None,
) -> dict[str, Any]:
    """Who read which request's personal data, when, and for what purpose (the audit log)."""
    rows = await store.list_personal_data_reads(
        session,
        limit=limit,
        after_seq=decode_cursor(cursor),
        request_id=request_id,
        reader_id=reader_id,
        since=since,
        until=until,
    )
    result = page(rows, limit)
    result["items"] = [
        {
            "request_id": r["request_id"],
            "reader_id": r["reader_id"],
            "reader_role": r["reader_role"],
            "what": r["what"],
            "purpose": r["purpose"],
            "at": r["at"].isoformat(),
        }
        for r in rows
    ]
    return result


@router.post("/notifications/{notification_id}/receipt")
async def receipt(
    notification_id: str,
    body: ReceiptBody,
    uow: Uow,
    principal: Annotated[Principal, Depends(authorized)],
) -> dict[str, Any]:
    return await service.record_receipt(uow, principal, notification_id, body.status)


@router.get("/catalog")
async def list_catalog(
    _: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
) -> dict[str, Any]:
    rows = (
        await session.execute(select(store.catalog).order_by(store.catalog.c.code, store.catalog.c.version))
    ).mappings()
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        latest[row["code"]] = _catalog_view(dict(row))
    return {"items": [v for v in latest.values() if v["active"]], "next_cursor": None}


@router.get("/catalog/{code}")
async def get_catalog(
    code: str,
    _: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
    version: PositiveInt32 | None = None,
) -> dict[str, Any]:
    entry = (
        await store.catalog_entry(session, code, version)
        if version
        else await store.latest_catalog_entry(session, code)
    )
    if entry is None:
        raise NotFound(f"no business type {code}")
    return _catalog_view(entry)


@router.put("/catalog/{code}")
async def put_catalog(
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")],
    body: CatalogEntry,
    _: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
) -> dict[str, Any]:
    """Every edit is a new version; requests keep the version they were checked against."""
    await session.execute(select(store.catalog.c.code).where(store.catalog.c.code == code).with_for_update())
    current = await store.latest_catalog_entry(session, code)
    version = (current["version"] + 1) if current else 1
    values = {"code": code, "version": version, **body.model_dump(), "category": "business"}
    await session.execute(pg_insert(store.catalog).values(**values))
    await session.commit()
    return _catalog_view(values)


def _catalog_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: row[k] for k in ("code", "version", "name", "description", "deadline_class", "materials", "active")
    }


@router.post("/materials", status_code=201)
async def upload_material(
    principal: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
    file: Annotated[UploadFile, File()],
    sha256: Annotated[str | None, Form(pattern=r"^[0-9a-f]{64}$")] = None,
) -> dict[str, Any]:
    """Material bytes, stored by their sha256; a hash sent along must match the bytes."""
    limit = MAX_MATERIAL_BYTES
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise ApiError(f"material is over {limit} bytes", status=413, code="payload_too_large")
    digest = hashlib.sha256(content).hexdigest()
    if sha256 is not None and sha256 != digest:
        raise Unprocessable(
            "sha256 does not match the bytes",
            fields=[field_error("sha256", "matches_content", f"the bytes hash to {digest}")],
        )
    media_type = file.content_type or "application/octet-stream"
    await session.execute(
        pg_insert(store.material_blobs)
        .values(
            sha256=digest, size=len(content), media_type=media_type, content=content, uploaded_by=principal.id
        )
        .on_conflict_do_nothing()
    )
    await session.commit()
    return {"sha256": digest, "size": len(content), "media_type": media_type}


@router.post("/channel-keys", status_code=201)
async def create_channel_key(
    body: NewChannelKey,
    _: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
) -> dict[str, Any]:
    """A new key for a channel adapter; shown once, stored only as a hash. Rotate by
    creating a new key, switching the adapter, then revoking the old one."""
    key = f"sk_{body.channel}_{secrets.token_urlsafe(24)}"
    key_hash = hash_api_key(key)
    await session.execute(
        pg_insert(store.channel_keys).values(
            key_hash=key_hash, key_id=key_hash[:16], channel=body.channel, label=body.label, active=True
        )
    )
    await session.commit()
    return {"key_id": key_hash[:16], "channel": body.channel, "api_key": key}


@router.get("/channel-keys")
async def list_channel_keys(
    _: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
) -> dict[str, Any]:
    cols = store.channel_keys.c
    rows = await session.execute(select(cols.key_id, cols.channel, cols.label, cols.active, cols.created_at))
    return {
        "items": [{**dict(r), "created_at": r.created_at.isoformat()} for r in rows.mappings()],
        "next_cursor": None,
    }


@router.delete("/channel-keys/{key_id}")
async def revoke_channel_key(
    key_id: str,
    request: Request,
    _: Annotated[Principal, Depends(authorized)],
    session: Annotated[AsyncSession, Depends(db_session)],
) -> dict[str, Any]:
    result = await session.execute(
        update(store.channel_keys).where(store.channel_keys.c.key_id == key_id).values(active=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"no key {key_id}")
    await session.commit()
    keys = getattr(request.app.state, "api_key_lookup", None)
    if isinstance(keys, ChannelKeys):
        keys.forget()  # revoked here: refused here at once
    return {"key_id": key_id, "active": False}


MAX_MATERIAL_BYTES = 10 * 1024 * 1024


@router.post("/retention/purge")
async def purge_now(request: Request, _: Annotated[Principal, Depends(authorized)]) -> dict[str, Any]:
    """Anonymise now what the hourly retention job would (requests closed past the retention period)."""
    return {"purged": await retention.purge(runtime_of(request).uow)}
