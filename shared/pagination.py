"""Cursor pagination (`?limit=&cursor=`): the cursor is an opaque token over a sequence."""

from __future__ import annotations

import base64
from typing import Any

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
