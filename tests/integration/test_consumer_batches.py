"""The consumers that apply a fetch together (issue 20: catching up at ≥ 5,000 events per
second): each request ends where applying its events one at a time would leave it, an event
already applied is a duplicate, and a poison event in a fetch is dead-lettered alone while
the rest of the fetch is applied (the fetch falls back to one event at a time)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from services.followup import consumers as followup_consumers
from services.followup import store as followup_store
from services.handling import consumers as handling_consumers
from services.handling import store as handling_store
from services.intake import consumers as intake_consumers
from services.intake import store as intake_store
from services.routing import consumers as routing_consumers
from services.routing import store as routing_store
from shared.clock import now
from shared.db import outbox_table
from shared.events.catalogue import (
    Due,
    FirstResponder,
    RequestAccepted,
    RequestReceived,
    RequestRerouted,
    RequestResolved,
    RequestReturned,
    RequestRouted,
    RequestWithdrawn,
)
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.support.events import envelope


def _fast_retries(settings: Settings) -> Settings:
    return settings.model_copy(update={"consumer_backoff_seconds": 0.0})


def _failing_for(request_id: str, handler: Any) -> Any:
    """The service's handler, except that it fails on every event of one request (a bug)."""

    async def picky(uow: Any, env: Envelope, data: Any) -> None:
        if env.request_id == request_id:
            raise RuntimeError("projection bug")
        await handler(uow, env, data)

    return picky


def assert_applied_together(caplog: pytest.LogCaptureFixture) -> None:
    """The fetch was applied in one transaction, not one event at a time after a failure."""
    assert not [r for r in caplog.records if "one at a time" in r.getMessage()]


# --- intake: follows each request's state -------------------------------------------------------
@pytest.fixture
async def intake(platform: Settings) -> AsyncIterator[ServiceRuntime]:
    runtime = ServiceRuntime(
        name="intake",
        metadata=intake_store.metadata,
        handlers=intake_consumers.HANDLERS,
        settings=_fast_retries(platform),
        prepare_batch=intake_consumers.prepare_batch,
    )
    yield runtime
    await runtime.engine.dispose()


async def _submitted(runtime: ServiceRuntime, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    async with runtime.sessions() as session:
        await session.execute(
            insert(intake_store.requests),
            [
                {
                    "id": rid,
                    "state": "received",
                    "channel": "web",
                    "content": "楼道灯坏了",
                    "category": "repair",
                    "urgency": "normal",
                    "first_responder_kind": "channel",
                    "first_responder_id": "web",
                    "submitted_at": now(),
                }
                for rid in ids
            ],
        )
        await session.commit()
    return ids


def _lifecycle(rid: str, department: str) -> list[Envelope]:
    t = now()
    due = Due(accept=t + timedelta(days=1), resolve=t + timedelta(days=5), feedback=t + timedelta(days=6))
    return [
        envelope(rid, RequestRouted(lead_department=department, due=due, category="repair"), minutes=1),
        envelope(rid, RequestAccepted(department=department, handler_id="h-1"), minutes=2),
        envelope(
            rid,
            RequestResolved(department=department, handler_id="h-1", outcome="resolved", reply="已修复"),
            minutes=3,
        ),
    ]


async def _intake_rows(runtime: ServiceRuntime, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    r = intake_store.requests.c
    async with runtime.sessions() as session:
        rows = await session.execute(select(r.id, r.state, r.lead_department).where(r.id.in_(ids)))
        return {rid: (state, lead) for rid, state, lead in rows}


def _interleaved(lives: list[list[Envelope]]) -> list[bytes]:
    """Several requests' events in one fetch, each request's in its order."""
    return [life[step].to_bytes() for step in range(len(lives[0])) for life in lives]


async def test_intake_applies_a_fetch_together_as_one_at_a_time_would(
    intake: ServiceRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await _submitted(intake, 3)
    departments = ["urban", "water", "urban"]
    lives = [_lifecycle(rid, department) for rid, department in zip(ids, departments, strict=True)]
    processor = intake.processor()
    first = await processor.process_batch(_interleaved([life[:2] for life in lives]))
    assert [o[0] for o in first] == ["applied"] * 6
    # The next fetch: each request resolved, and one event delivered again.
    second = await processor.process_batch([*(life[2].to_bytes() for life in lives), lives[0][0].to_bytes()])
    assert [o[0] for o in second] == ["applied", "applied", "applied", "duplicate"]
    assert_applied_together(caplog)
    assert await _intake_rows(intake, ids) == {
        ids[0]: ("resolved", "urban"),
        ids[1]: ("resolved", "water"),
        ids[2]: ("resolved", "urban"),
    }


async def test_intake_dead_letters_a_poison_event_and_applies_the_rest_of_its_fetch(
    intake: ServiceRuntime,
) -> None:
    ids = await _submitted(intake, 3)
    poisoned = ids[1]
    processor = intake.processor()
    handlers = dict(processor._handlers)
    for event in (RequestRouted, RequestAccepted, RequestResolved):
        handlers[event] = _failing_for(poisoned, handlers[event])
    processor._handlers = handlers  # this test's bug
    lives = [_lifecycle(rid, "urban") for rid in ids]
    outcomes = await processor.process_batch(_interleaved(lives))
    assert [o[0] for o in outcomes] == ["applied", "dead_letter", "applied"] * 3
    assert all("projection bug" in (o[1] or "") for o in outcomes[1::3])
    assert await _intake_rows(intake, ids) == {
        ids[0]: ("resolved", "urban"),
        poisoned: ("received", None),  # nothing of its events applied, nothing half-applied
        ids[2]: ("resolved", "urban"),
    }
    # Delivered again (a redrive after the fix): the good ones are duplicates.
    processor._handlers = intake_consumers.HANDLERS
    again = await processor.process_batch(_interleaved(lives))
    assert [o[0] for o in again] == ["duplicate", "applied", "duplicate"] * 3
    assert (await _intake_rows(intake, [poisoned]))[poisoned] == ("resolved", "urban")


# --- handling: opens cases and clocks on each routing decision ----------------------------------
@pytest.fixture
async def handling(platform: Settings) -> AsyncIterator[ServiceRuntime]:
    runtime = ServiceRuntime(
        name="handling",
        metadata=handling_store.metadata,
        handlers=handling_consumers.HANDLERS,
        settings=_fast_retries(platform),
        prepare_batch=handling_consumers.prepare_batch,
    )
    yield runtime
    await runtime.engine.dispose()


def _handling_story(kind: str, rid: str) -> list[Envelope]:
    """One request's events in a fetch: routed (with a co-handler); routed then rerouted
    elsewhere; routed then withdrawn."""
    t = now()
    due = Due(accept=t + timedelta(days=1), resolve=t + timedelta(days=5), feedback=t + timedelta(days=6))
    warn = Due(accept=t + timedelta(hours=20), resolve=t + timedelta(days=4))
    first = RequestRouted(
        lead_department="urban", co_departments=["water"], due=due, warn_at=warn, category="repair"
    )
    story = [envelope(rid, first, minutes=1)]
    if kind == "rerouted":
        again = RequestRerouted(lead_department="water", due=due, warn_at=warn, category="repair")
        story.append(envelope(rid, again, minutes=2))
    if kind == "withdrawn":
        story.append(envelope(rid, RequestWithdrawn(reason="已自行解决"), minutes=2))
    return story


async def _handling_state(runtime: ServiceRuntime, rid: str) -> dict[str, Any]:
    c, k = handling_store.cases.c, handling_store.clocks.c
    async with runtime.sessions() as session:
        cases = (
            await session.execute(select(c.department, c.role, c.state).where(c.request_id == rid))
        ).all()
        clocks = (
            await session.execute(
                select(k.department, k.clock, k.stopped_at.is_(None)).where(k.request_id == rid)
            )
        ).all()
        ended = await handling_store.finished_state(session, rid)
    return {"cases": sorted(map(tuple, cases)), "clocks": sorted(map(tuple, clocks)), "finished": ended}


async def test_handling_applies_a_fetch_together_as_one_at_a_time_would(
    handling: ServiceRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    kinds = ["routed", "rerouted", "withdrawn", "routed"]
    together = {kind + str(i): str(uuid.uuid4()) for i, kind in enumerate(kinds)}
    alone = {name: str(uuid.uuid4()) for name in together}
    stories = {name: _handling_story(name.rstrip("0123456789"), rid) for name, rid in together.items()}
    fetch = [
        env.to_bytes() for step in range(2) for story in stories.values() for env in story[step : step + 1]
    ]
    processor = handling.processor()
    outcomes = await processor.process_batch(fetch)
    assert [o[0] for o in outcomes] == ["applied"] * len(fetch)
    assert_applied_together(caplog)
    for name, rid in alone.items():
        for env in _handling_story(name.rstrip("0123456789"), rid):
            assert (await processor.process(env.to_bytes()))[0] == "applied"
    for name in together:
        assert await _handling_state(handling, together[name]) == await _handling_state(handling, alone[name])
    # What one at a time leaves, in words: a reroute moves the case on, a withdrawal ends it.
    assert (await _handling_state(handling, together["rerouted1"]))["cases"] == [
        ("urban", "lead", "returned"),
        ("water", "lead", "routed"),
    ]
    withdrawn = await _handling_state(handling, together["withdrawn2"])
    assert withdrawn["finished"] == "withdrawn"
    assert all(not running for _, _, running in withdrawn["clocks"])
    # The same routing delivered again is a duplicate.
    again = await processor.process_batch([stories["routed0"][0].to_bytes()])
    assert [o[0] for o in again] == ["duplicate"]
    # A later fetch reroutes requests that have cases and running clocks (read with it).
    t = now()
    due = Due(accept=t + timedelta(days=2), resolve=t + timedelta(days=6), feedback=t + timedelta(days=7))
    reroute = RequestRerouted(lead_department="water", due=due, category="repair")
    later = [envelope(together[name], reroute, minutes=5) for name in ("routed0", "routed3")]
    assert [o[0] for o in await processor.process_batch([e.to_bytes() for e in later])] == ["applied"] * 2
    assert_applied_together(caplog)
    for name in ("routed0", "routed3"):
        assert (await processor.process(envelope(alone[name], reroute, minutes=5).to_bytes()))[0] == "applied"
        rerouted = await _handling_state(handling, together[name])
        assert rerouted == await _handling_state(handling, alone[name])
        assert rerouted["cases"] == [("urban", "lead", "returned"), ("water", "lead", "routed")]
        running = sorted((department, clock) for department, clock, runs in rerouted["clocks"] if runs)
        assert running and {department for department, _ in running} == {"water"}


async def test_handling_dead_letters_a_poison_event_and_applies_the_rest_of_its_fetch(
    handling: ServiceRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    processor = handling.processor()
    handlers = dict(processor._handlers)
    handlers[RequestRouted] = _failing_for(ids[1], handlers[RequestRouted])
    processor._handlers = handlers  # this test's bug
    outcomes = await processor.process_batch([_handling_story("routed", rid)[0].to_bytes() for rid in ids])
    assert [o[0] for o in outcomes] == ["applied", "dead_letter", "applied"]
    assert "projection bug" in (outcomes[1][1] or "")
    assert [r for r in caplog.records if "one at a time" in r.getMessage()]  # the fetch fell back
    for rid in (ids[0], ids[2]):
        state = await _handling_state(handling, rid)
        assert state["cases"] == [("urban", "lead", "routed"), ("water", "co", "routed")]
        assert state["clocks"] and all(running for _, _, running in state["clocks"])
    assert await _handling_state(handling, ids[1]) == {"cases": [], "clocks": [], "finished": None}


# --- routing: routes each arrival, follows returns, keeps what resolved it as a label -----------
@pytest.fixture
async def routing(platform: Settings) -> AsyncIterator[ServiceRuntime]:
    runtime = ServiceRuntime(
        name="routing",
        metadata=routing_store.metadata,
        handlers=routing_consumers.HANDLERS,
        settings=_fast_retries(platform),
        prepare_batch=routing_consumers.prepare_batch,
    )
    yield runtime
    await runtime.engine.dispose()


ROUTING_TEXTS = ["小区楼道灯坏了一个月没人修", "自来水管爆裂，整栋楼停水", "路边井盖丢失，很危险"]


def _routing_story(kind: str, rid: str, content: str) -> list[Envelope]:
    """One request's events in a fetch: it arrives and is resolved; or it arrives and the
    department returns it."""
    arrival = RequestReceived(
        channel="web",
        category="repair",
        urgency="normal",
        submitted_at=now(),
        first_responder=FirstResponder(kind="channel", id="web"),
        content=content,
    )
    story = [envelope(rid, arrival)]
    if kind == "resolved":
        done = RequestResolved(department="urban", handler_id="h-1", outcome="resolved", reply="已修复")
        story.append(envelope(rid, done, minutes=2))
    else:
        story.append(envelope(rid, RequestReturned(department="urban", reason="不属于本部门"), minutes=2))
    return story


async def _routing_state(runtime: ServiceRuntime, rid: str) -> dict[str, Any]:
    r, a, lab = routing_store.routes.c, routing_store.assignments.c, routing_store.dispatch_labels.c
    outbox = outbox_table(routing_store.metadata)
    async with runtime.sessions() as session:
        route = (
            await session.execute(
                select(
                    r.state, r.lead_department, r.co_departments, r.excluded_departments, r.returns, r.matter
                ).where(r.request_id == rid)
            )
        ).one()
        history = (
            await session.execute(
                select(a.kind, a.department, a.matter).where(a.request_id == rid).order_by(a.seq)
            )
        ).all()
        label = (
            await session.execute(select(lab.department, lab.source, lab.text).where(lab.request_id == rid))
        ).all()
        events = (
            await session.execute(select(outbox.c.type).where(outbox.c.key == rid).order_by(outbox.c.id))
        ).all()
    return {"route": tuple(route), "history": history, "label": label, "events": events}


async def test_routing_applies_a_fetch_together_as_one_at_a_time_would(
    routing: ServiceRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    kinds = ["resolved", "returned", "resolved"]
    together = [str(uuid.uuid4()) for _ in kinds]
    alone = [str(uuid.uuid4()) for _ in kinds]
    stories = [_routing_story(k, rid, t) for k, rid, t in zip(kinds, together, ROUTING_TEXTS, strict=True)]
    fetch = [story[step].to_bytes() for step in range(2) for story in stories]
    processor = routing.processor()
    outcomes = await processor.process_batch(fetch)
    assert [o[0] for o in outcomes] == ["applied"] * len(fetch)
    assert_applied_together(caplog)
    for kind, rid, content in zip(kinds, alone, ROUTING_TEXTS, strict=True):
        for env in _routing_story(kind, rid, content):
            assert (await processor.process(env.to_bytes()))[0] == "applied"
    states = [await _routing_state(routing, rid) for rid in together]
    assert states == [await _routing_state(routing, rid) for rid in alone]
    # In words: each arrival was routed once (its event in the outbox), a resolution keeps
    # the label of the department that resolved it, a return routes it again without them.
    assert all(state["history"][0][0] == "routed" for state in states)
    assert states[0]["label"] == [("urban", "resolved", ROUTING_TEXTS[0])]
    assert states[0]["events"][0] == ("request.routed",)
    assert states[1]["route"][3] == ["urban"] and states[1]["route"][4] == 1
    # Delivered again: duplicates, nothing routed twice.
    again = await processor.process_batch([story[0].to_bytes() for story in stories])
    assert [o[0] for o in again] == ["duplicate"] * len(stories)
    assert [await _routing_state(routing, rid) for rid in together] == states


async def test_routing_dead_letters_a_poison_event_and_applies_the_rest_of_its_fetch(
    routing: ServiceRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [str(uuid.uuid4()) for _ in ROUTING_TEXTS]
    processor = routing.processor()
    handlers = dict(processor._handlers)
    for event in (RequestReceived, RequestResolved):
        handlers[event] = _failing_for(ids[1], handlers[event])
    processor._handlers = handlers  # this test's bug
    stories = [_routing_story("resolved", rid, t) for rid, t in zip(ids, ROUTING_TEXTS, strict=True)]
    outcomes = await processor.process_batch(
        [story[step].to_bytes() for step in range(2) for story in stories]
    )
    assert [o[0] for o in outcomes] == ["applied", "dead_letter", "applied"] * 2
    assert [r for r in caplog.records if "one at a time" in r.getMessage()]  # the fetch fell back
    for rid in (ids[0], ids[2]):
        state = await _routing_state(routing, rid)
        assert state["route"][0] == "routed" and state["events"] == [("request.routed",)]
        assert state["label"] and state["label"][0][:2] == ("urban", "resolved")
    r = routing_store.routes.c
    async with routing.sessions() as session:
        assert (await session.execute(select(r.request_id).where(r.request_id == ids[1]))).first() is None


# --- followup: follows each request until its feedback --------------------------------------------
@pytest.fixture
async def followup(platform: Settings) -> AsyncIterator[ServiceRuntime]:
    runtime = ServiceRuntime(
        name="followup",
        metadata=followup_store.metadata,
        handlers=followup_consumers.HANDLERS,
        settings=_fast_retries(platform),
        prepare_batch=followup_consumers.prepare_batch,
    )
    yield runtime
    await runtime.engine.dispose()


def _followup_story(rid: str) -> list[Envelope]:
    arrival = RequestReceived(
        channel="web",
        category="repair",
        urgency="normal",
        submitted_at=now(),
        first_responder=FirstResponder(kind="channel", id="web"),
    )
    return [envelope(rid, arrival), *_lifecycle(rid, "water")]


async def _followup_row(runtime: ServiceRuntime, rid: str) -> tuple[Any, ...] | None:
    f = followup_store.followups.c
    async with runtime.sessions() as session:
        row = (
            await session.execute(
                select(f.state, f.lead_department, f.reply, f.outcome, f.feedback_due.is_not(None)).where(
                    f.request_id == rid
                )
            )
        ).first()
    return None if row is None else tuple(row)


async def test_followup_dead_letters_a_poison_event_and_applies_the_rest_of_its_fetch(
    followup: ServiceRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    processor = followup.processor()
    handlers = dict(processor._handlers)
    handlers[RequestResolved] = _failing_for(ids[1], handlers[RequestResolved])
    processor._handlers = handlers  # this test's bug: the resolution of one request fails
    stories = [_followup_story(rid) for rid in ids]
    outcomes = await processor.process_batch(
        [env.to_bytes() for step in range(4) for env in (s[step] for s in stories)]
    )
    assert [o[0] for o in outcomes] == ["applied"] * 10 + ["dead_letter", "applied"]
    assert [r for r in caplog.records if "one at a time" in r.getMessage()]  # the fetch fell back
    assert await _followup_row(followup, ids[0]) == ("resolved", "water", "已修复", "resolved", True)
    assert await _followup_row(followup, ids[2]) == ("resolved", "water", "已修复", "resolved", True)
    # The poisoned request's earlier steps were applied; its resolution was not.
    assert await _followup_row(followup, ids[1]) == ("accepted", "water", None, None, True)


async def test_routing_applies_an_arrival_the_urgent_lane_routed_first_once(
    routing: ServiceRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    """The urgent lane (a consumer group of its own) routed an urgent arrival; the main
    consumer's fetch then holds it beside an ordinary one: its route exists (read with the
    fetch), so it is not routed again, and the other is."""
    urgent_rid, other_rid = str(uuid.uuid4()), str(uuid.uuid4())
    urgent = envelope(
        urgent_rid,
        RequestReceived(
            channel="web",
            category="repair",
            urgency="urgent",
            submitted_at=now(),
            first_responder=FirstResponder(kind="channel", id="web"),
            content="燃气管道漏气，味道很大",
        ),
    )
    other = _routing_story("resolved", other_rid, ROUTING_TEXTS[0])[0]
    lane = routing.processor(f"routing-urgent-{uuid.uuid4().hex[:6]}", routing_consumers.is_urgent_arrival)
    assert [o[0] for o in await lane.process_batch([urgent.to_bytes(), other.to_bytes()])] == [
        "applied",
        "ignored",
    ]
    main = routing.processor()
    assert [o[0] for o in await main.process_batch([urgent.to_bytes(), other.to_bytes()])] == ["applied"] * 2
    assert_applied_together(caplog)
    urgent_state, other_state = (
        await _routing_state(routing, urgent_rid),
        await _routing_state(routing, other_rid),
    )
    assert [kind for kind, _, _ in urgent_state["history"]] == ["routed"]
    assert urgent_state["events"].count(("request.routed",)) == 1
    assert [kind for kind, _, _ in other_state["history"]] == ["routed"]
    assert other_state["events"] == [("request.routed",)]


# --- the outbox of a fetch: many events in one statement -----------------------------------------
async def test_a_unit_of_work_with_many_events_writes_them_in_order_with_their_priority(
    routing: ServiceRuntime,
) -> None:
    """The outbox's order is each request's order on the topic: several events raised in one
    unit of work (a consumer's fetch) keep the order they were raised in, and an urgent
    arrival's row is marked to go first."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    urgent = RequestReceived(
        channel="web",
        category="repair",
        urgency="urgent",
        submitted_at=now(),
        first_responder=FirstResponder(kind="channel", id="web"),
    )
    raised = [_routing_story("resolved", rid, "路灯不亮")[0] for rid in (first, second)]
    async with routing.uow() as uow:
        emitted = [
            uow.emit(RequestReceived.model_validate(raised[0].data), request_id=first, actor=raised[0].actor),
            uow.emit(urgent, request_id=second, actor=raised[1].actor),
            *(
                uow.emit(
                    RequestResolved(department="urban", handler_id="h-1", outcome="resolved", reply="已修复"),
                    request_id=rid,
                    actor=raised[0].actor,
                )
                for rid in (second, first)
            ),
        ]
        await uow.commit()
    outbox = outbox_table(routing_store.metadata)
    o = outbox.c
    async with routing.sessions() as session:
        rows = (
            await session.execute(
                select(o.event_id, o.key, o.type, o.version, o.payload, o.priority)
                .where(o.key.in_([first, second]))
                .order_by(o.id)
            )
        ).all()
    assert [(row.event_id, row.key, row.type, row.priority) for row in rows] == [
        (emitted[0].id, first, "request.received", 0),
        (emitted[1].id, second, "request.received", 1),
        (emitted[2].id, second, "request.resolved", 0),
        (emitted[3].id, first, "request.resolved", 0),
    ]
    assert [row.payload for row in rows] == [env.model_dump(mode="json") for env in emitted]
    assert all(row.version == env.version for row, env in zip(rows, emitted, strict=True))
