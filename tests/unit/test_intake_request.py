"""Intake's request, tested as an aggregate: a citizen's or an agent's action in, the new
request, the event and the columns to save out (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.intake.domain.materials import RequiredMaterial
from services.intake.domain.request import (
    OWNED,
    IntakeRequest,
    MergeIntoItself,
    NotFirstResponder,
    NotThisChannels,
    NotWaitingForMaterials,
    PrimaryEnded,
    StillMissing,
    check_merge_target,
)
from shared.auth import Principal
from shared.events.catalogue import (
    Due,
    RequestAccepted,
    RequestAnsweredAtIntake,
    RequestChased,
    RequestClosed,
    RequestMerged,
    RequestMergeReleased,
    RequestRated,
    RequestRerouted,
    RequestResolved,
    RequestRouted,
    RequestSupplemented,
    RequestWithdrawn,
)
from shared.lifecycle import IllegalTransition, State

PAUSED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
ID_CARD = RequiredMaterial(code="id_card", name="身份证", media_types=("image/jpeg",))
FORM = RequiredMaterial(code="form", name="申请表")
SCAN = {"code": "id_card", "sha256": "a" * 64, "media_type": "image/jpeg", "size": 10}
FORM_PDF = {"code": "form", "sha256": "b" * 64, "media_type": "application/pdf", "size": 20}


def row(**overrides: Any) -> dict[str, Any]:
    """A stored request as the store reads it (the columns the aggregate looks at and more)."""
    return {
        "id": "r-1",
        "state": "received",
        "channel": "web",
        "content": "路灯坏了",
        "category": "repair",
        "urgency": "normal",
        "matter": None,
        "closed_at": None,
        "requester": {"name": "张三", "phone": "13800138000"},
        "first_responder_kind": "channel",
        "first_responder_id": "web",
        "lead_department": None,
        "co_departments": [],
        "materials": [],
        "missing": [],
        "paused_from": None,
        "merged_into": None,
        "answer": None,
        **overrides,
    }


def request(**overrides: Any) -> IntakeRequest:
    return IntakeRequest.from_row(row(**overrides))


def incomplete() -> IntakeRequest:
    return request(
        state="incomplete",
        materials=[FORM_PDF],
        missing=[{"code": "id_card", "name": "身份证", "reason": "missing"}],
        paused_from=PAUSED,
    )


def test_from_row_reads_the_state_and_changes_nothing() -> None:
    loaded = request(state="routed", lead_department="urban", co_departments=["water"])
    assert loaded.state == State.ROUTED and loaded.co_departments == ("water",)
    assert loaded.changes() == {}
    assert set(loaded.to_row()) == set(OWNED)


# --- the channel check and who sees it ---------------------------------------------------


def test_a_channel_acts_on_its_own_requests_only() -> None:
    request().check_channel("channel", "web")
    request().check_channel("staff", "agent-1")  # staff are not narrowed by channel
    with pytest.raises(NotThisChannels):
        request().check_channel("channel", "wechat")


def test_who_sees_a_request() -> None:
    routed = request(state="routed", lead_department="urban", co_departments=["water"])
    assert routed.may_see(Principal(kind="channel", id="web", role="channel"))
    assert not routed.may_see(Principal(kind="channel", id="app", role="channel"))
    agent = Principal(kind="staff", id="agent-1", role="agent")
    assert routed.may_see(agent)  # not narrowed to a department: sees all
    for department, sees in (("urban", True), ("water", True), ("parks", False)):
        staff = Principal(kind="staff", id="h-1", role="handler", department=department, scoped_to=department)
        assert routed.may_see(staff) is sees


# --- supplement (补件) ---------------------------------------------------------------------


def test_a_supplement_that_completes_the_materials_moves_the_request_on() -> None:
    updated, event = incomplete().supplement([SCAN], [ID_CARD, FORM], AT)
    assert updated.state == State.SUPPLEMENTED
    assert event == RequestSupplemented(materials=["id_card"], paused_from=PAUSED, paused_until=AT)
    assert updated.changes() == {
        "state": "supplemented",
        "materials": [FORM_PDF, SCAN],
        "missing": [],
        "paused_from": None,
    }


def test_a_supplement_that_leaves_something_missing_keeps_it_incomplete() -> None:
    wrong = {**SCAN, "media_type": "image/png"}
    updated, outcome = incomplete().supplement([wrong], [ID_CARD, FORM], AT)
    assert isinstance(outcome, StillMissing)
    assert [(p.code, p.reason) for p in outcome.problems] == [("id_card", "wrong_media_type")]
    assert updated.state == State.INCOMPLETE and updated.paused_from == PAUSED  # the clock stays paused
    assert updated.changes() == {
        "state": "incomplete",
        "materials": [FORM_PDF, wrong],
        "missing": [{"code": "id_card", "name": "身份证", "reason": "wrong_media_type"}],
    }


def test_a_resubmitted_material_replaces_the_earlier_one() -> None:
    newer = {**FORM_PDF, "sha256": "c" * 64}
    updated, _ = incomplete().supplement([newer, SCAN], [ID_CARD, FORM], AT)
    assert list(updated.materials) == [newer, SCAN]


def test_without_a_catalog_list_any_supplement_completes() -> None:
    updated, event = incomplete().supplement([SCAN], [], AT)
    assert updated.state == State.SUPPLEMENTED and isinstance(event, RequestSupplemented)


@pytest.mark.parametrize("state", ["received", "supplemented", "routed", "withdrawn"])
def test_a_supplement_is_refused_unless_waiting_for_materials(state: str) -> None:
    with pytest.raises(NotWaitingForMaterials) as caught:
        request(state=state).supplement([SCAN], [ID_CARD], AT)
    assert str(caught.value) == f"request r-1 is {state}, not waiting for materials"


# --- answered at intake (当场答复) ---------------------------------------------------------


@pytest.mark.parametrize("state", ["received", "supplemented", "routed"])
def test_an_agent_answers_on_the_spot_before_a_department_accepts(state: str) -> None:
    updated, event = request(state=state).answer_at_intake("请拨打12345", "agent-1", "kb-1")
    assert event == RequestAnsweredAtIntake(answer="请拨打12345", agent_id="agent-1", article_id="kb-1")
    assert updated.changes() == {"state": "answered_at_intake", "answer": "请拨打12345"}


@pytest.mark.parametrize("state", ["incomplete", "accepted", "in_progress", "withdrawn"])
def test_no_answer_at_intake_once_accepted_or_ended(state: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        request(state=state).answer_at_intake("请拨打12345", "agent-1")
    assert caught.value.current == State(state)


# --- merge (合并) -------------------------------------------------------------------------


def test_a_duplicate_is_merged_into_an_open_request() -> None:
    primary = request(id="r-0", state="accepted")
    updated, event = request().merge_into(primary)
    assert event == RequestMerged(into_request_id="r-0")
    assert updated.changes() == {"state": "merged", "merged_into": "r-0"}


def test_a_merged_request_may_be_merged_again() -> None:
    updated, _ = request(state="merged", merged_into="r-0").merge_into(request(id="r-2"))
    assert updated.merged_into == "r-2"


def test_a_request_is_not_merged_into_itself() -> None:
    with pytest.raises(MergeIntoItself):
        check_merge_target("r-1", "r-1")
    check_merge_target("r-1", "r-0")
    with pytest.raises(MergeIntoItself):
        request().merge_into(request())


@pytest.mark.parametrize("state", ["closed", "merged", "withdrawn"])
def test_no_merge_into_an_ended_primary(state: str) -> None:
    with pytest.raises(PrimaryEnded) as caught:
        request().merge_into(request(id="r-0", state=state))
    assert str(caught.value) == f"request r-0 is {state}; merge into an open request"


@pytest.mark.parametrize("state", ["resolved", "feedback_given", "answered_at_intake", "closed"])
def test_a_resolved_or_ended_request_is_not_merged(state: str) -> None:
    with pytest.raises(IllegalTransition):
        request(state=state).merge_into(request(id="r-0"))


# --- withdraw (撤回) ----------------------------------------------------------------------


@pytest.mark.parametrize("state", ["received", "incomplete", "routed", "accepted", "in_progress", "reopened"])
def test_the_person_withdraws_before_resolution(state: str) -> None:
    updated, event = request(state=state).withdraw("已自行解决")
    assert event == RequestWithdrawn(reason="已自行解决")
    assert updated.changes() == {"state": "withdrawn"}  # nothing else of the row changes


@pytest.mark.parametrize("state", ["resolved", "rated", "withdrawn", "merged", "closed"])
def test_no_withdrawal_once_resolved_or_ended(state: str) -> None:
    with pytest.raises(IllegalTransition):
        request(state=state).withdraw("算了")


# --- release of a merge (primary ended unhandled) ---------------------------------------


def test_a_released_duplicate_is_received_afresh_and_takes_the_others() -> None:
    first, event = request(state="merged", merged_into="r-0").release_merge()
    assert event == RequestMergeReleased(former_primary_id="r-0", new_primary_id=None)
    assert first.changes() == {"state": "received", "merged_into": None}
    other, remerge = request(id="r-3", state="merged", merged_into="r-0").merge_into(first)
    assert remerge == RequestMerged(into_request_id="r-1")
    assert other.changes() == {"state": "merged", "merged_into": "r-1"}


def test_only_a_merged_request_is_released() -> None:
    with pytest.raises(IllegalTransition):
        request(state="routed").release_merge()


# --- chase (催办) -------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["routed", "accepted", "in_progress", "returned", "escalated", "reopened"])
def test_the_first_responder_chases_a_request_a_department_has(state: str) -> None:
    routed = request(state=state, lead_department="urban")
    event = routed.chase_by("channel", "web", "还没修", earlier_chases=2)
    assert event == RequestChased(department="urban", chased_by="web", note="还没修", chase_count=3)


def test_an_agent_who_took_the_call_chases_it() -> None:
    taken = request(state="routed", first_responder_kind="staff", first_responder_id="agent-1")
    assert taken.chase_by("staff", "agent-1", None, 0).chase_count == 1
    with pytest.raises(NotFirstResponder):
        taken.chase_by("staff", "agent-2", None, 0)


def test_only_the_first_responder_chases() -> None:
    with pytest.raises(NotFirstResponder):
        request(state="routed").chase_by("staff", "web", None, 0)  # same id, not the channel


@pytest.mark.parametrize("state", ["received", "incomplete", "resolved", "closed", "withdrawn"])
def test_no_chase_unless_a_department_has_it_unresolved(state: str) -> None:
    with pytest.raises(IllegalTransition):
        request(state=state).chase_by("channel", "web", None, 0)


# --- what is saved -----------------------------------------------------------------------


def test_changes_accumulate_over_commands_and_are_only_owned_columns() -> None:
    released, _ = request(state="merged", merged_into="r-0").release_merge()
    withdrawn, _ = released.withdraw("不需要了")
    assert withdrawn.changes() == {"state": "withdrawn", "merged_into": None}
    assert set(withdrawn.to_row()) == set(OWNED)


def test_the_aggregate_is_immutable() -> None:
    original = request()
    original.withdraw("不需要了")
    assert original.state == State.RECEIVED and original.changes() == {}


# --- following the other services' steps ------------------------------------------------


def routed_event(**overrides: Any) -> RequestRouted:
    values: dict[str, Any] = {"lead_department": "urban", "co_departments": ["water"], "due": DUE}
    return RequestRouted(**{**values, **overrides})


DUE = Due.model_validate({"accept": "2026-12-02T12:00:00+08:00"})


def test_routing_names_the_departments_it_went_to() -> None:
    updated = request().following(routed_event(), AT)
    assert updated is not None and updated.state == State.ROUTED
    assert updated.changes() == {"state": "routed", "lead_department": "urban", "co_departments": ["water"]}


def test_routing_may_make_it_urgent_and_name_its_matter_and_category() -> None:
    event = routed_event(urgency="urgent", category="complaint", matter="路灯维修")
    updated = request().following(event, AT)
    assert updated is not None and updated.changes() == {
        "state": "routed",
        "lead_department": "urban",
        "co_departments": ["water"],
        "urgency": "urgent",
        "category": "complaint",
        "matter": "路灯维修",
    }


def test_a_rerouted_request_follows_its_new_lead() -> None:
    returned = request(state="returned", lead_department="urban")
    updated = returned.following(RequestRerouted(lead_department="parks", due=DUE), AT)
    assert updated is not None and updated.lead_department == "parks" and updated.co_departments == ()


def test_the_view_follows_acceptance_and_resolution_with_only_the_state() -> None:
    accepted = request(state="routed").following(RequestAccepted(department="urban", handler_id="h-1"), AT)
    assert accepted is not None and accepted.changes() == {"state": "accepted"}
    resolved = accepted.following(
        RequestResolved(department="urban", handler_id="h-1", outcome="resolved", reply="修好了"), AT
    )
    assert resolved is not None and resolved.state == State.RESOLVED


def test_closing_starts_the_retention_period() -> None:
    updated = request(state="rated").following(RequestClosed(reason="satisfied"), AT)
    assert updated is not None and updated.changes() == {"state": "closed", "closed_at": AT}


def test_a_step_that_does_not_fit_is_not_followed() -> None:
    assert request(state="closed").following(routed_event(), AT) is None  # redelivered late
    assert request().following(RequestRated(rating="satisfied", score=5), AT) is None
