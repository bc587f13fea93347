"""Handling's reads: the department's queue, a case with its steps, extension requests,
supervision orders, and the overdue and at-risk clocks, shaped as the API answers them
(the SQL is in store.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.handling import store
from shared.auth import Principal
from shared.clock import now
from shared.errors import NotFound
from shared.pagination import decode_cursor, keyset_page, page


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "request_id": row["request_id"],
        "department": row["department"],
        "role": row["role"],
        "state": row["state"],
        "category": row["category"],
        "urgency": row["urgency"],
        "due": row["due"],
        "handler_id": row["handler_id"],
        "routed_at": row["routed_at"].isoformat() if row["routed_at"] else None,
    }


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def _own_department(principal: Principal) -> store.Scope:
    """The department the policy narrows the caller to; supervisors and others every one."""
    return (principal.scoped_to,) if principal.scoped_to else None


async def queue(
    session: AsyncSession,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None,
    state: str | None,
    urgency: str | None,
    handler: str | None,
    overdue: bool,
    at_risk: bool,
) -> dict[str, Any]:
    """The department's queue: urgent cases first (the green channel), then oldest first."""
    rows = await store.queue(
        session,
        principal.department,
        limit=limit,
        after=decode_cursor(cursor),
        state=state,
        urgency=urgency,
        handler_id=handler,
        overdue=overdue,
        at_risk=at_risk,
        now=now(),
    )
    for row in rows:
        row["position"] = store.queue_position(row)
    result = page(rows, limit, seq_key="position")
    result["items"] = [_view(r) for r in rows]
    return result


async def case(session: AsyncSession, principal: Principal, request_id: str) -> dict[str, Any]:
    """A case of the caller's department, with every step, the co-handlers' opinions and how
    the lead resolved it."""
    row = await store.get_case_row(session, request_id, principal.department)
    if row is None:
        raise NotFound(f"no case {request_id} in your department")
    steps = await store.case_steps(session, request_id)
    view = _view(row)
    view["steps"] = [
        {
            "kind": s["kind"],
            "department": s["department"],
            "actor_id": s["actor_id"],
            "detail": s["detail"],
            "at": s["at"].isoformat(),
        }
        for s in steps
    ]
    # The lead and every co-handler see the co-handlers' opinions and how the lead resolved
    # it (with its override reason when it went ahead without some opinions).
    opinions = await store.case_opinions(session, request_id)
    view["opinions"] = [
        {
            "department": o["department"],
            "author": o["author"],
            "opinion": o["opinion"],
            "at": o["at"].isoformat(),
        }
        for o in opinions
    ]
    resolved = [s for s in view["steps"] if s["kind"] == "resolve"]
    view["resolution"] = (
        {
            "department": resolved[-1]["department"],
            "outcome": resolved[-1]["detail"].get("outcome"),
            "reply": resolved[-1]["detail"].get("reply"),
            "override_reason": resolved[-1]["detail"].get("override_reason"),
            "missing_opinions": resolved[-1]["detail"].get("missing_opinions", []),
            "at": resolved[-1]["at"],
        }
        if resolved
        else None
    )
    return view


async def extensions(
    session: AsyncSession,
    principal: Principal,
    state: str | None,
    request_id: str | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    rows = await store.extensions_page(session, _own_department(principal), state, request_id, cursor, limit)
    return keyset_page(rows, limit, store.EXTENSION_KEY, _iso)


async def supervision_orders(
    session: AsyncSession, principal: Principal, open_only: bool, cursor: str | None, limit: int
) -> dict[str, Any]:
    rows = await store.supervision_orders_page(session, _own_department(principal), open_only, cursor, limit)
    return keyset_page(rows, limit, store.SUPERVISION_KEY, _iso)


async def overdue(
    session: AsyncSession, principal: Principal, cursor: str | None, orders_cursor: str | None, limit: int
) -> dict[str, Any]:
    clock_rows, order_rows = await store.overdue_page(
        session, _own_department(principal), now(), cursor, orders_cursor, limit
    )
    clocks = keyset_page(clock_rows, limit, store.CLOCK_KEY, _iso)
    late_orders = keyset_page(order_rows, limit, store.SUPERVISION_KEY, _iso)
    return {
        "clocks": clocks["items"],
        "supervision_orders": late_orders["items"],
        "next_cursor": clocks["next_cursor"],
        "supervision_orders_next_cursor": late_orders["next_cursor"],
    }


async def at_risk(
    session: AsyncSession, principal: Principal, cursor: str | None, limit: int
) -> dict[str, Any]:
    rows = await store.at_risk_page(session, _own_department(principal), now(), cursor, limit)
    page_ = keyset_page(rows, limit, store.CLOCK_KEY, _iso)
    return {"clocks": page_["items"], "next_cursor": page_["next_cursor"]}
