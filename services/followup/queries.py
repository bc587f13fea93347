"""Followup's reads: the return visits to make, shaped as the API answers them (the SQL is
in store.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.followup import store
from shared.pagination import keyset_page


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


async def revisits(
    session: AsyncSession, state: str, due_before: datetime | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Return visits (回访) in `state`, soonest first, due before `due_before` if given."""
    rows = await store.revisits_page(session, state, due_before, cursor, limit)
    return keyset_page(rows, limit, ("due", "id"), _iso)
