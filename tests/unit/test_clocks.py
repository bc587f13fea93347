from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.handling.domain.clocks import Clock, ExtensionPolicy, ExtensionRefused, clocks_from_routing

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 25, 10, tzinfo=TZ)
H = timedelta(hours=1)


def clock(**kw: object) -> Clock:
    base = {
        "request_id": "r",
        "department": "urban",
        "name": "resolve",
        "started_at": T0,
        "due": T0 + 10 * H,
        "original_due": T0 + 10 * H,
        "warn_at": T0 + 8 * H,
    }
    return Clock(**{**base, **kw})  # type: ignore[arg-type]


def test_warning_then_breach_each_once() -> None:
    c = clock()
    assert c.alerts_due(T0 + 7 * H) == []
    assert c.alerts_due(T0 + 8 * H) == ["warning"]
    warned = Clock(**{**c.__dict__, "warned_at": T0 + 8 * H})
    assert warned.alerts_due(T0 + 9 * H) == []
    assert warned.alerts_due(T0 + 10 * H) == ["breach"]
    breached = Clock(**{**warned.__dict__, "breached_at": T0 + 10 * H})
    assert breached.alerts_due(T0 + 100 * H) == []


def test_a_scheduler_that_was_down_emits_a_breach_without_a_stale_warning_after_it() -> None:
    assert clock().alerts_due(T0 + 12 * H) == ["warning", "breach"]
    assert clock(breached_at=T0 + 10 * H).alerts_due(T0 + 12 * H) == []


def test_a_stopped_clock_says_nothing() -> None:
    stopped = clock(stopped_at=T0 + H)
    assert stopped.alerts_due(T0 + 20 * H) == [] and not stopped.overdue(T0 + 20 * H)


def test_at_risk_and_overdue() -> None:
    c = clock()
    assert not c.at_risk(T0 + 7 * H) and c.at_risk(T0 + 9 * H) and not c.at_risk(T0 + 10 * H)
    assert c.overdue(T0 + 10 * H) and not c.overdue(T0 + 9 * H)


def test_extension_moves_the_due_time_and_the_warning_keeps_its_fraction() -> None:
    c = clock(warned_at=T0 + 8 * H)
    c.check_extension(T0 + 20 * H, T0 + 9 * H, ExtensionPolicy())
    moved = c.extend(T0 + 20 * H, T0 + 9 * H)
    assert moved.due == T0 + 20 * H and moved.warn_at == T0 + 16 * H and moved.warned_at is None
    assert moved.extensions == 1 and moved.original_due == T0 + 10 * H


@pytest.mark.parametrize(
    ("changes", "requested", "now", "rule"),
    [
        ({"stopped_at": T0}, T0 + 20 * H, T0 + H, "clock_running"),
        ({}, T0 + 20 * H, T0 + 11 * H, "before_due"),
        ({}, T0 + 9 * H, T0 + H, "later_than_due"),
        ({"extensions": 2}, T0 + 20 * H, T0 + H, "max_extensions"),
        ({}, T0 + 10 * H + timedelta(days=31), T0 + H, "max_total_extension"),
    ],
)
def test_extension_limits(changes: dict[str, object], requested: datetime, now: datetime, rule: str) -> None:
    with pytest.raises(ExtensionRefused) as caught:
        clock(**changes).check_extension(requested, now, ExtensionPolicy())
    assert caught.value.rule == rule


def test_clocks_come_from_the_routing_decision() -> None:
    due = {
        "accept": (T0 + H).isoformat(),
        "first_contact": None,
        "resolve": (T0 + 10 * H).isoformat(),
        "feedback": (T0 + 12 * H).isoformat(),
    }
    warn = {"accept": (T0 + 0.8 * H).isoformat(), "resolve": None}
    clocks = clocks_from_routing("r", "urban", T0, due, warn)
    assert [(c.name, c.due, c.warn_at) for c in clocks] == [
        ("accept", T0 + H, T0 + 0.8 * H),
        ("resolve", T0 + 10 * H, None),
    ]
