"""A request's assignment in routing: its route (the lead department, the co-handlers, where
it stands, how often it was returned and by whom, the matter, the due times) and its place
in the dispatcher's queue.

The aggregate holds the rules of what each routing decision does to the route and what is
refused; it does no I/O. Each method returns the new aggregate, which remembers the columns
it set (`changes()`) for the store to save. What needs I/O (the rules, the model, the
calendar and its due times) is decided in the service and handed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, cast

from shared.events.catalogue import Category, RequestRerouted, Urgency
from shared.lifecycle import State, next_state

# The request's facts routing decides from (as intake sent them); the route does not change them.
FACTS = ("category", "urgency", "topic", "area", "business_type", "text")
# The route's columns the assignment sets, by their name in the row.
OWNED = (
    "lead_department",
    "co_departments",
    "excluded_departments",
    "returns",
    "state",
    "due",
    "urgency",
    "category",
    "matter",
    "decided_by",
    "clocks_started_at",
    "paused_since",
)

QueueState = Literal["waiting", "review"]
AfterReturn = Literal["named", "reroute", "escalate"]


class AlreadyDispatched(Exception):
    """The dispatcher's queue item was decided already (answered as 409)."""

    def __init__(self, request_id: str, decided_by: str | None) -> None:
        super().__init__(request_id)
        self.request_id = request_id
        self.decided_by = decided_by


class NotReturned(Exception):
    """Only a returned request is escalated to the coordinating department."""


@dataclass(frozen=True)
class Return:
    """Where a returned request goes next: to the department the returning one named
    (`named`), to the best remaining guess (`reroute`), or to the coordinating department
    after too many returns (`escalate`)."""

    next: AfterReturn
    department: str | None = None  # the named department, for `named`


@dataclass(frozen=True)
class Assignment:
    request_id: str
    state: State
    category: Category
    urgency: Urgency
    topic: str | None = None
    area: str | None = None
    business_type: str | None = None
    text: str | None = None
    lead: str | None = None
    co: tuple[str, ...] = ()
    excluded: frozenset[str] = frozenset()
    returns: int = 0
    due: dict[str, Any] | None = None
    matter: str | None = None
    decided_by: str | None = None
    clocks_started_at: datetime | None = None
    paused_since: datetime | None = None
    # The columns set since it was loaded or last saved, in the order they were first set.
    changed: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Assignment:
        return cls(
            request_id=row["request_id"],
            state=State(row["state"]),
            category=row["category"],
            urgency=row["urgency"],
            topic=row.get("topic"),
            area=row.get("area"),
            business_type=row.get("business_type"),
            text=row.get("text"),
            lead=row.get("lead_department"),
            co=tuple(row.get("co_departments") or ()),
            excluded=frozenset(row.get("excluded_departments") or ()),
            returns=row.get("returns") or 0,
            due=row.get("due"),
            matter=row.get("matter"),
            decided_by=row.get("decided_by"),
            clocks_started_at=row.get("clocks_started_at"),
            paused_since=row.get("paused_since"),
        )

    @classmethod
    def arrived(
        cls,
        request_id: str,
        *,
        category: Category,
        urgency: Urgency,
        topic: str | None,
        area: str | None,
        business_type: str | None,
        text: str | None,
        awaiting_materials: bool,
    ) -> Assignment:
        """A new request: not yet routed, waiting for its materials if some are missing
        (its clocks have not started)."""
        return cls(
            request_id=request_id,
            state=State.INCOMPLETE if awaiting_materials else State.RECEIVED,
            category=category,
            urgency=urgency,
            topic=topic,
            area=area,
            business_type=business_type,
            text=text,
        )

    def new_row(self) -> dict[str, Any]:
        """The row a new request's route is created with (the rest take their defaults)."""
        return {
            "request_id": self.request_id,
            **self.facts(),
            "returns": self.returns,
            "state": self.state.value,
        }

    # --- what the store saves ---------------------------------------------------------------
    def to_row(self) -> dict[str, Any]:
        """Every column the assignment owns, as stored."""
        return {
            "lead_department": self.lead,
            "co_departments": list(self.co),
            "excluded_departments": sorted(self.excluded),
            "returns": self.returns,
            "state": self.state.value,
            "due": self.due,
            "urgency": self.urgency,
            "category": self.category,
            "matter": self.matter,
            "decided_by": self.decided_by,
            "clocks_started_at": self.clocks_started_at,
            "paused_since": self.paused_since,
        }

    def changes(self) -> dict[str, Any]:
        """The columns set since it was loaded or saved, as stored."""
        row = self.to_row()
        return {name: row[name] for name in self.changed}

    def saved(self) -> Assignment:
        """As it stands once its changes are saved."""
        return replace(self, changed=())

    def facts(self) -> dict[str, Any]:
        """What the routing rules and the model decide from."""
        return {name: getattr(self, name) for name in FACTS}

    def _set(self, columns: Iterable[str], **values: Any) -> Assignment:
        changed = self.changed + tuple(c for c in dict.fromkeys(columns) if c not in self.changed)
        return replace(self, changed=changed, **values)

    # --- before the first routing -----------------------------------------------------------
    @property
    def routable(self) -> bool:
        """A request that arrived complete is routed at once."""
        return self.state == State.RECEIVED

    @property
    def awaiting_materials(self) -> bool:
        """Materials missing: routing waits for the supplement."""
        return self.state == State.INCOMPLETE

    @property
    def merged(self) -> bool:
        return self.state == State.MERGED

    def supplemented(self) -> Assignment:
        """The materials came: it is routed now (its clocks start from the supplement)."""
        return self._set(("state",), state=State.SUPPLEMENTED)

    def released(self) -> Assignment:
        """A merged duplicate whose primary went away is routed on its own."""
        return self._set(("state",), state=State.RECEIVED)

    # --- routing ----------------------------------------------------------------------------
    def judged(self, *, urgent_rule: str | None, category: str | None, category_derived: bool) -> Assignment:
        """What the text says: urgent by the safety net's rule, and the matter's category where
        intake only guessed the category from words."""
        a = self
        if urgent_rule and a.urgency != "urgent":
            a = a._set(("urgency",), urgency="urgent")
        if category and category_derived:
            a = a._set(("category",), category=cast(Category, category))  # a matter's, from the catalogue
        return a

    def routed_to(
        self,
        lead: str,
        co: Sequence[str],
        *,
        due: dict[str, Any],
        matter: str | None,
        decided_by: str,
        started: datetime,
    ) -> Assignment:
        """Routed (or re-routed) to a lead and co-handlers: its clocks count from `started`
        and run (a new lead's clocks are not paused)."""
        return self._set(
            (
                "lead_department",
                "co_departments",
                "state",
                "due",
                "urgency",
                "category",
                "matter",
                "decided_by",
                "clocks_started_at",
                "paused_since",
            ),
            lead=lead,
            co=tuple(co),
            state=State.ROUTED,
            due=due,
            matter=matter,
            decided_by=decided_by,
            clocks_started_at=started,
            paused_since=None,
        )

    def queued(
        self,
        state: QueueState,
        *,
        lead: str,
        co: Sequence[str],
        matter: str | None,
        suggestions: list[dict[str, Any]],
        model_version: int | None,
        confidence: float | None,
        at: datetime,
    ) -> tuple[Assignment, dict[str, Any]]:
        """Into the dispatcher's queue: waiting (not routed yet), or in review (an urgent one
        already sent to the model's guess, which the queue item keeps). The route keeps the
        urgency and category judged; the queue item's row is returned for the store."""
        review = state == "review"
        item = {
            "request_id": self.request_id,
            "state": state,
            "urgent": self.urgency == "urgent",
            "text": self.text or "",
            "suggestions": suggestions,
            "model_version": model_version,
            "confidence": confidence,
            "queued_at": at,
            "lead_department": lead if review else None,
            "co_departments": list(co) if review else [],
            "matter": matter if review else None,
            "decided_by": None,
            "decided_at": None,
        }
        return self._set(("urgency", "category")), item

    # --- returns and escalation -------------------------------------------------------------
    def returned_by(
        self,
        department: str,
        belongs_to: str | None,
        *,
        active_departments: frozenset[str],
        max_returns: int,
    ) -> tuple[Assignment, Return]:
        """退单: one more return; the returning department is not asked again. It goes to the
        department it named (if active and not excluded), else to the best remaining guess,
        else (too many returns) to the coordinating department."""
        returned = self._set(
            ("returns", "excluded_departments", "state"),
            returns=self.returns + 1,
            excluded=self.excluded | {department},
            state=State.RETURNED,
        )
        if belongs_to and belongs_to in active_departments and belongs_to not in returned.excluded:
            return returned, Return("named", belongs_to)
        if returned.returns < max_returns:
            return returned, Return("reroute")
        return returned, Return("escalate")

    def escalated(self) -> Assignment:
        """Too many returns: the coordinating department takes it."""
        if self.state != State.RETURNED:
            raise NotReturned(self.request_id)
        return self._set(("state",), state=State.ESCALATED)

    # --- reopening, dispatch by hand, the end ----------------------------------------------
    def reopened(self) -> Assignment:
        """The person was not satisfied: it goes back to the same lead and co-handlers."""
        return self._set(("state",), state=State.REOPENED)

    def dispatchable(self, *, waiting_in_queue: bool = False) -> bool:
        """Whether dispatching it by hand is its first routing (a request waiting in the
        dispatcher's queue, never routed); otherwise it must be one that may be re-routed
        (IllegalTransition, a 409 naming its state, if not)."""
        if waiting_in_queue and self.state in (State.RECEIVED, State.SUPPLEMENTED):
            return True
        next_state(self.state, RequestRerouted)
        return False

    def stopped(self, state: State) -> Assignment:
        """Answered at intake, merged or withdrawn: nothing more to route."""
        return self._set(("state",), state=state)

    # --- the lead's clocks ------------------------------------------------------------------
    def is_lead(self, department: str) -> bool:
        return self.lead == department

    def paused(self, department: str, at: datetime) -> Assignment:
        """The lead waits on the person: its clocks stand still (a co-handler's pause is its own)."""
        if not self.is_lead(department):
            return self
        return self._set(("paused_since",), paused_since=at)

    def resumed(self) -> Assignment:
        """The lead's clocks run again."""
        if self.paused_since is None:
            return self
        return self._set(("paused_since",), paused_since=None)

    def due_moved(self, due: dict[str, Any]) -> Assignment:
        """New due times (an extension, a pause's end, a calendar change)."""
        return self._set(("due",), due=due)


@dataclass(frozen=True)
class QueueItem:
    """A request in the dispatcher's queue (待派单)."""

    request_id: str
    state: str  # waiting, review, dispatched, confirmed
    lead: str | None = None
    co: tuple[str, ...] = ()
    decided_by: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> QueueItem:
        return cls(
            request_id=row["request_id"],
            state=row["state"],
            lead=row.get("lead_department"),
            co=tuple(row.get("co_departments") or ()),
            decided_by=row.get("decided_by"),
        )

    @property
    def waiting(self) -> bool:
        return self.state == "waiting"

    def decide(self, lead: str, co: Sequence[str]) -> Literal["dispatched", "confirmed"]:
        """The dispatcher's decision: an urgent one already sent to this lead and these
        co-handlers is confirmed; anything else is dispatched. Refused once decided."""
        if self.state not in ("waiting", "review"):
            raise AlreadyDispatched(self.request_id, self.decided_by)
        if self.state == "review" and lead == self.lead and tuple(co) == self.co:
            return "confirmed"
        return "dispatched"


def closed_item(
    state: str, by: str, lead: str, co: Sequence[str], matter: str | None, at: datetime
) -> dict[str, Any]:
    """The columns a decision sets on a queue item still waiting or in review."""
    return {
        "state": state,
        "decided_by": by,
        "decided_at": at,
        "lead_department": lead,
        "co_departments": list(co),
        "matter": matter,
    }
