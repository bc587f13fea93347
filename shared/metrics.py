"""Prometheus metrics shared by every service (each service is its own process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "route", "method", "status"])
HTTP_LATENCY = Histogram("http_request_duration_seconds", "HTTP latency", ["service", "route", "method"])
EVENTS_PUBLISHED = Counter("events_published_total", "Events published by the relay", ["service", "type"])
EVENTS_CONSUMED = Counter(
    "events_consumed_total", "Events handled by a consumer", ["consumer", "type", "outcome"]
)
DEAD_LETTERS = Counter("dead_letters_total", "Events sent to the dead-letter topic", ["consumer"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox events not yet published", ["service"])
