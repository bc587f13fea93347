"""The handling case and the followup record, tested as aggregates: command in, event out."""

from __future__ import annotations

import pytest

from services.followup.domain.followup import Followup, NotSurveyed
from services.handling.domain.case import Case, NotLead, NotYourCase
from shared.events.catalogue import (
    RequestAccepted,
    RequestClosed,
    RequestRated,
    RequestReopened,
    RequestResolved,
)
from shared.lifecycle import IllegalTransition, State


def routed_case(role: str = "lead") -> Case:
    return Case(
        request_id="r-1",
        department="urban",
        role=role,
        state=State.ROUTED,  # type: ignore[arg-type]
        category="repair",
        urgency="normal",
    )


def test_accept_names_the_handler_and_raises_accepted() -> None:
    case, event = routed_case().accept("urban", "h-1")
    assert case.state == State.ACCEPTED and case.handler_id == "h-1"
    assert event == RequestAccepted(department="urban", handler_id="h-1")


def test_resolve_after_accept() -> None:
    case, _ = routed_case().accept("urban", "h-1")
    case, event = case.resolve("urban", "h-1", "explained", "policy explained")
    assert case.state == State.RESOLVED
    assert isinstance(event, RequestResolved) and event.outcome == "explained"


def test_resolve_before_accept_is_illegal() -> None:
    with pytest.raises(IllegalTransition) as caught:
        routed_case().resolve("urban", "h-1", "resolved", "done")
    assert caught.value.current == State.ROUTED


def test_only_the_cases_department_may_act() -> None:
    with pytest.raises(NotYourCase):
        routed_case().accept("water", "h-9")


def test_co_handlers_do_not_accept_or_resolve() -> None:
    with pytest.raises(NotLead):
        routed_case("co").accept("urban", "h-1")


def test_return_before_acceptance() -> None:
    case, event = routed_case().return_("urban", "not ours")
    assert case.state == State.RETURNED and event.department == "urban"


def followup(state: State = State.FEEDBACK_GIVEN, anonymous: bool = False) -> Followup:
    return Followup(
        request_id="r-1", state=state, channel="hotline", anonymous=anonymous, lead_department="urban"
    )


def test_feedback_only_after_resolution() -> None:
    with pytest.raises(IllegalTransition):
        followup(State.ACCEPTED).give_feedback("agent-1")
    updated, event = followup(State.RESOLVED).give_feedback("agent-1")
    assert updated.state == State.FEEDBACK_GIVEN and event.channel == "hotline"


def test_satisfied_rating_raises_rated_only() -> None:
    updated, events = followup().rate("satisfied", 5, None, None)
    assert updated.state == State.RATED and events == [RequestRated(rating="satisfied", score=5)]


def test_unsatisfied_reopens_to_the_same_lead_with_the_reason() -> None:
    updated, events = followup().rate("unsatisfied", 1, "slow", "the lamp is still broken")
    assert updated.state == State.REOPENED and updated.reopen_count == 1
    reopened = events[1]
    assert isinstance(reopened, RequestReopened)
    assert (reopened.department, reopened.reason, reopened.reopen_count) == (
        "urban",
        "the lamp is still broken",
        1,
    )


def test_anonymous_requests_are_not_surveyed() -> None:
    with pytest.raises(NotSurveyed):
        followup(anonymous=True).rate("satisfied", None, None, None)


def test_close_after_rating_and_not_twice() -> None:
    rated, _ = followup().rate("basically_satisfied", None, None, None)
    closed, event = rated.close("completed")
    assert closed.state == State.CLOSED and event == RequestClosed(reason="completed")
    with pytest.raises(IllegalTransition):
        closed.close("again")


def test_the_lead_resolves_after_every_co_handlers_opinion_or_with_a_reason() -> None:
    from datetime import datetime

    from services.handling.domain.case import OpinionsMissing

    case, _ = routed_case().accept("urban", "h-1", datetime(2026, 11, 25, 10))
    with pytest.raises(OpinionsMissing) as caught:
        case.resolve(
            "urban",
            "h-1",
            "resolved",
            "ok",
            co_departments=frozenset({"water", "env"}),
            opinions_from=frozenset({"water"}),
        )
    assert caught.value.missing == ["env"]
    resolved, _ = case.resolve(
        "urban",
        "h-1",
        "resolved",
        "ok",
        co_departments=frozenset({"water", "env"}),
        opinions_from=frozenset({"water"}),
        override_reason="env unreachable for 5 days",
    )
    assert resolved.state == State.RESOLVED


def test_only_co_handlers_add_opinions() -> None:
    from services.handling.domain.case import NotCoHandler

    _, event = routed_case("co").add_opinion("urban", "同意牵头单位意见")
    assert event.department == "urban"
    with pytest.raises(NotCoHandler):
        routed_case("lead").add_opinion("urban", "x")
    with pytest.raises(NotYourCase):
        routed_case("co").add_opinion("water", "x")


def test_returns_close_a_while_after_acceptance() -> None:
    from datetime import datetime, timedelta

    from services.handling.domain.case import ReturnWindowClosed

    accepted_at = datetime(2026, 11, 25, 10)
    case, _ = routed_case().accept("urban", "h-1", accepted_at)
    returned, _ = case.return_("urban", "not ours", now=accepted_at + timedelta(hours=2))
    assert returned.state == State.RETURNED
    with pytest.raises(ReturnWindowClosed):
        case.return_("urban", "not ours", now=accepted_at + timedelta(days=2))


def test_a_satisfied_rating_closes_by_itself_unless_a_revisit_is_pending() -> None:
    rated, _ = followup().rate("satisfied", 5, None, None)
    assert rated.can_close_by_itself(revisit_pending=False)
    assert not rated.can_close_by_itself(revisit_pending=True)
    silent, event = followup().no_response()
    assert event == RequestRated(rating="no_response") and silent.can_close_by_itself(revisit_pending=False)


def test_reopens_are_limited_then_the_supervisors_take_it_up() -> None:
    from services.followup.domain.followup import FollowupPolicy

    policy = FollowupPolicy(max_reopens=2)
    twice = Followup(
        request_id="r",
        state=State.FEEDBACK_GIVEN,
        channel="hotline",
        anonymous=False,
        lead_department="urban",
        reopen_count=2,
    )
    updated, events = twice.rate("unsatisfied", 1, None, "还是没修好", policy)
    assert updated.state == State.RATED and updated.escalated and not updated.can_close_by_itself(False)
    assert [e.TYPE for e in events] == ["request.rated", "notification.requested"]
    assert events[1].audience == ["supervisors"]  # type: ignore[attr-defined]


def test_a_recurred_revisit_overturns_and_reopens() -> None:
    rated, _ = followup().rate("satisfied", 5, None, None)
    updated, events = rated.revisited("v1", "recurred", "又坏了")
    assert updated.state == State.REOPENED and [e.TYPE for e in events] == [
        "request.revisited",
        "request.reopened",
        "notification.requested",  # the person and the first responder hear of it
    ]
    solved, _ = rated.revisited("v1", "solved", None)
    assert solved.state == State.REVISITED and solved.can_close_by_itself(False)


def test_revisit_sampling_is_deterministic_and_always_for_complaints() -> None:
    from services.followup.domain.followup import FollowupPolicy, needs_revisit

    policy = FollowupPolicy(revisit_sample_rate=0.2, sample_seed="s")
    picks = [needs_revisit("repair", "satisfied", f"r{i}", policy) for i in range(2000)]
    assert picks == [needs_revisit("repair", "satisfied", f"r{i}", policy) for i in range(2000)]
    assert 300 < sum(picks) < 500  # about 20 %
    assert all(needs_revisit("complaint", "satisfied", f"r{i}", policy) for i in range(50))
    assert all(needs_revisit("repair", "unsatisfied", f"r{i}", policy) for i in range(50))
    assert not any(
        needs_revisit("repair", "satisfied", f"r{i}", FollowupPolicy(revisit_sample_rate=0))
        for i in range(50)
    )
