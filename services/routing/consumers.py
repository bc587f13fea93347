"""Routing reacts to new, returned and reopened requests."""

from __future__ import annotations

from services.routing import service
from shared.inbox import Handler

HANDLERS: dict[str, Handler] = {
    "request.received": service.route_received,
    "request.returned": service.handle_return,
    "request.reopened": service.handle_reopen,
}
