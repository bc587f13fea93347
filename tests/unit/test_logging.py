"""Log lines carry the ids of what is being handled, and nothing leaks between contexts."""

from __future__ import annotations

import json
import logging

from shared.logging import ContextFilter, JsonFormatter, current_context, log_context


def _line(message: str) -> dict[str, str]:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, None, None)
    ContextFilter().filter(record)
    return dict(json.loads(JsonFormatter("intake").format(record)))


def test_a_line_written_inside_a_context_carries_its_ids() -> None:
    with log_context(correlation_id="c-1", event_id="e-1", causation_id=None):
        line = _line("applied")
    assert line["correlation_id"] == "c-1" and line["event_id"] == "e-1"
    assert "causation_id" not in line and line["service"] == "intake"


def test_nested_contexts_add_ids_and_restore_on_exit() -> None:
    with log_context(correlation_id="outer"):
        with log_context(event_id="e-2"):
            assert current_context() == {"correlation_id": "outer", "event_id": "e-2"}
        assert current_context() == {"correlation_id": "outer"}
    assert current_context() == {}
    assert "correlation_id" not in _line("outside")
