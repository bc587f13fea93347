"""The dispatch catalogue's commands and reads: every change makes a new version of the
matter and a row in matter_versions naming who made it (the audit trail); a retired
matter stops being predicted but keeps its history (requests dispatched under it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import learning, store
from shared.auth import Principal
from shared.clock import now
from shared.errors import ApiError, Conflict, NotFound, field_error
from shared.pagination import keyset_page

EDITABLE = (
    "name",
    "description",
    "lead_department",
    "co_departments",
    "category",
    "urgent",
    "keywords",
    "examples",
)


def view(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["updated_at"] = out["updated_at"].isoformat()
    return out


async def list_matters(
    session: AsyncSession, include_retired: bool, department: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    rows = await store.matters_page(session, include_retired, department, cursor, limit)
    return keyset_page(rows, limit, ("code",), view)


async def get_matter(session: AsyncSession, code: str) -> dict[str, Any]:
    row = await store.get_matter(session, code)
    if row is None:
        raise NotFound(f"no matter {code}")
    return view(row)


async def versions(session: AsyncSession, code: str) -> list[dict[str, Any]]:
    await get_matter(session, code)
    rows = await store.matter_versions_of(session, code)
    for r in rows:
        r["at"] = r["at"].isoformat()
    return rows


async def _check_departments(session: AsyncSession, values: dict[str, Any]) -> None:
    active = await store.active_departments(session)
    wrong = [
        field_error(name, "known_department", f"no active department {code}")
        for name, code in [
            ("lead_department", values["lead_department"]),
            *[(f"co_departments.{i}", c) for i, c in enumerate(values["co_departments"])],
        ]
        if code not in active
    ]
    if values["lead_department"] in values["co_departments"]:
        wrong.append(
            field_error("co_departments", "not_lead", "the lead department is not its own co-handler")
        )
    if wrong:
        raise ApiError("invalid departments", status=422, code="validation_failed", fields=wrong)


async def _save(
    session: AsyncSession, principal: Principal, values: dict[str, Any], action: str
) -> dict[str, Any]:
    at = now()
    row = {**values, "updated_at": at, "updated_by": principal.id}
    snapshot = {k: values[k] for k in (*EDITABLE, "active")}
    version = {
        "code": values["code"],
        "version": values["version"],
        "action": action,
        "actor": principal.id,
        "at": at,
        "snapshot": snapshot,
    }
    await store.save_matter(session, row, version)
    await session.commit()
    return view(row)


async def create(session: AsyncSession, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    if await store.get_matter(session, body["code"]) is not None:
        raise Conflict(f"matter {body['code']} already exists (retired ones too: edit it instead)")
    values = {**body, "version": 1, "active": True}
    await _check_departments(session, values)
    return await _save(session, principal, values, "created")


async def update(
    session: AsyncSession,
    principal: Principal,
    code: str,
    body: dict[str, Any],
    expected_version: int | None = None,
) -> dict[str, Any]:
    current = await store.get_matter(session, code, for_update=True)
    if current is None:
        raise NotFound(f"no matter {code}")
    if expected_version is not None and expected_version != current["version"]:
        raise Conflict(
            f"matter {code} is at version {current['version']}, not {expected_version}: "
            "someone saved it in between",
            code="version_conflict",
        )
    values = {**dict(current), **body, "code": code, "version": current["version"] + 1}
    values.pop("updated_at", None)
    values.pop("updated_by", None)
    await _check_departments(session, values)
    return await _save(session, principal, values, "updated" if values["active"] else "retired")


async def retire(session: AsyncSession, principal: Principal, code: str) -> dict[str, Any]:
    current = await store.get_matter(session, code, for_update=True)
    if current is None:
        raise NotFound(f"no matter {code}")
    if not current["active"]:
        raise Conflict(f"matter {code} is already retired", code="already_retired")
    values = {**dict(current), "version": current["version"] + 1, "active": False}
    values.pop("updated_at", None)
    values.pop("updated_by", None)
    return await _save(session, principal, values, "retired")


async def dispatch_queue(
    session: AsyncSession, state: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    """One page of the queue, urgent first, oldest first, on the queue's index (keyset: the
    cursor carries the last row's place in that order)."""
    rows, next_cursor = await store.dispatch_queue_page(
        session, (state,) if state else ("waiting", "review"), cursor, limit
    )
    names = await store.matter_names(
        session, {s["matter"] for r in rows for s in r["suggestions"] if s.get("matter")}
    )
    for r in rows:
        for key in ("queued_at", "decided_at"):
            r[key] = r[key].isoformat() if r[key] else None
        for s in r["suggestions"]:
            s["matter_name"] = names.get(s.get("matter") or "")
    return {"items": rows, "next_cursor": next_cursor}


async def models(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await store.recent_models(session)
    for r in rows:
        r["trained_at"] = r["trained_at"].isoformat()
    return rows


async def suggest(
    session: AsyncSession, models: learning.ModelCache, text: str, limit: int
) -> dict[str, Any]:
    """The matters a text most resembles, best first, with their lead department's name:
    what an agent sees under the content box while typing. The newest dispatch model's
    (from `models`, the runtime's cache) probability of each active matter (a matter retired
    since the model was trained is left out; the lead department is the catalogue's current
    one)."""
    active = await store.active_matters(session)
    names = await store.department_names(session)
    model = await models.get(session)
    if model is None:
        return {"items": [], "model_version": None}
    if not model.knows_any_of(text):  # words the model never saw: nothing but its prior
        return {"items": [], "model_version": model.version}
    probabilities = model.probabilities(text)
    ranked = sorted(
        ((float(p), label) for p, label in zip(probabilities, model.classes, strict=True) if label in active),
        key=lambda pair: -pair[0],
    )
    items = []
    for probability, code in ranked[:limit]:
        matter = active[code]
        items.append(
            {
                "code": code,
                "name": matter["name"],
                "category": matter["category"],
                "lead_department": matter["lead_department"],
                "lead_department_name": names.get(matter["lead_department"], matter["lead_department"]),
                "co_departments": list(matter["co_departments"]),
                "confidence": round(probability, 4),
            }
        )
    return {"items": items, "model_version": model.version}
