from __future__ import annotations

import pytest

from shared.events.catalogue import (
    EventData,
    KpiPeriodScored,
    NotificationSent,
    RequestAccepted,
    RequestAnsweredAtIntake,
    RequestClosed,
    RequestContacted,
    RequestCoOpinionAdded,
    RequestExtensionRequested,
    RequestFeedbackGiven,
    RequestIncomplete,
    RequestMerged,
    RequestMergeReleased,
    RequestPaused,
    RequestProgressed,
    RequestRated,
    RequestReceived,
    RequestReopened,
    RequestRerouted,
    RequestResolved,
    RequestReturned,
    RequestRevisited,
    RequestRouted,
    RequestSlaWarning,
    RequestSupervised,
    RequestSupplemented,
    RequestWithdrawn,
)
from shared.lifecycle import CHANGES_STATE, IllegalTransition, State, allowed, entered_by, follow, next_state

HAPPY_PATH = [
    RequestReceived,
    RequestRouted,
    RequestAccepted,
    RequestContacted,
    RequestProgressed,
    RequestResolved,
    RequestFeedbackGiven,
    RequestRated,
    RequestRevisited,
    RequestClosed,
]


def walk(events: list[type[EventData]]) -> State:
    state: State | None = None
    for event in events:
        state = next_state(state, event)
    assert state is not None
    return state


def test_the_happy_path_ends_closed() -> None:
    assert walk(HAPPY_PATH) == State.CLOSED


def test_answered_at_intake_goes_straight_to_feedback() -> None:
    assert (
        walk([RequestReceived, RequestAnsweredAtIntake, RequestFeedbackGiven, RequestClosed]) == State.CLOSED
    )


def test_incomplete_waits_for_supplements_then_routes() -> None:
    assert walk([RequestReceived, RequestIncomplete, RequestSupplemented, RequestRouted]) == State.ROUTED


def test_returned_is_rerouted_and_reopened_comes_back() -> None:
    state = walk(
        [
            RequestReceived,
            RequestRouted,
            RequestReturned,
            RequestRerouted,
            RequestAccepted,
            RequestResolved,
            RequestFeedbackGiven,
            RequestRated,
            RequestReopened,
        ]
    )
    assert state == State.REOPENED
    assert next_state(state, RequestRerouted) == State.ROUTED


def test_events_that_do_not_move_the_state() -> None:
    state = walk([RequestReceived, RequestRouted, RequestAccepted])
    for event in (
        RequestExtensionRequested,
        RequestSlaWarning,
        RequestSupervised,
        RequestCoOpinionAdded,
    ):
        assert next_state(state, event) == State.ACCEPTED


@pytest.mark.parametrize(
    ("events", "illegal", "current"),
    [
        ([RequestReceived], RequestAccepted, State.RECEIVED),
        ([RequestReceived, RequestRouted], RequestResolved, State.ROUTED),
        ([RequestReceived, RequestRouted, RequestAccepted], RequestAccepted, State.ACCEPTED),
        (HAPPY_PATH, RequestRated, State.CLOSED),
        (HAPPY_PATH[:6], RequestWithdrawn, State.RESOLVED),
        ([RequestReceived, RequestWithdrawn], RequestRouted, State.WITHDRAWN),
    ],
)
def test_illegal_transitions_name_the_current_state(
    events: list[type[EventData]], illegal: type[EventData], current: State
) -> None:
    state = walk(events)
    with pytest.raises(IllegalTransition) as caught:
        next_state(state, illegal)
    assert caught.value.current == current
    assert current.value in str(caught.value)
    assert str(caught.value) == f"{illegal.TYPE} is not allowed while the request is {current.value}"


def test_received_happens_once_and_only_first() -> None:
    assert allowed(None, RequestReceived)
    assert not allowed(State.RECEIVED, RequestReceived)
    with pytest.raises(IllegalTransition):
        next_state(None, RequestRouted)


def test_events_that_are_not_lifecycle_steps_are_not_transitions() -> None:
    assert not allowed(State.ROUTED, NotificationSent)
    assert not allowed(State.ROUTED, KpiPeriodScored)


def test_follow_tolerates_what_does_not_fit() -> None:
    assert follow(State.CLOSED, RequestAccepted) is None
    assert follow(State.ROUTED, RequestAccepted) == State.ACCEPTED


def test_the_events_that_change_the_state_and_where_they_lead() -> None:
    assert {event.TYPE for event in CHANGES_STATE} == {
        "request.received",
        "request.incomplete",
        "request.supplemented",
        "request.answered_at_intake",
        "request.routed",
        "request.rerouted",
        "request.returned",
        "request.escalated",
        "request.accepted",
        "request.contacted",
        "request.progressed",
        "request.resolved",
        "request.feedback_given",
        "request.rated",
        "request.reopened",
        "request.revisited",
        "request.closed",
        "request.merged",
        "request.withdrawn",
        "request.merge_released",
    }
    assert entered_by(RequestMerged) == State.MERGED
    assert entered_by(RequestAnsweredAtIntake) == State.ANSWERED_AT_INTAKE
    assert entered_by(RequestRerouted) == State.ROUTED
    assert entered_by(RequestMergeReleased) == State.RECEIVED
    with pytest.raises(KeyError):
        entered_by(RequestPaused)  # allowed while handling, leaves the state as it is
