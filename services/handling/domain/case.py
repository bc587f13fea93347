"""A department's case: one request as one department (lead or co-handler) works on it.

The aggregate checks the lifecycle and who may act, and returns the event to raise;
it does no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from shared.events.catalogue import (
    EventData,
    Outcome,
    RequestAccepted,
    RequestContacted,
    RequestCoOpinionAdded,
    RequestProgressed,
    RequestResolved,
    RequestReturned,
    Step,
)
from shared.lifecycle import State, next_state

Role = Literal["lead", "co"]


class NotYourCase(Exception):
    """The actor's department does not handle this case (answered as 404: no existence leak)."""


class NotLead(Exception):
    """Only the lead department may do this."""


class NotCoHandler(Exception):
    """Only a co-handling department adds an opinion."""


class ReturnWindowClosed(Exception):
    """退单 is for requests that are not the department's: before acceptance, or soon after."""


class LeadResolved(Exception):
    """The lead department has resolved the request: no more co-handling opinions."""


class OpinionsMissing(Exception):
    """The lead resolves once every co-handler has given its opinion, or says why not."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


@dataclass(frozen=True)
class Case:
    request_id: str
    department: str
    role: Role
    state: State
    category: str
    urgency: str
    due: dict[str, str | None] = field(default_factory=dict)
    handler_id: str | None = None
    routed_at: datetime | None = None
    accepted_at: datetime | None = None

    def left_for_another(self) -> Case:
        """The request went to other departments: this one's part ends as returned."""
        return replace(self, state=State.RETURNED)

    def ended(self, state: State) -> Case:
        """The request ended elsewhere (answered at intake, merged, withdrawn, closed)."""
        return replace(self, state=state)

    def ended_with_the_lead(self) -> Case:
        """A co-handler's part ends when the lead resolves."""
        return replace(self, state=State.RESOLVED)

    def _check(self, actor_department: str | None, *, lead_only: bool = True) -> None:
        if actor_department != self.department:
            raise NotYourCase(self.request_id)
        if lead_only and self.role != "lead":
            raise NotLead(self.request_id)

    def accept(
        self, actor_department: str | None, handler_id: str, at: datetime | None = None
    ) -> tuple[Case, EventData]:
        self._check(actor_department)
        state = next_state(self.state, RequestAccepted)
        return replace(self, state=state, handler_id=handler_id, accepted_at=at), RequestAccepted(
            department=self.department, handler_id=handler_id
        )

    def contact(self, actor_department: str | None, handler_id: str, how: str) -> tuple[Case, EventData]:
        self._check(actor_department)
        state = next_state(self.state, RequestContacted)
        return replace(self, state=state), RequestContacted(
            department=self.department, handler_id=handler_id, how=how
        )

    def progress(
        self, actor_department: str | None, handler_id: str, step: Step, note: str
    ) -> tuple[Case, EventData]:
        self._check(actor_department)
        state = next_state(self.state, RequestProgressed)
        return replace(self, state=state), RequestProgressed(
            department=self.department,
            handler_id=handler_id,
            step=step,
            note=note,
        )

    def resolve(
        self,
        actor_department: str | None,
        handler_id: str,
        outcome: Outcome,
        reply: str,
        *,
        co_departments: frozenset[str] = frozenset(),
        opinions_from: frozenset[str] = frozenset(),
        override_reason: str | None = None,
    ) -> tuple[Case, EventData]:
        self._check(actor_department)
        missing = sorted(co_departments - opinions_from)
        if missing and not override_reason:
            raise OpinionsMissing(missing)
        state = next_state(self.state, RequestResolved)
        return replace(self, state=state), RequestResolved(
            department=self.department,
            handler_id=handler_id,
            outcome=outcome,
            reply=reply,
            override_reason=override_reason if missing else None,
            missing_opinions=missing,
        )

    def add_opinion(
        self, actor_department: str | None, opinion: str, *, lead_state: State | None = None
    ) -> tuple[Case, EventData]:
        """A co-handling department's opinion on a cross-department request, while the lead
        has not resolved it."""
        if actor_department != self.department:
            raise NotYourCase(self.request_id)
        if self.role != "co":
            raise NotCoHandler(self.request_id)
        if self.state == State.RESOLVED or lead_state == State.RESOLVED:
            raise LeadResolved(self.request_id)
        next_state(self.state, RequestCoOpinionAdded)
        return self, RequestCoOpinionAdded(department=self.department, opinion=opinion)

    def return_(
        self,
        actor_department: str | None,
        reason: str,
        *,
        now: datetime | None = None,
        window: timedelta = timedelta(hours=24),
        belongs_to: str | None = None,
    ) -> tuple[Case, EventData]:
        """退单: the department is not responsible; routing sends it elsewhere (to the one it
        names as responsible, when it names one)."""
        self._check(actor_department)
        if self.state == State.ACCEPTED and self.accepted_at and now and now > self.accepted_at + window:
            raise ReturnWindowClosed(self.request_id)
        state = next_state(self.state, RequestReturned)
        return replace(self, state=state), RequestReturned(
            department=self.department, reason=reason, belongs_to_department=belongs_to
        )
