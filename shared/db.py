"""Async database access (SQLAlchemy 2 + asyncpg) and the two messaging tables every
service has in its own database: the outbox (events waiting to be published) and the
inbox (events already applied, per consumer)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pydantic_core
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID, Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql.dml import ReturningInsert

from shared.settings import Settings

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A service's metadata, with the outbox and inbox tables already in it."""
    metadata = MetaData(naming_convention=NAMING)
    Table(
        "outbox",
        metadata,
        # The sequence gives commit order per request: writers lock the request's row first.
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(100), nullable=False),
        Column("type", String(100), nullable=False),
        Column("version", Integer, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        # 1: an urgent request's first event from this service (the green channel): the relay
        # sends it ahead of the backlog. Nothing of the same request can be ahead of it.
        Column("priority", SmallInteger, nullable=False, server_default="0"),
        Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
        Index(
            "ix_outbox_unpublished_urgent",
            "id",
            postgresql_where=text("published_at IS NULL AND priority > 0"),
        ),
        # Retention (shared/retention.py) prunes published rows by age, oldest first.
        Index("ix_outbox_published", "published_at", postgresql_where=text("published_at IS NOT NULL")),
    )
    Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_inbox_applied_at", "applied_at"),
    )
    return metadata


def outbox_table(metadata: MetaData) -> Table:
    return metadata.tables["outbox"]


def inbox_table(metadata: MetaData) -> Table:
    return metadata.tables["inbox"]


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    """No ping before each checkout by default: it is a round trip on every transaction (about
    a tenth of intake's CPU under load). A connection the server cut fails its one operation
    instead; SQLAlchemy then drops every pooled connection opened before the cut, consumers
    retry the event and HTTP callers get a 503 to retry (shared.errors). Set
    DATABASE_PRE_PING=true where a proxy drops idle connections often (`settings`, the service's)."""
    engine = create_async_engine(
        url,
        pool_pre_ping=settings.database_pre_ping,
        pool_recycle=settings.database_pool_recycle_seconds,
        pool_size=10,
        max_overflow=10,
        # A database error never carries the statement's parameters into its text (and so
        # into a log line or a traceback): they are the person's name, phone, ID number.
        hide_parameters=True,
        # JSON and JSONB parameters written by pydantic-core's serialiser: a consumer writes a
        # payload per event, and the standard library's encoder was a tenth of KPI's CPU.
        json_serializer=_to_json,
    )
    event.listen(engine.sync_engine, "handle_error", _hide_quoted_arguments)
    return engine


def _to_json(value: Any) -> str:
    return pydantic_core.to_json(value).decode()


# asyncpg quotes a value it could not encode: "invalid input for query argument $1: '林小红…'".
_QUOTED_ARGUMENT = re.compile(r"(query argument \$\d+): .*?(?= \(|$)", re.S)


def _hide_quoted_arguments(context: Any) -> None:
    """What hide_parameters does for SQLAlchemy's text, for the driver's own message (and
    the exceptions chained to it, which a traceback prints too)."""
    seen: set[int] = set()
    wrapped: BaseException | None = context.sqlalchemy_exception
    if wrapped is not None and wrapped.args and isinstance(wrapped.args[0], str):
        wrapped.args = (_QUOTED_ARGUMENT.sub(r"\1: (hidden)", wrapped.args[0]), *wrapped.args[1:])
    exc: BaseException | None = context.original_exception
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if exc.args and isinstance(exc.args[0], str) and "query argument" in exc.args[0]:
            exc.args = (_QUOTED_ARGUMENT.sub(r"\1: (hidden)", exc.args[0]), *exc.args[1:])
        exc = exc.__cause__ or exc.__context__


@lru_cache(maxsize=512)
def upsert(table: Table, key: tuple[str, ...], columns: tuple[str, ...]) -> Insert:
    """INSERT ... ON CONFLICT (key) DO UPDATE SET each of `columns` to the new row's value.

    Built once per shape and executed with the row(s) as parameters, e.g.
    `session.execute(upsert(t, ("id",), tuple(row)), row)`: SQLAlchemy reuses its compiled
    form, where a statement built with `.values(**row)` is built and hashed on every call
    (a large share of a consumer's CPU for wide rows)."""
    stmt = pg_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_={name: stmt.excluded[name] for name in columns if name not in key}
    )


@lru_cache(maxsize=512)
def insert_new(
    table: Table, key: tuple[str, ...] | None = None, returning: str | None = None
) -> Insert | ReturningInsert[Any]:
    """INSERT ... ON CONFLICT [(key)] DO NOTHING [RETURNING column], built once (see `upsert`)."""
    stmt = pg_insert(table).on_conflict_do_nothing(index_elements=list(key) if key else None)
    return stmt.returning(table.c[returning]) if returning else stmt


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def fetch_row(
    session: AsyncSession, table: Table, *where: ColumnElement[bool], for_update: bool = False
) -> dict[str, Any] | None:
    """The one row matching `where` (row-locked for the transaction if asked), or None."""
    stmt = select(table).where(*where)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return dict(row) if row else None


def rows_by_shape(
    changed: dict[str, dict[str, Any]], key: str
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """A fetch's changes (row key → changed columns) grouped by the set of columns changed, in
    key order, each row with its key bound as `key`: one UPDATE per shape, executed with all
    its rows (a consumer's batch writes each changed row once)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_key in sorted(changed):
        values = changed[row_key]
        shapes.setdefault(tuple(sorted(values)), []).append({key: row_key, **values})
    return shapes
