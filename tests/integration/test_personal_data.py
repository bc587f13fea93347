"""Personal data stays where it belongs, and no input makes a service answer 5xx.

The five services run in-process against the real PostgreSQL. A person writes their phone,
ID number, e-mail, name and flat into every free-text field, in the forms people use; the
hostile suite then sends NUL bytes to every route of every service, out-of-range numbers,
instants and periods. Afterwards no response outside the audited reads, no lifecycle event
and no log line holds any of the person's strings, and no answer was a 5xx.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from services.followup import store as followup_store
from services.followup.main import build_app as build_followup
from services.handling import store as handling_store
from services.handling.main import build_app as build_handling
from services.intake import store as intake_store
from services.intake.main import build_app as build_intake
from services.kpi import store as kpi_store
from services.kpi.main import build_app as build_kpi
from services.routing import store as routing_store
from services.routing.main import build_app as build_routing
from shared.auth import issue_staff_token
from shared.db import create_engine, outbox_table
from shared.logging import ContextFilter, JsonFormatter
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client


def bearer(sub: str, role: str, department: str | None = None) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_staff_token(sub, role, department)}


AGENT = bearer("agent-pii", "agent")
SUPERVISOR = bearer("supervisor-pii", "supervisor")
ADMIN = bearer("admin-pii", "admin")
HANDLER = bearer("h-pii", "handler", "urban")
HOTLINE = {"X-API-Key": "dev-hotline-key"}

# The person, and how they wrote themselves into the text.
PERSON = {
    "name": "林小红",
    "phone": "13900001111",
    "email": "lin.xiaohong@example.com",
    "id_number": "110101199003071233",
    "address": "杭州市西湖区文三路478号华星时代广场A座1201室",
}
CONTENT = (
    "我是林 小 红，住华星时代广场A座1201室，楼上天天半夜装修，吵得孩子睡不着。"
    "电话139-0000-1111，或者１３９ ００００ １１１１，身份证110101 19900307 1233，"
    "邮箱lin.xiaohong@example.com，白天打一三九零零零零一一一一也行"
)
# What must appear nowhere outside intake's store and its audited reads.
SECRETS = [
    "小红",
    "小 红",
    "13900001111",
    "139-0000-1111",
    "１３９ ００００ １１１１",
    "一三九零零零零一一一一",
    "110101199003071233",
    "110101 19900307 1233",
    "lin.xiaohong",
    "1201室",
    "478号",
]


def leaks(where: str) -> list[str]:
    squeezed = re.sub(r"\s", "", where)
    return [s for s in SECRETS if s in where or re.sub(r"\s", "", s) in squeezed]


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every log line written while the test runs, as the services write them (JSON)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter("test"))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    before = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


BUILDERS = {
    "intake": (build_intake, intake_store.metadata),
    "routing": (build_routing, routing_store.metadata),
    "handling": (build_handling, handling_store.metadata),
    "followup": (build_followup, followup_store.metadata),
    "kpi": (build_kpi, kpi_store.metadata),
}


@pytest.fixture
async def services(platform: Settings) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    clients: dict[str, httpx.AsyncClient] = {}
    generators = []
    for name, (build, metadata) in BUILDERS.items():
        runtime = ServiceRuntime(name=name, metadata=metadata, handlers={}, settings=platform)
        gen = asgi_client(build(runtime))
        clients[name] = await gen.__anext__()
        generators.append(gen)
    yield clients
    for gen in generators:
        await gen.aclose()


class Outcomes:
    """Every answer the hostile suite got; an exception escaping the app counts as a 500
    and is logged as uvicorn would log it (so the log check sees its text too)."""

    def __init__(self) -> None:
        self.calls = 0
        self.server_errors: list[str] = []

    async def call(
        self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
    ) -> httpx.Response | None:
        self.calls += 1
        try:
            response = await client.request(method, url, **kwargs)
        except Exception:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
            self.server_errors.append(f"{method} {url}: exception")
            return None
        if response.status_code >= 500:
            self.server_errors.append(f"{method} {url}: {response.status_code} {response.text[:200]}")
        return response


async def submit(intake: httpx.AsyncClient) -> str:
    body = {
        "channel": "hotline",
        "title": "投诉 林小红 13900001111",
        "content": CONTENT,
        "topic": "林小红家楼上装修",
        "area": "华星时代广场A座1201室",
        "requester": PERSON,
    }
    answer = await intake.post("/v1/requests", json=body, headers=AGENT)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_views_and_events_are_masked_and_the_full_text_is_an_audited_read(
    services: dict[str, httpx.AsyncClient], logs: io.StringIO
) -> None:
    intake = services["intake"]
    rid = await submit(intake)

    shown = (await intake.get(f"/v1/requests/{rid}", headers=AGENT)).json()
    listed: list[dict[str, Any]] = []
    cursor: str | None = None
    while rid not in [r["id"] for r in listed]:  # other tests' requests may come first
        page = (
            await intake.get("/v1/requests", headers=SUPERVISOR, params={"limit": 200, "cursor": cursor})
        ).json()
        listed += page["items"]
        cursor = page["next_cursor"]
        assert rid in [r["id"] for r in listed] or cursor, "the request is in no page of the list"
    for view in (shown, next(r for r in listed if r["id"] == rid)):
        assert leaks(str(view)) == [], view
        # What happened stays readable; who it was and how to reach them does not.
        assert "楼上天天半夜装修，吵得孩子睡不着" in view["content"]
        assert "139****1111" in view["content"] and "1101**********1233" in view["content"]
        assert "林**" in view["content"] and "l***@example.com" in view["content"]
        assert view["title"] == "投诉 林** 139****1111"
        assert view["topic"] == "林**家楼上装修" and view["area"] == "***"

    # The request's lifecycle event (what every other service reads) holds none of it.
    runtime: ServiceRuntime = intake._transport.app.state.runtime  # type: ignore[attr-defined]
    outbox = outbox_table(intake_store.metadata)
    async with runtime.sessions() as session:
        payloads = list(
            await session.scalars(
                select(outbox.c.payload).where(
                    outbox.c.key == rid, outbox.c.topic == runtime.settings.lifecycle_topic
                )
            )
        )
    assert payloads and all(leaks(str(p)) == [] for p in payloads), payloads

    # The full text: only with a purpose, and every read lands in the audit log.
    assert (await intake.get(f"/v1/requests/{rid}/text", headers=AGENT)).status_code == 422
    full = await intake.get(f"/v1/requests/{rid}/text", params={"purpose": "回电核实装修时间"}, headers=AGENT)
    assert full.status_code == 200 and full.json()["content"] == CONTENT
    assert (await intake.get(f"/v1/requests/{rid}/text?purpose=look", headers=HANDLER)).status_code == 403
    await intake.get(f"/v1/requests/{rid}/requester", params={"purpose": "电话回访"}, headers=SUPERVISOR)

    assert (await intake.get("/v1/personal-data-reads", headers=AGENT)).status_code == 403
    audit = await intake.get("/v1/personal-data-reads", params={"request_id": rid}, headers=SUPERVISOR)
    assert audit.status_code == 200, audit.text
    rows = audit.json()["items"]
    assert [(r["reader_id"], r["reader_role"], r["what"], r["purpose"]) for r in rows] == [
        ("agent-pii", "agent", "text", "回电核实装修时间"),
        ("supervisor-pii", "supervisor", "requester", "电话回访"),
    ]
    assert all(r["at"].endswith("+00:00") or "+" in r["at"] for r in rows)
    by_admin = await intake.get("/v1/personal-data-reads", params={"reader_id": "agent-pii"}, headers=ADMIN)
    assert {r["request_id"] for r in by_admin.json()["items"]} == {rid}
    assert leaks(logs.getvalue()) == []


class _Route:
    def __init__(self, path: str, methods: set[str]) -> None:
        self.path, self.methods = path, methods


async def test_hostile_input_gets_a_clear_4xx_and_no_personal_data_reaches_logs(
    services: dict[str, httpx.AsyncClient], logs: io.StringIO
) -> None:
    outcomes = Outcomes()
    rid = await submit(services["intake"])

    # 1. NUL bytes in the path, the query and the JSON body of every route of every service.
    nul_routes = 0
    for name, client in services.items():
        app = client._transport.app  # type: ignore[attr-defined]
        spec = app.openapi()
        for route_path, operations in spec["paths"].items():
            route = _Route(route_path, {m.upper() for m in operations})
            for method in route.methods:
                path = re.sub(r"\{[^}]+\}", "nul%00here", route.path) if "{" in route.path else route.path
                nul_routes += 1
                for url, kwargs in [
                    (path, {}),
                    (route.path.replace("{", "").replace("}", "") + "?q=%00&limit=1", {}),
                    (
                        re.sub(r"\{[^}]+\}", rid, route.path),
                        {"json": {"content": "a\u0000b", "reason": "\u0000", "note": "x\u0000"}}
                        if method in ("POST", "PUT")
                        else {"params": {"cursor": "\u0000"}},
                    ),
                ]:
                    answer = await outcomes.call(client, method, url, headers=ADMIN, **kwargs)
                    if answer is not None and "%00" in url:
                        assert answer.status_code in (400, 404, 405, 422), (name, method, url, answer.text)
    assert nul_routes > 60

    # The unauthenticated Open311 endpoints too.
    intake = services["intake"]
    for url in [
        "/open311/v2/requests/%00.json",
        "/open311/v2/requests.json?service_code=%00",
        "/open311/v2/services/%00.json",
    ]:
        answer = await outcomes.call(intake, "GET", url)
        assert answer is not None and answer.status_code in (400, 404, 422), (url, answer and answer.text)
    form = await outcomes.call(
        intake,
        "POST",
        "/open311/v2/requests.json",
        data={
            "api_key": "dev-open311-key",
            "service_code": "repair",
            "description": "a\u0000b",
            "lat": "1",
            "long": "1",
        },
    )
    assert (
        form is not None
        and form.status_code == 422
        and form.json()["error"]["fields"][0]["field"] == "description"
    )

    # 2. Numbers out of range: a catalogue version over int32, cursors at and over 2^63.
    big = await outcomes.call(intake, "GET", f"/v1/catalog/residence_permit?version={2**31}", headers=AGENT)
    assert (
        big is not None and big.status_code == 422 and big.json()["error"]["fields"][0]["field"] == "version"
    )
    for seq in (2**63, 2**64, -1):
        cursor = base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")
        for name, url in [("intake", "/v1/requests"), ("intake", "/v1/personal-data-reads")]:
            answer = await outcomes.call(services[name], "GET", f"{url}?cursor={cursor}", headers=ADMIN)
            assert answer is not None and answer.status_code == 400, answer and answer.text

    # 3. Instants whose UTC value leaves the years the platform holds, and absurd years.
    for instant in [
        "0001-01-01T00:00:00+08:00",
        "9999-12-31T23:00:00-08:00",
        "9999-12-31T10:00:00+08:00",
        "1900-01-01T00:00:00+00:00",
    ]:
        body = {"channel": "hotline", "content": "路灯坏了", "anonymous": True, "submitted_at": instant}
        answer = await outcomes.call(intake, "POST", "/v1/requests", json=body, headers=AGENT)
        assert answer is not None and answer.status_code == 422, (instant, answer and answer.text)
        assert answer.json()["error"]["fields"][0]["field"] == "submitted_at"
        due = await outcomes.call(
            services["routing"],
            "POST",
            "/v1/calendar/due",
            json={"start": instant, "amount": 1, "unit": "working_days"},
            headers=AGENT,
        )
        assert due is not None and due.status_code == 422, (instant, due and due.text)
        listed = await outcomes.call(
            services["followup"], "GET", "/v1/revisits", params={"due_before": instant}, headers=SUPERVISOR
        )
        assert listed is not None and listed.status_code in (404, 422), (instant, listed and listed.text)
        order = await outcomes.call(
            services["handling"],
            "POST",
            "/v1/supervision-orders",
            json={"request_id": rid, "instructions": "尽快处理", "due": instant},
            headers=SUPERVISOR,
        )
        assert order is not None and order.status_code == 422, (instant, order and order.text)
        open311 = await outcomes.call(
            intake, "GET", "/open311/v2/requests.json", params={"start_date": instant, "end_date": instant}
        )
        assert open311 is not None and open311.status_code == 400, (instant, open311 and open311.text)
    day = await outcomes.call(services["routing"], "GET", "/v1/calendar/days/0001-01-01", headers=AGENT)
    assert day is not None and day.status_code == 422

    # 4. KPI periods that are no period the platform can hold.
    for period in ["0000", "0001-01", "9999-12", "9999-W52", "１２３４-01", "٢٠٢٦-11", "2026-13"]:
        answer = await outcomes.call(
            services["kpi"], "GET", "/v1/kpis", params={"period": period}, headers=SUPERVISOR
        )
        assert answer is not None and answer.status_code == 422, (period, answer and answer.text)
        assert answer.json()["error"]["fields"][0]["field"] == "period"

    # 5. A rating that contradicts its score.
    rating = await outcomes.call(
        services["followup"],
        "POST",
        f"/v1/requests/{rid}/rating",
        json={"rating": "satisfied", "score": 1, "comment": "态度很差"},
        headers=AGENT,
    )
    assert rating is not None and rating.status_code == 422
    [problem] = rating.json()["error"]["fields"]
    assert problem["field"] == "score" and problem["rule"] == "score_matches_rating"
    assert problem["message"] == "score 1 does not go with a satisfied rating (it goes with 4 or 5)"

    # 6. An API key other services cannot check because intake is unreachable: a 503 that
    # says so (retry), not a 500.
    unknown = await services["routing"].get("/v1/departments", headers={"X-API-Key": "who-am-i"})
    assert unknown.status_code == 503 and unknown.json()["error"]["code"] == "key_check_unavailable"
    assert unknown.headers["Retry-After"] == "1"

    assert outcomes.server_errors == [], outcomes.server_errors
    print(f"\nhostile suite: {outcomes.calls} calls, {len(outcomes.server_errors)} answered 5xx")
    assert leaks(logs.getvalue()) == [], logs.getvalue()[-2000:]


async def test_database_errors_carry_no_parameters(platform: Settings) -> None:
    """SQLAlchemy would put the statement's parameters (the person's data) into the error
    text, and so into a log line: the services' engines hide them."""
    engine = create_engine(platform.database_url("intake"), platform)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as caught:
                await connection.execute(text("SELECT CAST(:who AS integer)"), {"who": "林小红 13900001111"})
    finally:
        await engine.dispose()
    assert "13900001111" not in str(caught.value) and "林小红" not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
