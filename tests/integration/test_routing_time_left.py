"""Routing's `POST /v1/calendar/time-left` (issue 21): the working time left on a list of
clocks, on the seeded calendar, from the platform's clock or a given instant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest

from services.routing import store as routing_store
from services.routing.main import build_app
from shared.auth import issue_staff_token
from shared.clock import now
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client

HANDLER = {"Authorization": "Bearer " + issue_staff_token("handler-env-01", "handler", "environment")}
OPS = {"Authorization": "Bearer " + issue_staff_token("ops-01", "ops")}


@pytest.fixture
async def client(platform: Settings) -> AsyncIterator[httpx.AsyncClient]:
    runtime = ServiceRuntime(name="routing", metadata=routing_store.metadata, handlers={}, settings=platform)
    async for c in asgi_client(build_app(runtime)):
        yield c


async def test_time_left_at_a_given_instant_skips_weekends_holidays_and_lunch(
    client: httpx.AsyncClient,
) -> None:
    friday_four = "2026-11-27T16:00:00+08:00"
    answer = await client.post(
        "/v1/calendar/time-left",
        headers=HANDLER,
        json={"dues": ["2026-11-30T10:00:00+08:00", "2026-11-27T14:00:00+08:00"], "at": friday_four},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "at": friday_four,
        "workday_minutes": 450,
        "items": [
            # Monday 10:00 seen Friday 16:00: two hours on Friday, one on Monday.
            {"due": "2026-11-30T10:00:00+08:00", "working_minutes_left": 180, "overdue": False},
            {"due": "2026-11-27T14:00:00+08:00", "working_minutes_left": -120, "overdue": True},
        ],
    }

    # The seeded National Day holiday (1-7 October 2026) and the make-up Saturday after it.
    holiday = await client.post(
        "/v1/calendar/time-left",
        headers=OPS,
        json={
            "dues": ["2026-10-03T12:00:00+08:00", "2026-10-10T10:00:00+08:00", "2026-10-08T10:00:00Z"],
            "at": "2026-09-30T17:00:00+08:00",
        },
    )
    assert [i["working_minutes_left"] for i in holiday.json()["items"]] == [60, 60 + 2 * 450 + 60, 60 + 450]
    assert holiday.json()["items"][2]["due"] == "2026-10-08T10:00:00+00:00"  # as asked, its offset kept

    # Overdue by two working hours across the lunch break.
    lunch = await client.post(
        "/v1/calendar/time-left",
        headers=HANDLER,
        json={"dues": ["2026-12-02T11:00:00+08:00"], "at": "2026-12-02T14:30:00+08:00"},
    )
    assert lunch.json()["items"] == [
        {"due": "2026-12-02T11:00:00+08:00", "working_minutes_left": -120, "overdue": True}
    ]


async def test_time_left_defaults_to_the_platforms_clock(client: httpx.AsyncClient) -> None:
    # Whatever instant the suite's clock is pinned to (make test-instants moves it), the
    # default `at` is the platform's now, and it answers as the same `at` given explicitly.
    dues = [(now() + timedelta(days=20)).isoformat(), (now() - timedelta(days=20)).isoformat()]
    before = now()
    answer = (await client.post("/v1/calendar/time-left", headers=HANDLER, json={"dues": dues})).json()
    after = now()
    at = datetime.fromisoformat(answer["at"])
    assert at.isoformat().endswith("+08:00")  # in the organisation's zone
    assert before <= at <= after
    later, earlier = answer["items"]
    assert later["overdue"] is False and later["working_minutes_left"] > 0
    assert earlier["overdue"] is True and earlier["working_minutes_left"] < 0
    explicit = (
        await client.post("/v1/calendar/time-left", headers=HANDLER, json={"dues": dues, "at": answer["at"]})
    ).json()
    assert explicit == answer


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"dues"}),
        ({"dues": []}, {"dues"}),
        ({"dues": ["2026-12-02T10:00:00+08:00"] * 501}, {"dues"}),
        ({"dues": ["2026-12-02T10:00:00"]}, {"dues.0"}),
        ({"dues": ["2026-12-02T10:00:00+08:00", "tomorrow"]}, {"dues.1"}),
        ({"dues": ["0001-01-01T00:00:00+08:00"]}, {"dues.0"}),
        ({"dues": ["2026-12-02T10:00:00+08:00"], "at": "2026-12-02"}, {"at"}),
        ({"dues": ["2026-12-02T10:00:00+08:00"], "now": "2026-12-02T10:00:00+08:00"}, {"now"}),
    ],
)
async def test_bad_time_left_queries_are_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], fields: set[str]
) -> None:
    answer = await client.post("/v1/calendar/time-left", headers=HANDLER, json=body)
    assert answer.status_code == 422, answer.text
    assert {f["field"] for f in answer.json()["error"]["fields"]} == fields


async def test_time_left_is_for_staff(client: httpx.AsyncClient) -> None:
    body = {"dues": ["2026-12-02T10:00:00+08:00"]}
    assert (await client.post("/v1/calendar/time-left", json=body)).status_code == 401
