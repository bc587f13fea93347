"""The request lifecycle of DESIGN §4 as one pure state machine.

Every service keeps the lifecycle state of the requests it knows and asks this module
whether an event may happen now. An illegal transition raises `IllegalTransition`, which
the HTTP layer turns into 409 naming the current state.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    RECEIVED = "received"
    INCOMPLETE = "incomplete"
    SUPPLEMENTED = "supplemented"
    ANSWERED_AT_INTAKE = "answered_at_intake"
    ROUTED = "routed"
    RETURNED = "returned"
    ESCALATED = "escalated"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    FEEDBACK_GIVEN = "feedback_given"
    RATED = "rated"
    REOPENED = "reopened"
    REVISITED = "revisited"
    CLOSED = "closed"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"


S = State
TERMINAL = frozenset({S.CLOSED, S.MERGED, S.WITHDRAWN})  # nothing more happens but closing
# Before the department has resolved it, the person may still withdraw or it may be merged.
OPEN_BEFORE_RESOLUTION = frozenset(
    {
        S.RECEIVED,
        S.INCOMPLETE,
        S.SUPPLEMENTED,
        S.ROUTED,
        S.RETURNED,
        S.ESCALATED,
        S.ACCEPTED,
        S.IN_PROGRESS,
        S.REOPENED,
    }
)
HANDLING = frozenset({S.ROUTED, S.ACCEPTED, S.IN_PROGRESS})
# A `None` target means "the event is allowed here and leaves the state as it is".
_TRANSITIONS: dict[str, tuple[frozenset[State], State | None]] = {
    "request.incomplete": (frozenset({S.RECEIVED, S.SUPPLEMENTED}), S.INCOMPLETE),
    "request.supplemented": (frozenset({S.INCOMPLETE}), S.SUPPLEMENTED),
    # An agent may answer on the spot even if routing was quicker, as long as no department
    # has accepted it yet.
    "request.answered_at_intake": (frozenset({S.RECEIVED, S.SUPPLEMENTED, S.ROUTED}), S.ANSWERED_AT_INTAKE),
    "request.routed": (frozenset({S.RECEIVED, S.SUPPLEMENTED}), S.ROUTED),
    "request.rerouted": (frozenset({S.RETURNED, S.ESCALATED, S.REOPENED, S.ROUTED}), S.ROUTED),
    "request.returned": (frozenset({S.ROUTED, S.ACCEPTED}), S.RETURNED),
    "request.escalated": (frozenset({S.RETURNED, S.REOPENED, S.ROUTED}), S.ESCALATED),
    "request.accepted": (frozenset({S.ROUTED}), S.ACCEPTED),
    "request.contacted": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS),
    "request.progressed": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS),
    "request.extension_requested": (HANDLING, None),
    "request.extension_decided": (HANDLING, None),
    "request.co_opinion_added": (HANDLING, None),
    "request.paused": (HANDLING, None),
    "request.resumed": (HANDLING, None),
    "request.sla_warning": (frozenset(State) - TERMINAL, None),
    "request.due_recomputed": (frozenset(State) - TERMINAL, None),
    "request.sla_breached": (frozenset(State) - TERMINAL, None),
    "request.supervised": (HANDLING | {S.RETURNED, S.ESCALATED, S.REOPENED}, None),
    "request.resolved": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.RESOLVED),
    "request.feedback_given": (frozenset({S.RESOLVED, S.ANSWERED_AT_INTAKE}), S.FEEDBACK_GIVEN),
    "request.rated": (frozenset({S.FEEDBACK_GIVEN}), S.RATED),
    "request.reopened": (frozenset({S.FEEDBACK_GIVEN, S.RATED, S.REVISITED}), S.REOPENED),
    "request.revisit_scheduled": (frozenset({S.FEEDBACK_GIVEN, S.RATED, S.CLOSED}), None),
    "request.revisited": (frozenset({S.FEEDBACK_GIVEN, S.RATED, S.REVISITED}), S.REVISITED),
    # Withdrawn requests close at once; merged ones close with their primary.
    "request.closed": (frozenset({S.FEEDBACK_GIVEN, S.RATED, S.REVISITED, S.WITHDRAWN, S.MERGED}), S.CLOSED),
    # A duplicate may be merged again: into the new primary when its primary was withdrawn.
    "request.merged": (OPEN_BEFORE_RESOLUTION | {S.MERGED}, S.MERGED),
    # 催办: the first responder chases a request a department has and has not resolved.
    "request.chased": (HANDLING | {S.RETURNED, S.ESCALATED, S.REOPENED}, None),
    # Its primary ended unhandled: the earliest duplicate is handled on its own again.
    "request.merge_released": (frozenset({S.MERGED}), S.RECEIVED),
    "request.withdrawn": (OPEN_BEFORE_RESOLUTION, S.WITHDRAWN),
}


class IllegalTransition(Exception):
    def __init__(self, current: State | None, event_type: str) -> None:
        self.current = current
        self.event_type = event_type
        shown = current.value if current else "unknown"
        super().__init__(f"{event_type} is not allowed while the request is {shown}")


def allowed(current: State | None, event_type: str) -> bool:
    if event_type == "request.received":
        return current is None
    rule = _TRANSITIONS.get(event_type)
    return rule is not None and current is not None and current in rule[0]


def next_state(current: State | None, event_type: str) -> State:
    """The state after `event_type`, or IllegalTransition naming the current state."""
    if not allowed(current, event_type):
        raise IllegalTransition(current, event_type)
    if event_type == "request.received":
        return S.RECEIVED
    target = _TRANSITIONS[event_type][1]
    assert current is not None
    return target if target is not None else current


def follow(current: State | None, event_type: str) -> State | None:
    """For projections of another service's decisions: the new state, or None when the
    event does not fit (a redelivery after the fact, or out of order); the caller logs it."""
    try:
        return next_state(current, event_type)
    except IllegalTransition:
        return None
