"""Staff figures in the KPI service: the ratings projection (from followup's staff events),
the figures per staff member and period, and the self/superior evaluations beside them.

Visible to the staff member, their department's head and supervisors (and admins) only.
A member's department is the one their ratings and handled cases name."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi import store
from services.kpi.domain.facts import Fact
from services.kpi.domain.figures import Period
from services.kpi.domain.staff import StaffRating, staff_figures
from shared.auth import Principal
from shared.errors import Forbidden
from shared.events.catalogue import StaffRated, StaffRectificationDecided
from shared.events.envelope import Envelope
from shared.outbox import UnitOfWork


async def on_staff_rated(uow: UnitOfWork, envelope: Envelope, data: StaffRated) -> None:
    await store.add_staff_rating(
        uow.session,
        {
            "rating_id": data.rating_id,
            "staff_id": data.staff_id,
            "department": data.department,
            "level": data.level,
            "bad": data.bad,
            "rated_at": data.rated_at,
            "rectification_due": data.rectification_due,
        },
    )


async def on_rectification_decided(
    uow: UnitOfWork, envelope: Envelope, data: StaffRectificationDecided
) -> None:
    # The rating may arrive after its decision (other partition order): keep what is known.
    decided = {
        "outcome": data.outcome,
        "counts_against_staff": data.counts_against_staff,
        "rectified_on_time": data.on_time,
    }
    known = {
        "rating_id": data.rating_id,
        "staff_id": data.staff_id,
        "department": data.department,
        "level": "unsatisfied",
        "bad": True,
        "rated_at": envelope.occurred_at,
    }
    await store.decide_staff_rating(uow.session, known, decided)


async def department_of(session: AsyncSession, staff_id: str) -> str | None:
    """The department a member's latest rating or handled case names."""
    return await store.staff_department(session, staff_id)


def may_see(principal: Principal, staff_id: str, department: str | None) -> bool:
    if principal.role in ("supervisor", "admin"):
        return True
    if principal.id == staff_id and principal.kind == "staff":
        return True
    return principal.role == "dept_head" and department is not None and principal.department == department


async def figures(
    session: AsyncSession, principal: Principal, staff_id: str, period: Period
) -> dict[str, Any]:
    department = await department_of(session, staff_id)
    if not may_see(principal, staff_id, department):
        raise Forbidden("staff figures are for the member, their department head and supervisors")
    facts = [Fact.from_row(r) for r in await store.facts_of_staff(session, staff_id)]
    ratings = [StaffRating(**r) for r in await store.staff_ratings_of(session, staff_id)]
    evaluations = {
        r["kind"]: {"score": r["score"], "text": r["text"], "by": r["by"], "at": r["at"]}
        for r in await store.staff_evaluations_of(session, staff_id, period.label)
    }
    return {
        **staff_figures(staff_id, facts, ratings, period),
        "department": department,
        "evaluations": {"self": evaluations.get("self"), "superior": evaluations.get("superior")},
    }


async def evaluate(
    session: AsyncSession,
    principal: Principal,
    staff_id: str,
    period: Period,
    kind: str,
    score: float,
    text: str,
) -> dict[str, Any]:
    """Self-evaluation by the member; superior evaluation by their head or a supervisor."""
    if kind == "self":
        if principal.id != staff_id or principal.kind != "staff":
            raise Forbidden("a self-evaluation is written by the staff member")
    else:
        department = await department_of(session, staff_id)
        superior = principal.role == "supervisor" or (
            principal.role == "dept_head" and department is not None and principal.department == department
        )
        if not superior or principal.id == staff_id:
            raise Forbidden(
                "a superior evaluation is written by the member's department head or a supervisor"
            )
    values = {"score": score, "text": text, "by": principal.id}
    await store.put_staff_evaluation(session, staff_id, period.label, kind, values)
    await session.commit()
    return {"staff_id": staff_id, "period": period.label, "kind": kind, **values}
