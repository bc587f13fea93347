from __future__ import annotations

import json

import pytest

from shared.events.catalogue import CATALOGUE, InvalidEvent, RequestRouted, UnknownEventType, decode
from shared.pagination import decode_cursor, encode_cursor
from tests.support.events import received

DESIGN_TYPES = {
    "request.received",
    "request.incomplete",
    "request.supplemented",
    "request.answered_at_intake",
    "request.merged",
    "request.withdrawn",
    "notification.sent",
    "notification.delivered",
    "request.routed",
    "request.rerouted",
    "request.escalated",
    "request.accepted",
    "request.contacted",
    "request.progressed",
    "request.extension_requested",
    "request.extension_decided",
    "request.returned",
    "request.co_opinion_added",
    "request.resolved",
    "request.sla_warning",
    "request.sla_breached",
    "request.supervised",
    "request.feedback_given",
    "request.rated",
    "request.reopened",
    "request.revisit_scheduled",
    "request.revisited",
    "request.closed",
    "notification.requested",
    "kpi.period_scored",
    "kpi.department_flagged",
}


def test_every_event_of_the_design_has_a_model() -> None:
    # Added to the design's list (CHANGELOG): the adapters' message, the retention purge, pauses,
    # staff evaluation, due times that moved (extensions, pauses) and answers to supervision orders.
    extra = {
        "request.due_changed",
        "request.supervision_answered",
        "notification.outbound",
        "request.chased",
        "request.due_recomputed",
        "request.merge_released",
        "request.personal_data_purged",
        "request.paused",
        "request.resumed",
        "staff.rated",
        "staff.rectification_decided",
    }
    assert {t for t, _ in CATALOGUE} == DESIGN_TYPES | extra


def test_decode_types_the_payload() -> None:
    env = received()
    decoded, data = decode(env.to_bytes())
    assert decoded.id == env.id and data.channel == "web"


def test_unknown_types_and_versions_are_rejected() -> None:
    env = received()
    with pytest.raises(UnknownEventType):
        decode(env.model_copy(update={"type": "request.teleported"}).to_bytes())
    with pytest.raises(UnknownEventType):
        decode(env.model_copy(update={"version": 99}).to_bytes())


@pytest.mark.parametrize("mutate", ["drop_channel", "bad_urgency", "naive_time", "not_json", "no_envelope"])
def test_invalid_events_are_rejected(mutate: str) -> None:
    payload = json.loads(received().to_bytes())
    if mutate == "drop_channel":
        payload["data"].pop("channel")
    elif mutate == "bad_urgency":
        payload["data"]["urgency"] = "whenever"
    elif mutate == "naive_time":
        payload["occurred_at"] = "2026-11-25T10:00:00"
    elif mutate == "no_envelope":
        payload = payload["data"]
    raw = b"{nope" if mutate == "not_json" else json.dumps(payload).encode()
    with pytest.raises(InvalidEvent):
        decode(raw)


def test_rerouted_shares_routed_fields() -> None:
    assert set(RequestRouted.model_fields) <= set(CATALOGUE[("request.rerouted", 1)].model_fields)


def test_cursors_round_trip() -> None:
    assert decode_cursor(encode_cursor(12345)) == 12345
    assert decode_cursor(None) is None
