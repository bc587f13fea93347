"""A request as intake keeps it: the person's request from its arrival until a department
has it (or it ended at intake: answered on the spot, merged, withdrawn).

The aggregate checks who may act and what the lifecycle allows, and returns the event to
raise; it owns the columns intake's commands change (`OWNED`) and says which of them a
command changed (`changes`), for the store to save. It does no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.intake.domain.materials import Problem, RequiredMaterial, check, merge
from shared.events.catalogue import (
    EventData,
    RequestAnsweredAtIntake,
    RequestChased,
    RequestMerged,
    RequestMergeReleased,
    RequestRouted,
    RequestSupplemented,
    RequestWithdrawn,
)
from shared.lifecycle import State, follow, next_state

if TYPE_CHECKING:
    from shared.auth import Principal

# The columns of a request that intake's commands, and its following of the other services'
# steps, change (nothing else saves them).
OWNED = (
    "state",
    "materials",
    "missing",
    "paused_from",
    "merged_into",
    "answer",
    "lead_department",
    "co_departments",
    "urgency",
    "category",
    "matter",
    "closed_at",
)
# A primary in one of these states takes no more duplicates.
ENDED = frozenset({State.CLOSED, State.MERGED, State.WITHDRAWN})


class NotThisChannels(Exception):
    """Another channel's request does not exist for a channel (answered as 404)."""


class NotWaitingForMaterials(Exception):
    """Materials are supplemented only while the request is incomplete."""

    def __init__(self, request_id: str, state: State) -> None:
        super().__init__(f"request {request_id} is {state.value}, not waiting for materials")
        self.request_id = request_id
        self.state = state


class MergeIntoItself(Exception):
    """A request is merged into another request, never into itself."""


class PrimaryEnded(Exception):
    """A duplicate is merged into an open request only."""

    def __init__(self, primary_id: str, state: State) -> None:
        super().__init__(f"request {primary_id} is {state.value}; merge into an open request")
        self.primary_id = primary_id
        self.state = state


class NotFirstResponder(Exception):
    """Only the request's first responder chases it."""


@dataclass(frozen=True)
class StillMissing:
    """A supplement that did not complete the materials: the clock stays paused."""

    problems: list[Problem]


def check_merge_target(request_id: str, into: str) -> None:
    """Refuse a merge into the request itself (before either is looked up)."""
    if into == request_id:
        raise MergeIntoItself(request_id)


@dataclass(frozen=True)
class IntakeRequest:
    id: str
    state: State
    channel: str
    first_responder_kind: str
    first_responder_id: str
    category: str = "consultation"
    urgency: str = "normal"
    lead_department: str | None = None
    co_departments: tuple[str, ...] = ()
    matter: str | None = None
    closed_at: datetime | None = None
    materials: tuple[dict[str, Any], ...] = ()
    missing: tuple[dict[str, Any], ...] = ()
    paused_from: datetime | None = None
    merged_into: str | None = None
    answer: str | None = None
    # The owned columns a command set, for the store to save (never compared).
    changed: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> IntakeRequest:
        return cls(
            id=row["id"],
            state=State(row["state"]),
            channel=row["channel"],
            first_responder_kind=row["first_responder_kind"],
            first_responder_id=row["first_responder_id"],
            category=row["category"],
            urgency=row["urgency"],
            lead_department=row.get("lead_department"),
            co_departments=tuple(row.get("co_departments") or ()),
            matter=row.get("matter"),
            closed_at=row.get("closed_at"),
            materials=tuple(row.get("materials") or ()),
            missing=tuple(row.get("missing") or ()),
            paused_from=row.get("paused_from"),
            merged_into=row.get("merged_into"),
            answer=row.get("answer"),
        )

    def to_row(self) -> dict[str, Any]:
        """Every column the aggregate owns, as stored."""
        return {
            "state": self.state.value,
            "materials": list(self.materials),
            "missing": list(self.missing),
            "paused_from": self.paused_from,
            "merged_into": self.merged_into,
            "answer": self.answer,
            "lead_department": self.lead_department,
            "co_departments": list(self.co_departments),
            "urgency": self.urgency,
            "category": self.category,
            "matter": self.matter,
            "closed_at": self.closed_at,
        }

    def changes(self) -> dict[str, Any]:
        """The owned columns the commands since loading set, as stored."""
        row = self.to_row()
        return {name: row[name] for name in OWNED if name in self.changed}

    def _set(self, **columns: Any) -> IntakeRequest:
        unknown = set(columns) - set(OWNED)
        if unknown:
            raise ValueError(f"not columns the request owns: {', '.join(sorted(unknown))}")
        return replace(self, changed=self.changed | set(columns), **columns)

    # --- who sees it ---------------------------------------------------------------------

    def check_channel(self, principal_kind: str, principal_id: str) -> None:
        """A channel acts on its own requests only: another's does not exist for it."""
        if principal_kind == "channel" and principal_id != self.channel:
            raise NotThisChannels(self.id)

    def may_see(self, principal: Principal) -> bool:
        """Channels see their own requests; department staff those their department leads
        or co-handles; the other roles all."""
        if principal.kind == "channel":
            return self.channel == principal.id
        return principal.sees(self.lead_department, *self.co_departments)

    # --- commands ------------------------------------------------------------------------

    def supplement(
        self, given: Sequence[dict[str, Any]], required: Sequence[RequiredMaterial], at: datetime
    ) -> tuple[IntakeRequest, RequestSupplemented | StillMissing]:
        """补件: the materials given replace earlier ones of the same code. Complete, the
        request moves on and its paused clock runs again; else it stays incomplete and says
        what is still missing."""
        if self.state != State.INCOMPLETE:
            raise NotWaitingForMaterials(self.id, self.state)
        materials = merge(self.materials, given)
        problems = check(required, materials)
        if problems:
            still = self._set(
                state=State.INCOMPLETE,
                materials=tuple(materials),
                missing=tuple(p.as_dict() for p in problems),
            )
            return still, StillMissing(problems)
        state = next_state(self.state, RequestSupplemented)
        event = RequestSupplemented(
            materials=[m["code"] for m in given],
            paused_from=self.paused_from,  # type: ignore[arg-type]  # set while incomplete
            paused_until=at,
        )
        return self._set(state=state, materials=tuple(materials), missing=(), paused_from=None), event

    def answer_at_intake(
        self, text: str, agent_id: str, article_id: str | None = None
    ) -> tuple[IntakeRequest, RequestAnsweredAtIntake]:
        """The agent answered a consultation on the spot (the text already masked)."""
        state = next_state(self.state, RequestAnsweredAtIntake)
        event = RequestAnsweredAtIntake(answer=text, agent_id=agent_id, article_id=article_id)
        return self._set(state=state, answer=text), event

    def merge_into(self, primary: IntakeRequest) -> tuple[IntakeRequest, RequestMerged]:
        """A duplicate follows an open primary (a merged one may be merged again)."""
        check_merge_target(self.id, primary.id)
        if primary.state in ENDED:
            raise PrimaryEnded(primary.id, primary.state)
        state = next_state(self.state, RequestMerged)
        return self._set(state=state, merged_into=primary.id), RequestMerged(into_request_id=primary.id)

    def withdraw(self, reason: str) -> tuple[IntakeRequest, RequestWithdrawn]:
        """The person withdraws it, before a department has resolved it (reason masked)."""
        state = next_state(self.state, RequestWithdrawn)
        return self._set(state=state), RequestWithdrawn(reason=reason)

    def release_merge(self) -> tuple[IntakeRequest, RequestMergeReleased]:
        """Its primary ended unhandled: the duplicate is received afresh, on its own."""
        state = next_state(self.state, RequestMergeReleased)
        if self.merged_into is None:
            raise ValueError(f"request {self.id} is merged into no request")
        return self._set(state=state, merged_into=None), RequestMergeReleased(
            former_primary_id=self.merged_into, new_primary_id=None
        )

    def chase_by(
        self, principal_kind: str, principal_id: str, note: str | None, earlier_chases: int
    ) -> RequestChased:
        """催办: only the first responder chases, while a department has it unresolved; the
        row itself does not change (the chase is recorded beside it)."""
        if (principal_kind, principal_id) != (self.first_responder_kind, self.first_responder_id):
            raise NotFirstResponder(self.id)
        next_state(self.state, RequestChased)
        return RequestChased(
            department=self.lead_department,
            chased_by=principal_id,
            note=note,
            chase_count=earlier_chases + 1,
        )

    # --- what the other services decide ---------------------------------------------------

    def following(self, data: EventData, at: datetime) -> IntakeRequest | None:
        """Another service moved the request on (routed, accepted, resolved, closed, ...):
        the first responder's view follows; None when the step does not fit its state (a
        redelivery after the fact, or out of order)."""
        state = follow(self.state, type(data))
        if state is None:
            return None
        columns: dict[str, Any] = {"state": state}
        if isinstance(data, RequestRouted):  # routed or rerouted
            columns["lead_department"] = data.lead_department
            columns["co_departments"] = tuple(data.co_departments)
            # Routing read the text: an urgent request, or the category of its matter.
            if data.urgency == "urgent":
                columns["urgency"] = "urgent"
            if data.category:
                columns["category"] = data.category
            if data.matter:
                columns["matter"] = data.matter
        if state == State.CLOSED:
            columns["closed_at"] = at  # the retention period counts from here
        return self._set(**columns)
