from __future__ import annotations

import pytest

from shared.lifecycle import IllegalTransition, State, allowed, follow, next_state

HAPPY_PATH = [
    "request.received",
    "request.routed",
    "request.accepted",
    "request.contacted",
    "request.progressed",
    "request.resolved",
    "request.feedback_given",
    "request.rated",
    "request.revisited",
    "request.closed",
]


def walk(events: list[str]) -> State:
    state: State | None = None
    for event in events:
        state = next_state(state, event)
    assert state is not None
    return state


def test_the_happy_path_ends_closed() -> None:
    assert walk(HAPPY_PATH) == State.CLOSED


def test_answered_at_intake_goes_straight_to_feedback() -> None:
    assert (
        walk(["request.received", "request.answered_at_intake", "request.feedback_given", "request.closed"])
        == State.CLOSED
    )


def test_incomplete_waits_for_supplements_then_routes() -> None:
    assert (
        walk(["request.received", "request.incomplete", "request.supplemented", "request.routed"])
        == State.ROUTED
    )


def test_returned_is_rerouted_and_reopened_comes_back() -> None:
    state = walk(
        [
            "request.received",
            "request.routed",
            "request.returned",
            "request.rerouted",
            "request.accepted",
            "request.resolved",
            "request.feedback_given",
            "request.rated",
            "request.reopened",
        ]
    )
    assert state == State.REOPENED
    assert next_state(state, "request.rerouted") == State.ROUTED


def test_events_that_do_not_move_the_state() -> None:
    state = walk(["request.received", "request.routed", "request.accepted"])
    for event in (
        "request.extension_requested",
        "request.sla_warning",
        "request.supervised",
        "request.co_opinion_added",
    ):
        assert next_state(state, event) == State.ACCEPTED


@pytest.mark.parametrize(
    ("events", "illegal", "current"),
    [
        (["request.received"], "request.accepted", State.RECEIVED),
        (["request.received", "request.routed"], "request.resolved", State.ROUTED),
        (["request.received", "request.routed", "request.accepted"], "request.accepted", State.ACCEPTED),
        (HAPPY_PATH, "request.rated", State.CLOSED),
        (HAPPY_PATH[:6], "request.withdrawn", State.RESOLVED),
        (["request.received", "request.withdrawn"], "request.routed", State.WITHDRAWN),
    ],
)
def test_illegal_transitions_name_the_current_state(events: list[str], illegal: str, current: State) -> None:
    state = walk(events)
    with pytest.raises(IllegalTransition) as caught:
        next_state(state, illegal)
    assert caught.value.current == current
    assert current.value in str(caught.value)


def test_received_happens_once_and_only_first() -> None:
    assert allowed(None, "request.received")
    assert not allowed(State.RECEIVED, "request.received")
    with pytest.raises(IllegalTransition):
        next_state(None, "request.routed")


def test_unknown_events_are_not_transitions() -> None:
    assert not allowed(State.ROUTED, "request.teleported")


def test_follow_tolerates_what_does_not_fit() -> None:
    assert follow(State.CLOSED, "request.accepted") is None
    assert follow(State.ROUTED, "request.accepted") == State.ACCEPTED
