"""The knowledge base's commands and queries (intake, where agents answer).

Articles are intake's own reference data, not part of a request's life, so their changes
are kept as versions here rather than published as lifecycle events; what other services
learn is which article an answer at intake cited (on request.answered_at_intake).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import store
from services.intake.domain.knowledge import (
    Action,
    NotAllowed,
    is_live,
    may_approve,
    may_edit,
    next_status,
    query_terms,
    search_text,
    strip_personal_data,
    terms,
)
from shared.auth import Principal
from shared.clock import now
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from shared.lifecycle import State
from shared.pagination import keyset_page

SNAPSHOT_FIELDS = ("question", "answer", "category", "keywords", "department", "valid_from", "valid_to")
# States in which a request has been resolved: only those can become typical cases.
RESOLVED_STATES = {
    State.RESOLVED,
    State.FEEDBACK_GIVEN,
    State.RATED,
    State.REVISITED,
    State.CLOSED,
    State.ANSWERED_AT_INTAKE,
}


def _terms_of(values: dict[str, Any]) -> dict[str, str]:
    return {
        "keyword_terms": search_text(values.get("keywords") or []),
        "question_terms": search_text([values["question"]]),
        "answer_terms": search_text([values["answer"]]),
    }


def _snapshot(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in values.items()
        if k in SNAPSHOT_FIELDS
    }


def view(row: Any, versions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out = {
        k: row[k]
        for k in (
            "id",
            "kind",
            "status",
            "version",
            "question",
            "answer",
            "category",
            "keywords",
            "department",
            "valid_from",
            "valid_to",
            "source_request_id",
            "note",
            "created_by",
            "approved_by",
            "updated_at",
        )
    }
    if versions is not None:
        out["versions"] = versions
    return out


async def _record(
    session: AsyncSession, row: dict[str, Any], action: str, by: str, note: str | None = None
) -> None:
    await store.kb_insert_version(
        session,
        {
            "article_id": row["id"],
            "version": row["version"],
            "status": row["status"],
            "action": action,
            "snapshot": _snapshot(row),
            "by": by,
            "note": note,
        },
    )


def _check_validity(values: dict[str, Any]) -> None:
    if values.get("valid_from") and values.get("valid_to") and values["valid_to"] <= values["valid_from"]:
        raise Unprocessable(
            "valid_to must be after valid_from",
            fields=[field_error("valid_to", "after_valid_from", "must be after valid_from")],
        )


async def create_article(
    session: AsyncSession, principal: Principal, values: dict[str, Any], article_id: str | None = None
) -> dict[str, Any]:
    if not may_edit(principal, values.get("department")):
        raise Forbidden("only the owning department's head or an admin may write its articles")
    _check_validity(values)
    row = {
        "id": article_id or str(uuid.uuid4()),
        "kind": "article",
        "status": "draft",
        "version": 1,
        **values,
        "created_by": principal.id,
    }
    if not await store.kb_insert(session, {**row, **_terms_of(row)}):
        raise Conflict(f"article {row['id']} exists already")
    await _record(session, row, "create", principal.id)
    await session.commit()
    return await get_article(session, row["id"])


async def _load(session: AsyncSession, article_id: str) -> dict[str, Any]:
    row = await store.kb_get(session, article_id, for_update=True)
    if row is None:
        raise NotFound(f"no article {article_id}")
    return row


async def edit_article(
    session: AsyncSession, principal: Principal, article_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    row = await _load(session, article_id)
    if not may_edit(principal, row["department"]) or (
        values.get("department") not in (None, row["department"]) and principal.role != "admin"
    ):
        raise Forbidden("only the owning department's head or an admin may edit this article")
    status = _move(row, "edit")
    updated = {**row, **{k: v for k, v in values.items() if v is not None}, "status": status}
    updated["version"] = row["version"] + 1
    _check_validity(updated)
    await store.kb_update(
        session,
        article_id,
        {
            **{k: updated[k] for k in SNAPSHOT_FIELDS},
            **_terms_of(updated),
            "status": status,
            "version": updated["version"],
            "approved_by": None,
            "updated_at": now(),
        },
    )
    await _record(session, updated, "edit", principal.id)
    await session.commit()
    return await get_article(session, article_id)


def _move(row: dict[str, Any], action: Action) -> str:
    try:
        return next_status(row["status"], action)
    except NotAllowed as exc:
        raise Conflict(str(exc), current_state=row["status"]) from exc


async def transition(
    session: AsyncSession, principal: Principal, article_id: str, action: Action, note: str | None = None
) -> dict[str, Any]:
    """submit / approve / reject / retire."""
    row = await _load(session, article_id)
    if action in ("approve", "reject"):
        if not may_approve(principal, row.get("created_by")):
            raise Forbidden("publishing needs a supervisor's (or another admin's) approval")
        if action == "reject" and not note:
            raise Unprocessable(
                "say why it is rejected", fields=[field_error("note", "required", "a rejection needs a note")]
            )
    elif action == "submit" and row["kind"] == "case":
        if principal.role not in ("agent", "handler", "dept_head", "admin"):
            raise Forbidden("your role may not submit case studies")
    elif not may_edit(principal, row["department"]):
        raise Forbidden("only the owning department's head or an admin may do this")
    status = _move(row, action)
    await store.kb_update(
        session,
        article_id,
        {
            "status": status,
            "note": note,
            "approved_by": principal.id if action == "approve" else row["approved_by"],
            "updated_at": now(),
        },
    )
    await _record(session, {**row, "status": status}, action, principal.id, note)
    await session.commit()
    return await get_article(session, article_id)


async def get_article(session: AsyncSession, article_id: str, with_versions: bool = False) -> dict[str, Any]:
    row = await store.kb_get(session, article_id)
    if row is None:
        raise NotFound(f"no article {article_id}")
    versions = None
    if with_versions:
        versions = [
            {k: r[k] for k in ("version", "status", "action", "snapshot", "by", "note", "at")}
            for r in await store.kb_versions_of(session, article_id)
        ]
    return view(row, versions)


async def search(
    session: AsyncSession,
    text: str,
    *,
    limit: int = 10,
    category: str | None = None,
    live_only: bool = True,
    at: datetime | None = None,
    min_rank: float = 0.0,
) -> list[dict[str, Any]]:
    """Ranked full-text search over jieba terms: any term may match (OR), and articles that
    match more terms, and in their keywords and question, rank higher. `min_rank` leaves out
    what matches too little to be worth reading."""
    words = query_terms(text)
    if not words:
        return []
    rows = await store.kb_search(
        session,
        words,
        limit=limit,
        category=category,
        live_at=(at or now()) if live_only else None,
        min_rank=min_rank,
    )
    return [{**view(r), "rank": round(float(r["rank"]), 4)} for r in rows]


async def list_articles(
    session: AsyncSession,
    *,
    status: str | None,
    kind: str | None,
    department: str | None,
    cursor: str | None = None,
    limit: int,
) -> dict[str, Any]:
    """A keyset page of articles, most recently changed first."""
    rows = await store.kb_page(session, status, kind, department, cursor, limit)
    return keyset_page(rows, limit, store.KB_KEY, view)


# Below this an article shares a word or two with the request but does not answer it (a
# gas leak is not answered by the water-outage article). On the shipped question set the
# right answer ranks 0.39 or more; matches by a stray common word rank around 0.06-0.13.
SUGGESTION_FLOOR = 0.2


async def suggestions(session: AsyncSession, content: str, limit: int = 3) -> list[dict[str, Any]]:
    """The top articles for a consultation, offered with the intake answer; none rather
    than irrelevant ones."""
    return [
        {"id": r["id"], "kind": r["kind"], "question": r["question"], "rank": r["rank"]}
        for r in await search(session, content, limit=limit, min_rank=SUGGESTION_FLOOR)
    ]


async def live_article(session: AsyncSession, article_id: str) -> bool:
    row = await store.kb_get(session, article_id)
    return row is not None and is_live(row["status"], row["valid_from"], row["valid_to"], now())


async def propose_case(
    session: AsyncSession, principal: Principal, request_id: str, answer: str, title: str | None
) -> dict[str, Any]:
    """A resolved request proposed as a typical case: its text without personal data, the
    reviewed answer (also stripped), waiting for a supervisor's approval."""
    request = await store.get_request(session, request_id)
    if request is None:
        raise NotFound(f"no request {request_id}")
    if State(request["state"]) not in RESOLVED_STATES:
        raise Conflict("only a resolved request can become a typical case", current_state=request["state"])
    requester = request["requester"] or {}
    known = [requester.get(k) or "" for k in ("name", "address", "phone", "email", "id_number")]
    question = strip_personal_data(title or request["content"], known)
    row = {
        "id": f"case-{request_id}",
        "kind": "case",
        "status": "pending",
        "version": 1,
        "question": question,
        "answer": strip_personal_data(answer, known),
        "category": request["category"],
        "keywords": terms(question)[:8],
        "department": request["lead_department"],
        "valid_from": None,
        "valid_to": None,
        "source_request_id": request_id,
        "created_by": principal.id,
    }
    if not await store.kb_insert(session, {**row, **_terms_of(row)}):
        raise Conflict(f"request {request_id} was proposed as a case already")
    await _record(session, row, "propose", principal.id)
    await session.commit()
    return await get_article(session, row["id"])


async def seed_articles(session: AsyncSession, articles: list[dict[str, Any]]) -> int:
    """Starter articles, published, where none with that id exists (edits are kept)."""
    added = 0
    for values in articles:
        row = {**values, "kind": "article", "status": "published", "version": 1, "created_by": "seed"}
        if not await store.kb_insert(session, {**row, **_terms_of(row), "approved_by": "seed"}):
            continue  # kept as edited
        await _record(session, row, "create", "seed", "starter knowledge base")
        added += 1
    return added
