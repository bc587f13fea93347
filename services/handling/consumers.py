"""Handling puts routed requests into the departments' queues."""

from __future__ import annotations

from services.handling import service, sla_scheduler
from shared.inbox import Handler

HANDLERS: dict[str, Handler] = {
    "request.routed": service.open_cases,
    "request.rerouted": service.open_cases,
    "request.answered_at_intake": service.close_cases,
    "request.merged": service.close_cases,
    "request.withdrawn": service.close_cases,
    "request.closed": service.close_cases,
    "request.reopened": service.note_reopened,
    "request.due_changed": service.apply_due_changed,
    "request.merge_released": service.reopen_released,
    "request.due_recomputed": sla_scheduler.apply_recomputed_due,
}
