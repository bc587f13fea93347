"""Intake's tables (its own database): requests as received with the only copy of the
requester's personal data, and the channel adapters' API keys (hashed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    Update,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.domain.request import IntakeRequest
from shared.clock import now
from shared.db import fetch_row, insert_new, new_metadata, rows_by_shape
from shared.pagination import keyset

metadata = new_metadata()

requests = Table(
    "requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),  # pagination cursor
    Column("state", String(30), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("external_id", String(200)),
    Column("idempotency_key", String(200), unique=True),
    Column("content", Text, nullable=False),
    Column("title", String(200)),
    Column("category", String(20), nullable=False),
    Column("urgency", String(10), nullable=False),
    Column("classification_rules", JSONB, nullable=False, server_default="[]"),
    Column("topic", String(100)),
    Column("area", String(100)),
    Column("location", JSONB),
    Column("business_type", String(100)),
    Column("materials", JSONB, nullable=False, server_default="[]"),
    Column("requester", JSONB),  # personal data: only here, never in events
    Column("requester_ref", String(40)),
    Column("contact_masked", String(100)),
    Column("anonymous", Boolean, nullable=False, default=False),
    Column("first_responder_kind", String(10), nullable=False),
    Column("first_responder_id", String(200), nullable=False),
    Column("lead_department", String(50)),
    Column("co_departments", JSONB, nullable=False, server_default="[]"),
    Column("matter", String(100)),  # the matter (事项) routing dispatched it under
    # One-window business: the catalog version checked against, what is missing, since when.
    Column("catalog_version", Integer),
    Column("missing", JSONB, nullable=False, server_default="[]"),
    Column("paused_from", DateTime(timezone=True)),
    Column("merged_into", String(36)),
    Column("closed_at", DateTime(timezone=True)),
    Column("purged_at", DateTime(timezone=True)),
    Column("answer", Text),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    UniqueConstraint("channel", "external_id", name="uq_requests_channel_external_id"),
    Index("ix_requests_first_responder", "first_responder_kind", "first_responder_id"),
    # Open311 `requests.json`: a channel's requests by submission time (newest first, bounded).
    Index("ix_requests_channel_submitted", "channel", "submitted_at"),
    Index("ix_requests_requester_ref", "requester_ref"),
    Index("ix_requests_requester_phone", text("(requester ->> 'phone')")),
    Index("ix_requests_matter_received", "matter", "received_at"),
)

# The service catalog (一窗通办): every edit is a new version; a request keeps the version
# it was checked against.
catalog = Table(
    "catalog",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("category", String(20), nullable=False, server_default="business"),
    Column("deadline_class", String(100)),
    Column("materials", JSONB, nullable=False),  # [{code, name, mandatory, media_types, max_size}]
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
)

material_blobs = Table(
    "material_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_by", String(200), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
)

# Every full read of a requester's personal data: who, when, which request, why.
personal_data_reads = Table(
    "personal_data_reads",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("reader_id", String(200), nullable=False, index=True),
    Column("reader_role", String(20), nullable=False),
    Column("purpose", String(500), nullable=False),
    Column("what", String(20), nullable=False, server_default="requester"),  # requester | text
    Column("at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now(), index=True),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("template", String(100), nullable=False),
    Column("audience", String(30), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("destination", JSONB, nullable=False),  # personal data: stays here and on the adapters' topic
    Column("state", String(20), nullable=False),  # sent, delivered, failed
    Column("cause_event_id", String(36), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    # The staff member an internal message is for ('' for the person): one message each.
    Column("recipient", String(200), nullable=False, server_default=""),
    UniqueConstraint(
        "cause_event_id", "request_id", "audience", "channel", "recipient", name="uq_notifications_cause"
    ),
)

# 催办: the first responder chasing a request they own (recorded, the lead's head told).
chases = Table(
    "chases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("department", String(50)),
    Column("chased_by", String(200), nullable=False),
    Column("note", Text),
    Column("chased_at", DateTime(timezone=True), nullable=False),
)

# The knowledge base: articles and typical cases (kind), the working copy here, every
# version kept in kb_versions. `search` is the text's jieba terms, indexed by PostgreSQL's
# 'simple' configuration (keywords weigh most, then the question, then the answer).
kb_articles = Table(
    "kb_articles",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(10), nullable=False, server_default="article"),
    Column("status", String(10), nullable=False),
    Column("version", Integer, nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("category", String(20)),
    Column("keywords", JSONB, nullable=False, server_default="[]"),
    Column("department", String(50)),
    Column("valid_from", DateTime(timezone=True)),
    Column("valid_to", DateTime(timezone=True)),
    Column("source_request_id", String(36), unique=True),  # a typical case's request
    Column("keyword_terms", Text, nullable=False, server_default=""),
    Column("question_terms", Text, nullable=False, server_default=""),
    Column("answer_terms", Text, nullable=False, server_default=""),
    Column(
        "search",
        TSVECTOR,
        Computed(
            "setweight(to_tsvector('simple', keyword_terms), 'A') || "
            "setweight(to_tsvector('simple', question_terms), 'B') || "
            "setweight(to_tsvector('simple', answer_terms), 'C')",
            persisted=True,
        ),
    ),
    Column("note", Text),  # the last reviewer's note
    Column("created_by", String(200), nullable=False),
    Column("approved_by", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
    Index("ix_kb_articles_search", "search", postgresql_using="gin"),
    # The editors' lists, newest first: all, and by status (what waits for approval).
    Index("ix_kb_articles_recent", "updated_at", "id"),
    Index("ix_kb_articles_status_recent", "status", "updated_at", "id"),
)

kb_versions = Table(
    "kb_versions",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("article_id", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("status", String(10), nullable=False),  # the status the version was saved or moved in
    Column("action", String(10), nullable=False),  # create, edit, submit, approve, reject, retire
    Column("snapshot", JSONB, nullable=False),  # question, answer, category, keywords, validity
    Column("by", String(200), nullable=False),
    Column("note", Text),
    Column("at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
)

channel_keys = Table(
    "channel_keys",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("key_id", String(16), unique=True),
    Column("channel", String(20), nullable=False),
    Column("label", String(100)),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False, default=now, server_default=func.now()),
)


async def get_request(
    session: AsyncSession, request_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    fetch: _Fetch | None = session.info.get(_FETCH)
    if fetch is not None and request_id in fetch.ids:
        row = fetch.rows.get(request_id)  # read and locked with the consumer's fetch
        return None if row is None else dict(row)
    return await fetch_row(session, requests, requests.c.id == request_id, for_update=for_update)


# A consumer's fetch: its requests' rows read and locked in one statement, then read by
# `get_request` and changed by `save_request` while the fetch's transaction lasts (session.info
# ends with the session); the changes are written once per request, at commit.
_FETCH = "requests_of_fetch"


@dataclass
class _Fetch:
    ids: set[str]
    rows: dict[str, dict[str, Any]]
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)  # request → columns set


async def lock_for_fetch(session: AsyncSession, request_ids: Sequence[str]) -> None:
    """Read and lock the rows of a fetch's requests at once (in one order: no deadlock)."""
    ids = sorted(set(request_ids))
    stmt = select(requests).where(requests.c.id.in_(ids)).order_by(requests.c.id).with_for_update()
    rows = (await session.execute(stmt)).mappings()
    session.info[_FETCH] = _Fetch(set(ids), {r["id"]: dict(r) for r in rows})
    session.info.setdefault("before_commit", {})[_FETCH] = write_fetch


async def write_fetch(session: AsyncSession) -> None:
    """The fetch's state changes, one row each, in key order: one statement per set of
    columns changed, executed with every row of that shape."""
    fetch: _Fetch | None = session.info.get(_FETCH)
    if fetch is None or not fetch.changed:
        return
    shapes = rows_by_shape(fetch.changed, "b_id")
    fetch.changed = {}
    for columns, rows in shapes.items():
        await session.execute(_update_of(columns), rows)


@lru_cache(maxsize=64)
def _update_of(columns: tuple[str, ...]) -> Update:
    return (
        update(requests)
        .where(requests.c.id == bindparam("b_id"))
        .values({**{name: bindparam(name) for name in columns}, "updated_at": func.now()})
    )


async def find_duplicate_submit(
    session: AsyncSession, channel: str, external_id: str | None, idempotency_key: str | None
) -> dict[str, Any] | None:
    if idempotency_key:
        row = (
            (await session.execute(select(requests).where(requests.c.idempotency_key == idempotency_key)))
            .mappings()
            .first()
        )
        if row:
            return dict(row)
    if external_id:
        row = (
            (
                await session.execute(
                    select(requests).where(
                        requests.c.channel == channel, requests.c.external_id == external_id
                    )
                )
            )
            .mappings()
            .first()
        )
        if row:
            return dict(row)
    return None


async def list_requests(
    session: AsyncSession,
    *,
    limit: int,
    after_seq: int | None,
    filters: dict[str, Any],
    department: str | None = None,
    phone: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    stmt = select(requests).order_by(requests.c.seq).limit(limit)
    if phone is not None:  # the caller's earlier requests: by the number given, or its pseudonym
        number, ref = phone
        by_number = requests.c.requester["phone"].astext == number
        stmt = stmt.where(by_number | (requests.c.requester_ref == ref))
    if after_seq is not None:
        stmt = stmt.where(requests.c.seq > after_seq)
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(requests.c[column] == value)
    if department is not None:  # department staff: their own department's requests only
        stmt = stmt.where(
            (requests.c.lead_department == department) | requests.c.co_departments.contains([department])
        )
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def save_request(session: AsyncSession, request: IntakeRequest) -> None:
    """The columns of the request its commands set (the aggregate owns them: nothing else
    writes them)."""
    values = request.changes()
    if not values:
        return
    fetch: _Fetch | None = session.info.get(_FETCH)
    if fetch is not None and request.id in fetch.rows:
        fetch.rows[request.id].update(values)
        fetch.changed.setdefault(request.id, {}).update(values)
        return
    await session.execute(
        update(requests).where(requests.c.id == request.id).values(updated_at=func.now(), **values)
    )


async def channel_for_key(session: AsyncSession, key_hash: str) -> str | None:
    return await session.scalar(
        select(channel_keys.c.channel).where(channel_keys.c.key_hash == key_hash, channel_keys.c.active)
    )


async def latest_catalog_entry(session: AsyncSession, code: str) -> dict[str, Any] | None:
    stmt = (
        select(catalog)
        .where(catalog.c.code == code, catalog.c.active)
        .order_by(catalog.c.version.desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def catalog_entry(
    session: AsyncSession, code: str | None, version: int | None
) -> dict[str, Any] | None:
    if code is None or version is None:
        return None
    stmt = select(catalog).where(catalog.c.code == code, catalog.c.version == version)
    row = (await session.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def latest_catalog_entries(session: AsyncSession) -> list[dict[str, Any]]:
    """Each business type's latest version (retired ones too: the caller decides)."""
    latest = select(catalog.c.code, func.max(catalog.c.version).label("version")).group_by(catalog.c.code)
    latest_sq = latest.subquery()
    stmt = (
        select(catalog)
        .join(latest_sq, (catalog.c.code == latest_sq.c.code) & (catalog.c.version == latest_sq.c.version))
        .order_by(catalog.c.code)
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def add_catalog_version(session: AsyncSession, code: str, values: dict[str, Any]) -> dict[str, Any]:
    """The business type's next version (the code's versions locked while it is numbered)."""
    await session.execute(select(catalog.c.code).where(catalog.c.code == code).with_for_update())
    latest = await session.scalar(select(func.max(catalog.c.version)).where(catalog.c.code == code))
    row = {"code": code, "version": (latest or 0) + 1, **values}
    await session.execute(pg_insert(catalog).values(**row))
    return row


async def add_first_catalog_version(session: AsyncSession, values: dict[str, Any]) -> bool:
    """A business type as given (its first version), unless its code has a version already;
    whether it was added."""
    if await session.scalar(select(catalog.c.code).where(catalog.c.code == values["code"])) is not None:
        return False
    await session.execute(pg_insert(catalog).values(**values))
    return True


async def store_material(session: AsyncSession, **values: Any) -> None:
    """Material bytes by their hash: the same bytes sent twice are kept once."""
    await session.execute(pg_insert(material_blobs).values(**values).on_conflict_do_nothing())


async def add_channel_key(session: AsyncSession, *, key_hash: str, channel: str, label: str | None) -> str:
    key_id = key_hash[:16]
    await session.execute(
        pg_insert(channel_keys).values(
            key_hash=key_hash, key_id=key_id, channel=channel, label=label, active=True
        )
    )
    return key_id


async def list_channel_keys(session: AsyncSession) -> list[dict[str, Any]]:
    c = channel_keys.c
    stmt = select(c.key_id, c.channel, c.label, c.active, c.created_at).order_by(c.created_at, c.key_id)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def ensure_channel_key(
    session: AsyncSession, *, key_hash: str, channel: str, label: str | None
) -> None:
    """An active key for the channel, unless that key is stored already (as it was left)."""
    await session.execute(
        pg_insert(channel_keys)
        .values(key_hash=key_hash, key_id=key_hash[:16], channel=channel, label=label, active=True)
        .on_conflict_do_nothing()
    )


async def revoke_channel_key(session: AsyncSession, key_id: str) -> bool:
    result = await session.execute(
        update(channel_keys).where(channel_keys.c.key_id == key_id).values(active=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def open311_requests(
    session: AsyncSession,
    *,
    ids: list[str] | None,
    start: datetime | None,
    end: datetime | None,
    codes: list[str] | None,
    closed: bool | None,
    closed_states: Any,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Open311 `requests.json`: the channel's requests by id, or by submission time (newest
    first, bounded; on `ix_requests_channel_submitted`) with their service code and status."""
    c = requests.c
    stmt = select(requests).where(c.channel == "open311")
    if ids is not None:
        stmt = stmt.where(c.id.in_(ids))
    if start is not None and end is not None:
        stmt = stmt.where(c.submitted_at >= start, c.submitted_at <= end)
    if codes:
        stmt = stmt.where(c.category.in_(codes) | c.business_type.in_(codes))
    if closed is not None:
        is_closed = c.state.in_(list(closed_states))
        stmt = stmt.where(is_closed if closed else ~is_closed)
    rows = await session.execute(stmt.order_by(c.submitted_at.desc()).limit(limit))
    return [dict(r) for r in rows.mappings()]


async def insert_request(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Insert a new request; False if one with its idempotency key or external id exists."""
    inserted = await session.execute(insert_new(requests, returning="id"), row)
    return inserted.first() is not None


async def merged_into(
    session: AsyncSession, primary_id: str, *, state: str | None = None, for_update: bool = False
) -> list[dict[str, Any]]:
    """The requests merged into this one, earliest first."""
    stmt = select(requests).where(requests.c.merged_into == primary_id)
    if state is not None:
        stmt = stmt.where(requests.c.state == state)
    stmt = stmt.order_by(requests.c.received_at, requests.c.id)
    if for_update:
        stmt = stmt.with_for_update()
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def chase_count(session: AsyncSession, request_id: str) -> int:
    return int(await session.scalar(select(func.count()).where(chases.c.request_id == request_id)) or 0)


async def add_chase(session: AsyncSession, **values: Any) -> None:
    await session.execute(pg_insert(chases).values(**values))


async def record_personal_data_read(session: AsyncSession, **values: Any) -> None:
    await session.execute(pg_insert(personal_data_reads).values(**values))


async def add_notification(session: AsyncSession, **values: Any) -> bool:
    """A notification unless this cause already produced it (redelivered events): whether it is new."""
    result = await session.execute(insert_notification(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def insert_notification(**values: Any) -> Any:
    """Insert a notification unless this cause already produced it (redelivered events)."""
    return (
        pg_insert(notifications).values(**values).on_conflict_do_nothing(constraint="uq_notifications_cause")
    )


async def get_notification(
    session: AsyncSession, notification_id: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    return await fetch_row(
        session, notifications, notifications.c.id == notification_id, for_update=for_update
    )


async def set_notification_state(session: AsyncSession, notification_id: str, state: str) -> None:
    await session.execute(
        update(notifications)
        .where(notifications.c.id == notification_id)
        .values(state=state, delivered_at=func.now() if state == "delivered" else None)
    )


async def list_personal_data_reads(
    session: AsyncSession,
    *,
    limit: int,
    after_seq: int | None,
    request_id: str | None = None,
    reader_id: str | None = None,
    since: Any = None,
    until: Any = None,
) -> list[dict[str, Any]]:
    """The audit log of personal-data reads, oldest first."""
    t = personal_data_reads
    stmt = select(t).order_by(t.c.seq).limit(limit)
    if after_seq is not None:
        stmt = stmt.where(t.c.seq > after_seq)
    if request_id is not None:
        stmt = stmt.where(t.c.request_id == request_id)
    if reader_id is not None:
        stmt = stmt.where(t.c.reader_id == reader_id)
    if since is not None:
        stmt = stmt.where(t.c.at >= since)
    if until is not None:
        stmt = stmt.where(t.c.at < until)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def duplicate_candidates(
    session: AsyncSession, row: dict[str, Any], since: datetime, open_states: list[str], limit: int = 50
) -> list[dict[str, Any]]:
    """Open requests received since `since` from the same person or under the same matter
    (each on its index, the most recent first)."""
    columns = (
        requests.c.id,
        requests.c.state,
        requests.c.content,
        requests.c.requester,
        requests.c.requester_ref,
        requests.c.matter,
        requests.c.area,
        requests.c.location,
        requests.c.lead_department,
        requests.c.received_at,
    )
    found: dict[str, dict[str, Any]] = {}
    for same in (
        requests.c.requester_ref == row["requester_ref"] if row["requester_ref"] else None,
        requests.c.matter == row["matter"] if row["matter"] else None,
    ):
        if same is None:
            continue
        stmt = (
            select(*columns)
            .where(same, requests.c.received_at >= since, requests.c.id != row["id"])
            .where(requests.c.state.in_(open_states))
            .order_by(requests.c.received_at.desc())
            .limit(limit)
        )
        for candidate in (await session.execute(stmt)).mappings():
            found[candidate["id"]] = dict(candidate)
    return list(found.values())


# --- the personal-data purge (retention.py) ----------------------------------------
async def claim_expired_requests(session: AsyncSession, cutoff: datetime, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` requests closed before `cutoff` whose personal data is still kept,
    row-locked; rows another purge holds are skipped."""
    r = requests.c
    stmt = (
        select(requests)
        .where(r.state == "closed", r.closed_at < cutoff, r.purged_at.is_(None))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [dict(row) for row in (await session.execute(stmt)).mappings().all()]


async def anonymise_request(session: AsyncSession, request_id: str, values: dict[str, Any]) -> None:
    """The request's personal fields replaced by `values` (what is left of them)."""
    await session.execute(update(requests).where(requests.c.id == request_id).values(**values))


async def delete_materials(session: AsyncSession, hashes: Sequence[str]) -> None:
    """The stored bytes of these materials (by their SHA-256)."""
    await session.execute(delete(material_blobs).where(material_blobs.c.sha256.in_(hashes)))


async def clear_notification_destinations(session: AsyncSession, request_id: str) -> None:
    """Where the request's messages went is forgotten (empty destinations)."""
    await session.execute(
        update(notifications).where(notifications.c.request_id == request_id).values(destination={})
    )


# --- the knowledge base ------------------------------------------------------------

KB_KEY = ("updated_at", "id")


async def kb_insert(session: AsyncSession, row: dict[str, Any]) -> bool:
    """A new article or case; False if its id is taken."""
    result = await session.execute(
        pg_insert(kb_articles).values(**row).on_conflict_do_nothing().returning(kb_articles.c.id)
    )
    return result.first() is not None


async def kb_insert_version(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(pg_insert(kb_versions).values(**values))


async def kb_get(session: AsyncSession, article_id: str, for_update: bool = False) -> dict[str, Any] | None:
    return await fetch_row(session, kb_articles, kb_articles.c.id == article_id, for_update=for_update)


async def kb_update(session: AsyncSession, article_id: str, values: dict[str, Any]) -> None:
    await session.execute(update(kb_articles).where(kb_articles.c.id == article_id).values(**values))


async def kb_versions_of(session: AsyncSession, article_id: str) -> list[dict[str, Any]]:
    v = kb_versions.c
    stmt = select(kb_versions).where(v.article_id == article_id).order_by(v.seq)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def kb_search(
    session: AsyncSession,
    words: list[str],
    *,
    limit: int,
    category: str | None,
    live_at: datetime | None,
    min_rank: float,
) -> list[dict[str, Any]]:
    """Articles matching any of the terms (OR) on the GIN index, best rank first (matching
    more terms, and in keywords and question, ranks higher; normalised by length)."""
    kb = kb_articles.c
    query = func.to_tsquery("simple", " | ".join(words))
    rank = func.ts_rank_cd(kb.search, query, 1).label("rank")
    stmt = select(kb_articles, rank).where(kb.search.op("@@")(query))
    if min_rank > 0:
        stmt = stmt.where(rank >= min_rank)
    if category:
        stmt = stmt.where(kb.category == category)
    if live_at is not None:
        stmt = stmt.where(
            kb.status == "published",
            (kb.valid_from.is_(None)) | (kb.valid_from <= live_at),
            (kb.valid_to.is_(None)) | (kb.valid_to > live_at),
        )
    stmt = stmt.order_by(literal_column("rank").desc(), kb.id).limit(limit)
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def kb_page(
    session: AsyncSession,
    status: str | None,
    kind: str | None,
    department: str | None,
    cursor: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """A keyset page of articles, most recently changed first."""
    kb = kb_articles.c
    stmt = select(kb_articles)
    if status:
        stmt = stmt.where(kb.status == status)
    if kind:
        stmt = stmt.where(kb.kind == kind)
    if department:
        stmt = stmt.where(kb.department == department)
    page = keyset(stmt, [kb.updated_at, kb.id], cursor, limit, descending=True)
    return [dict(r) for r in (await session.execute(page)).mappings()]
