"""Each service's consumer table, keyed by the catalogue's event classes: every event of the
catalogue is either handled or deliberately ignored, every handler's `data` annotation names
the class it is registered for, and the inbox dispatches the wire type to that handler."""

from __future__ import annotations

import importlib
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from services.kpi import store as kpi_store
from services.kpi.domain import facts
from shared.db import inbox_table
from shared.events.catalogue import (
    EVENT_CLASSES,
    EventData,
    FirstResponder,
    RequestPaused,
    RequestReceived,
    RequestRerouted,
    RequestRouted,
    RequestWithdrawn,
)
from shared.events.envelope import SYSTEM, Envelope, new_envelope
from shared.inbox import InboxProcessor
from shared.lifecycle import CHANGES_STATE

AT = datetime(2026, 11, 2, 10, tzinfo=UTC)
SERVICES = ("intake", "routing", "handling", "followup", "kpi")


def consumers(service: str) -> Any:
    return importlib.import_module(f"services.{service}.consumers")


def accepted_classes(annotation: Any) -> tuple[type, ...]:
    """The classes an annotation accepts: one class, or the members of a union."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def data_annotation(handler: Callable[..., Any], parameter: str) -> Any:
    return typing.get_type_hints(handler)[parameter]


@pytest.mark.parametrize("service", SERVICES)
def test_every_catalogue_event_is_handled_or_deliberately_ignored(service: str) -> None:
    module = consumers(service)
    handled, ignored = set(module.HANDLERS), set(module.IGNORED)
    assert not handled & ignored, (
        f"{service} both handles and ignores {sorted(e.TYPE for e in handled & ignored)}"
    )
    missing = EVENT_CLASSES - handled - ignored
    assert not missing, f"{service} neither handles nor ignores {sorted(e.TYPE for e in missing)}"
    assert handled | ignored <= EVENT_CLASSES


@pytest.mark.parametrize("service", SERVICES)
def test_each_handler_is_typed_with_the_class_it_is_registered_for(service: str) -> None:
    for event, handler in consumers(service).HANDLERS.items():
        annotation = data_annotation(handler, "data")
        assert annotation is not Any, f"{service}: {handler.__qualname__} takes `data: Any` for {event.TYPE}"
        accepted = accepted_classes(annotation)
        name = handler.__qualname__
        assert any(issubclass(event, cls) for cls in accepted), (
            f"{service}: {name} is registered for {event.__name__} but its data is {annotation}"
        )


def test_each_kpi_fold_is_typed_with_its_event() -> None:
    for event, fold in facts._FOLD.items():
        accepted = accepted_classes(data_annotation(fold, "d"))
        assert any(issubclass(event, cls) for cls in accepted), f"{fold.__name__} folds {event.__name__}"


def test_kpi_folds_every_event_that_changes_the_state_and_keeps_the_timeline_apart() -> None:
    assert CHANGES_STATE <= facts.FOLDED
    assert not facts.FOLDED & facts.TIMELINE
    assert facts.FOLDED_TYPES == tuple(sorted(e.TYPE for e in facts.FOLDED))


def test_the_lifecycle_followers_follow_only_what_others_decide() -> None:
    intake, followup = consumers("intake"), consumers("followup")
    assert intake.FOLLOWED <= CHANGES_STATE and not intake.FOLLOWED & intake.DECIDED_HERE
    assert followup.TRACKED <= CHANGES_STATE and not followup.TRACKED & followup.DECIDED_HERE
    # Whatever changes the state is seen by followup, through the table or its own handler.
    assert CHANGES_STATE - followup.DECIDED_HERE <= set(followup.HANDLERS)
    assert CHANGES_STATE - intake.DECIDED_HERE <= set(intake.HANDLERS)


def _wire(data: EventData) -> Envelope:
    return new_envelope(
        type=data.TYPE,
        version=data.VERSION,
        request_id="r-1",
        producer="test",
        actor=SYSTEM,
        data=data.model_dump(mode="json"),
        occurred_at=AT,
    )


async def _on_routed(uow: Any, envelope: Envelope, data: RequestRouted) -> None:
    pass


async def _on_rerouted(uow: Any, envelope: Envelope, data: RequestRerouted) -> None:
    pass


def test_the_inbox_dispatches_the_wire_type_to_the_handler_of_its_class() -> None:
    processor = InboxProcessor(
        consumer="test",
        inbox=inbox_table(kpi_store.metadata),
        new_uow=lambda: None,  # type: ignore[arg-type,return-value]
        handlers={RequestRouted: _on_routed, RequestRerouted: _on_rerouted},
    )
    routed = RequestRouted.model_validate(
        {"lead_department": "urban", "due": {}, "urgency": "normal", "category": "repair"}
    )
    rerouted = RequestRerouted.model_validate(routed.model_dump())
    for data, handler in ((routed, _on_routed), (rerouted, _on_rerouted)):
        known, event = processor._read(_wire(data).to_bytes())
        assert known is None and event is not None
        envelope, decoded, chosen = event
        assert envelope.type == data.TYPE and type(decoded) is type(data) and chosen is handler
    received = RequestReceived(
        channel="web",
        category="repair",
        urgency="normal",
        first_responder=FirstResponder(kind="channel", id="web"),
        submitted_at=AT,
    )
    assert processor._read(_wire(received).to_bytes())[0] == ("ignored", None, 0)
    # The relay's type header: a catalogued type it has no handler for is passed over unread.
    assert processor.skips_unread([("type", RequestWithdrawn.TYPE.encode())])
    assert processor.skips_unread([("type", RequestPaused.TYPE.encode())])
    assert not processor.skips_unread([("type", RequestRerouted.TYPE.encode())])
    assert not processor.skips_unread([("type", b"request.teleported")])  # read, then dead-lettered
