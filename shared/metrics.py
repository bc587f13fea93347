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
CONSUMER_LAG = Gauge(
    "consumer_lag_events", "Events on the topic a consumer has not handled yet", ["consumer", "partition"]
)
OPEN_CASES = Gauge("open_cases", "Cases open in handling, by department", ["department", "urgency"])
OVERDUE_CASES = Gauge("overdue_cases", "Open cases past a due time, by department", ["department"])
SLA_BREACHES = Counter("sla_breaches_total", "SLA breaches marked by the scheduler", ["department", "clock"])
CALENDAR_PROVISIONAL = Gauge(
    "calendar_next_year_provisional",
    "1 from 1 November while next year's holidays are provisional (the State Council notice not entered)",
    ["service"],
)
SLA_WARNINGS = Counter("sla_warnings_total", "SLA warnings marked by the scheduler", ["department", "clock"])
