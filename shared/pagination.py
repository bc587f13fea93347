"""Cursor pagination (`?limit=&cursor=`): the cursor is an opaque token over a sequence."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, tuple_

from shared.errors import ApiError, field_error


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        seq = int(base64.urlsafe_b64decode(padded.encode()).decode())
        if not 0 <= seq < 2**63:  # a BIGINT sequence; anything else was not given out
            raise ValueError(seq)
        return seq
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            "cursor is not one this API gave out",
            status=400,
            code="bad_cursor",
            fields=[field_error("cursor", "valid_cursor", "unknown cursor")],
        ) from exc


def page(items: list[dict[str, Any]], limit: int, seq_key: str = "seq") -> dict[str, Any]:
    next_cursor = encode_cursor(items[-1][seq_key]) if len(items) == limit and items else None
    return {"items": items, "next_cursor": next_cursor}


# Keyset pagination over a composite sort key (e.g. due time, then the primary key): the
# cursor carries the last row's key, and the next page is `WHERE (key) > (cursor) ORDER BY key
# LIMIT n` on an index of that key, as cheap on the thousandth page as on the first.
MAX_PAGE = 500


def encode_key(values: Sequence[Any]) -> str:
    plain = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_key(cursor: str | None, width: int) -> tuple[Any, ...] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(raw, list) or len(raw) != width:
            raise ValueError("wrong width")
        return tuple(datetime.fromisoformat(v["t"]) if isinstance(v, dict) else v for v in raw)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise ApiError(
            "cursor is not one this API gave out",
            status=400,
            code="bad_cursor",
            fields=[field_error("cursor", "valid_cursor", "unknown cursor")],
        ) from exc


def keyset(
    stmt: Select[Any],
    columns: Sequence[ColumnElement[Any]],
    cursor: str | None,
    limit: int,
    *,
    descending: bool = False,
) -> Select[Any]:
    """`stmt` ordered by `columns` (ascending, or all descending: newest first), after the
    cursor's key, at most `limit` rows."""
    after = decode_key(cursor, len(columns))
    if after is not None:
        key, last = tuple_(*columns), tuple_(*after)
        stmt = stmt.where(key < last if descending else key > last)
    return stmt.order_by(*(c.desc() for c in columns) if descending else columns).limit(limit)


def keyset_page(
    rows: list[dict[str, Any]],
    limit: int,
    key: Sequence[str],
    view: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """The page and, when it is full, the cursor of its last row's key."""
    next_cursor = encode_key([rows[-1][k] for k in key]) if rows and len(rows) == limit else None
    return {"items": [view(r) for r in rows] if view else rows, "next_cursor": next_cursor}


async def every_page(
    client: Any, url: str, *, headers: dict[str, str], params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every item of another service's keyset-paged list, following `next_cursor` to the end
    (`client` an httpx.AsyncClient; its errors and a malformed answer's KeyError propagate)."""
    items: list[dict[str, Any]] = []
    query = dict(params or {})
    while True:
        response = await client.get(url, params=query, headers=headers)
        response.raise_for_status()
        page = response.json()
        items += page["items"]
        if not page.get("next_cursor"):
            return items
        query["cursor"] = page["next_cursor"]
