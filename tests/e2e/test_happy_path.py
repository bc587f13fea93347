"""One request carried through every endpoint of the five running services, over the
real broker and PostgreSQL, to a KPI figure."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx

from shared.auth import issue_staff_token
from shared.clock import organisation_tz
from shared.pagination import every_page
from tests.e2e.conftest import Platform


def bearer(sub: str, role: str, department: str | None = None) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_staff_token(sub, role, department)}  # type: ignore[arg-type]


AGENT = bearer("agent-001", "agent")
HANDLER = bearer("handler-urban-01", "handler", "urban")
SUPERVISOR = bearer("supervisor-01", "supervisor")


async def until(
    fetch: Callable[[], Awaitable[httpx.Response]], ok: Callable[[httpx.Response], bool], timeout: float = 30
) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await fetch()
        if ok(response):
            return response
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up waiting; last answer {response.status_code} {response.text}")
        await asyncio.sleep(0.25)


def state_is(state: str) -> Callable[[httpx.Response], bool]:
    return lambda r: r.status_code == 200 and r.json().get("state") == state


async def test_one_request_from_intake_to_a_kpi_figure(services: Platform) -> None:
    u = services.urls
    async with httpx.AsyncClient(timeout=10) as http:
        submitted = await http.post(
            f"{u['intake']}/v1/requests",
            headers={"X-API-Key": "dev-hotline-key"},
            json={
                "channel": "hotline",
                "external_id": "call-0001",
                "content": "小区路灯坏了三天，请尽快维修",
                "area": "鼓楼区",
                "requester": {"name": "张三", "phone": "13812345678"},
            },
        )
        assert submitted.status_code == 201, submitted.text
        rid = submitted.json()["id"]
        assert submitted.json()["category"] == "repair"

        assignment = await until(
            lambda: http.get(f"{u['routing']}/v1/assignments/{rid}", headers=AGENT),
            lambda r: r.status_code == 200,
        )
        assert assignment.json()["lead_department"] == "urban"
        # No category or topic from the channel: the dispatch model read the text.
        assert assignment.json()["history"][0]["decided_by"] == "model"
        assert assignment.json()["history"][0]["matter"] == "urban.streetlight"
        due: dict[str, Any] = assignment.json()["due"]
        assert due["accept"] and due["resolve"] and due["feedback"]

        case = await until(
            lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=HANDLER), state_is("routed")
        )
        assert case.json()["due"] == due
        # The handler's queue of cases to sign for, followed page by page (other tests on the
        # same platform leave urban cases waiting too).
        queue = await every_page(
            http, f"{u['handling']}/v1/cases", headers=HANDLER, params={"state": "routed"}
        )
        assert rid in [c["request_id"] for c in queue]

        accepted = await http.post(f"{u['handling']}/v1/cases/{rid}/accept", headers=HANDLER, json={})
        assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
        contacted = await http.post(
            f"{u['handling']}/v1/cases/{rid}/contact",
            headers=HANDLER,
            json={"how": "phone", "summary": "called the resident"},
        )
        assert contacted.json()["state"] == "in_progress"
        resolved = await http.post(
            f"{u['handling']}/v1/cases/{rid}/resolve",
            headers=HANDLER,
            json={"outcome": "resolved", "reply": "路灯已更换"},
        )
        assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"

        feedback = await until(
            lambda: http.post(f"{u['followup']}/v1/requests/{rid}/feedback", headers=HANDLER, json={}),
            lambda r: r.status_code == 200,
        )
        assert feedback.json()["state"] == "feedback_given"
        rated = await http.post(
            f"{u['followup']}/v1/requests/{rid}/rating",
            headers={"X-API-Key": "dev-hotline-key"},
            json={"rating": "satisfied", "score": 5},
        )
        assert rated.status_code == 200, rated.text
        # Satisfied: it closes by itself, unless the sample picked it for a return visit first.
        if rated.json()["state"] != "closed":
            revisits = (await http.get(f"{u['followup']}/v1/revisits", headers=AGENT)).json()["items"]
            [visit] = [v for v in revisits if v["request_id"] == rid]
            solved = await http.post(
                f"{u['followup']}/v1/revisits/{visit['id']}/outcome",
                headers=AGENT,
                json={"outcome": "solved", "notes": "路灯正常"},
            )
            assert solved.json()["state"] == "closed"
        again = await http.post(f"{u['followup']}/v1/requests/{rid}/close", headers=AGENT, json={})
        assert again.status_code == 409 and again.json()["error"]["current_state"] == "closed"

        intake_view = await until(
            lambda: http.get(f"{u['intake']}/v1/requests/{rid}", headers=AGENT), state_is("closed")
        )
        assert intake_view.json()["lead_department"] == "urban"

        facts = await until(
            lambda: http.get(f"{u['kpi']}/v1/requests/{rid}/facts", headers=SUPERVISOR), state_is("closed")
        )
        assert facts.json()["rating"] == "satisfied" and facts.json()["events"] >= 8

        async def urban_in_the_month_of(moment: str) -> dict[str, Any]:
            # Each figure counts in the month its own moment fell in (docs/kpi.md): the accept
            # due may lie in the next month (after a holiday) while the rating is this month's.
            period = datetime.fromisoformat(moment).astimezone(organisation_tz()).strftime("%Y-%m")
            kpis = await http.get(
                f"{u['kpi']}/v1/kpis", headers=SUPERVISOR, params={"period": period, "department": "urban"}
            )
            assert kpis.status_code == 200
            item: dict[str, Any] = kpis.json()["items"][0]
            return item

        # Other e2e tests (the console's) also send urban requests; all of them went well.
        by_accept_due = await urban_in_the_month_of(facts.json()["accept_due"])
        assert (
            by_accept_due["acceptance_timeliness"]["rate"] == 1.0
            and by_accept_due["acceptance_timeliness"]["denominator"] >= 1
        )
        by_rating = await urban_in_the_month_of(facts.json()["rated_at"])
        assert by_rating["satisfaction"]["rate"] == 1.0 and by_rating["mean_score"] == 5.0
        by_resolution = await urban_in_the_month_of(facts.json()["resolved_at"])
        assert by_resolution["counts"]["resolved"] >= 1 and by_resolution["handling_accuracy"]["rate"] == 1.0


async def test_a_citizens_words_reach_the_right_departments_queue(services: Platform) -> None:
    """As a hotline agent types it: no category, no topic; the heating company gets it, the
    request shows the matter's category, and an urgent one is seen as urgent."""
    u = services.urls
    async with httpx.AsyncClient(timeout=10) as http:
        submitted = await http.post(
            f"{u['intake']}/v1/requests",
            headers=AGENT,
            json={
                "channel": "hotline",
                "content": "我家暖气片一直是温的不热，屋里才十四度，家里有老人，热力公司电话打不通",
                "requester": {"phone": "13800000011"},
            },
        )
        assert submitted.status_code == 201, submitted.text
        rid = submitted.json()["id"]
        heating = bearer("handler-heating-01", "handler", "heating")
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=heating), state_is("routed"))
        queue = await http.get(f"{u['handling']}/v1/cases", headers=heating, params={"state": "routed"})
        assert rid in [c["request_id"] for c in queue.json()["items"]]
        view = await until(
            lambda: http.get(f"{u['intake']}/v1/requests/{rid}", headers=AGENT), state_is("routed")
        )
        assert view.json()["lead_department"] == "heating" and view.json()["category"] == "repair"
        assignment = (await http.get(f"{u['routing']}/v1/assignments/{rid}", headers=AGENT)).json()
        assert assignment["history"][0]["matter"] == "heating.not_warm"

        urgent = await http.post(
            f"{u['intake']}/v1/requests",
            headers=AGENT,
            json={
                "channel": "hotline",
                "content": "我们单元电梯困人了，里面有个小孩在哭",
                "requester": {"phone": "13800000012"},
            },
        )
        uid = urgent.json()["id"]
        market = bearer("handler-market-01", "handler", "market")
        case = await until(
            lambda: http.get(f"{u['handling']}/v1/cases/{uid}", headers=market), state_is("routed")
        )
        assert case.json()["urgency"] == "urgent"


async def test_a_returned_request_is_rerouted_and_an_unsatisfied_one_reopened(services: Platform) -> None:
    u = services.urls
    async with httpx.AsyncClient(timeout=10) as http:
        submitted = await http.post(
            f"{u['intake']}/v1/requests",
            headers=AGENT,
            json={
                "channel": "hotline",
                "content": "投诉某超市出售过期食品",
                "requester": {"phone": "13800000001"},
            },
        )
        rid = submitted.json()["id"]
        market = bearer("handler-market-01", "handler", "market")
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=market), state_is("routed"))
        returned = await http.post(
            f"{u['handling']}/v1/cases/{rid}/return", headers=market, json={"reason": "属于区级市场所管辖"}
        )
        assert returned.status_code == 200
        history = await until(
            lambda: http.get(f"{u['routing']}/v1/assignments/{rid}", headers=AGENT),
            lambda r: r.status_code == 200 and r.json()["returns"] == 1 and r.json()["state"] == "routed",
        )
        new_lead = history.json()["lead_department"]
        assert new_lead != "market" and "market" in history.json()["excluded_departments"]
        assert [h["kind"] for h in history.json()["history"]] == ["routed", "returned", "rerouted"]

        lead = bearer("h-lead", "handler", new_lead)
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=lead), state_is("routed"))
        await http.post(f"{u['handling']}/v1/cases/{rid}/accept", headers=lead, json={})
        await http.post(
            f"{u['handling']}/v1/cases/{rid}/resolve",
            headers=lead,
            json={"outcome": "explained", "reply": "已转交辖区所处理"},
        )
        await until(
            lambda: http.post(f"{u['followup']}/v1/requests/{rid}/feedback", headers=AGENT, json={}),
            lambda r: r.status_code == 200,
        )
        rated = await http.post(
            f"{u['followup']}/v1/requests/{rid}/rating",
            headers=AGENT,
            json={"rating": "unsatisfied", "reason": "问题没有解决"},
        )
        assert rated.json() == {"request_id": rid, "state": "reopened", "reopen_count": 1}
        # Routing sends it back to the same lead department, whose case is open again.
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=lead), state_is("routed"))
        facts = await until(
            lambda: http.get(f"{u['kpi']}/v1/requests/{rid}/facts", headers=SUPERVISOR),
            lambda r: r.status_code == 200 and r.json()["reopens"] == 1 and r.json()["state"] == "routed",
        )
        assert facts.json()["returns"] == 1 and facts.json()["returned_by"] == ["market"]


async def test_incomplete_materials_then_supplement_then_routing(services: Platform) -> None:
    u = services.urls
    async with httpx.AsyncClient(timeout=10) as http:
        submitted = await http.post(
            f"{u['intake']}/v1/requests",
            headers=AGENT,
            json={
                "channel": "window",
                "content": "办理居住证",
                "business_type": "residence_permit",
                "materials": [{"code": "id_card", "media_type": "image/jpeg"}],
                "requester": {"phone": "13800000002"},
            },
        )
        assert submitted.status_code == 201 and submitted.json()["state"] == "incomplete"
        rid = submitted.json()["id"]
        assert len(submitted.json()["missing_materials"]) == 2
        await asyncio.sleep(1.5)
        assert (await http.get(f"{u['routing']}/v1/assignments/{rid}", headers=AGENT)).json()[
            "lead_department"
        ] is None
        done = await http.post(
            f"{u['intake']}/v1/requests/{rid}/supplements",
            headers=AGENT,
            json={"materials": [{"code": "lease"}, {"code": "photo", "media_type": "image/jpeg"}]},
        )
        assert done.json()["state"] == "supplemented"
        routed = await until(
            lambda: http.get(f"{u['routing']}/v1/assignments/{rid}", headers=AGENT),
            lambda r: r.json().get("lead_department") == "service_center",
        )
        assert routed.json()["history"][0]["rule_id"] == "category.business"
        handler = bearer("h-svc", "handler", "service_center")
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=handler), state_is("routed"))


async def test_answered_at_intake_gets_its_feedback_at_once(services: Platform) -> None:
    u = services.urls
    async with httpx.AsyncClient(timeout=10) as http:
        rid = (
            await http.post(
                f"{u['intake']}/v1/requests",
                headers=AGENT,
                json={
                    "channel": "hotline",
                    "content": "请问公积金怎么提取？",
                    "requester": {"phone": "13800000003"},
                },
            )
        ).json()["id"]
        answered = await http.post(
            f"{u['intake']}/v1/requests/{rid}/answer",
            headers=AGENT,
            json={"answer": "携带身份证到公积金中心办理"},
        )
        assert answered.json()["state"] == "answered_at_intake"
        view = await until(
            lambda: http.get(f"{u['intake']}/v1/requests/{rid}", headers=AGENT), state_is("feedback_given")
        )
        assert view.json()["answer"] == "携带身份证到公积金中心办理"
        rated = await http.post(
            f"{u['followup']}/v1/requests/{rid}/rating",
            headers=AGENT,
            json={"rating": "satisfied", "score": 5},
        )
        assert rated.json()["state"] in ("rated", "closed")  # closed by itself unless sampled for a revisit
        facts = await until(
            lambda: http.get(f"{u['kpi']}/v1/requests/{rid}/facts", headers=SUPERVISOR),
            lambda r: r.status_code == 200 and r.json()["rating"] == "satisfied",
        )
        assert facts.json()["answered_at_intake"] is True
        # Routing may have routed it before the answer: then its case has left the queue, or,
        # if the routing decision arrived after the answer, no case was opened at all.
        lead = facts.json()["lead_department"]
        if lead:
            case = await http.get(f"{u['handling']}/v1/cases/{rid}", headers=bearer("h", "handler", lead))
            assert case.status_code == 404 or case.json()["state"] == "answered_at_intake"
            queue = await http.get(
                f"{u['handling']}/v1/cases?state=routed", headers=bearer("h", "handler", lead)
            )
            assert rid not in [c["request_id"] for c in queue.json()["items"]]


async def test_the_kpi_projection_equals_a_rebuild_from_the_topic(services: Platform) -> None:
    """After everything above settled, replaying requests.lifecycle gives the same fact rows."""
    u = services.urls
    ops = bearer("ops-01", "ops")
    async with httpx.AsyncClient(timeout=60) as http:
        result = await until(
            lambda: http.post(f"{u['kpi']}/v1/rebuild", headers=ops),
            lambda r: r.status_code == 200 and r.json()["differences"] == 0,
            timeout=60,
        )
    body = result.json()
    assert body["requests_live"] == body["requests_rebuilt"] >= 4 and body["events_read"] > 20
    # The figures' counts, kept in step with every fact row the consumer wrote, equal a recount.
    assert body["count_differences"] == 0, body["count_examples"]


async def test_logs_hold_no_contact_data_or_tokens(services: Platform) -> None:
    """Everything above went through the services; their logs must not repeat it."""
    from tests.support.platform import devctl

    logs = "".join((devctl.LOG_DIR / f"e2e-{s}.log").read_text(encoding="utf-8") for s in services.urls)
    assert "Application startup complete" in logs  # the logs were read at all
    for secret in (
        "13812345678",
        "13800000001",
        "13800000002",
        "13800000003",
        "张三",
        "eyJhbGci",
        "dev-hotline-key",
    ):
        assert secret not in logs


async def test_a_correlation_id_follows_the_request_into_other_services_logs_and_metrics_are_served(
    services: Platform,
) -> None:
    from tests.support.platform import devctl

    u = services.urls
    correlation = f"corr-{uuid.uuid4().hex[:10]}"
    async with httpx.AsyncClient(timeout=10) as http:
        submitted = await http.post(
            f"{u['intake']}/v1/requests",
            headers={**AGENT, "X-Correlation-ID": correlation},
            json={
                "channel": "hotline",
                "content": "垃圾桶满了没人清运",
                "requester": {"phone": "13800000004"},
            },
        )
        assert submitted.headers["X-Correlation-ID"] == correlation
        rid = submitted.json()["id"]
        assert (await http.get(f"{u['intake']}/healthz")).headers["X-Correlation-ID"]  # one made up

        def routing_lines() -> list[dict[str, Any]]:
            text = (devctl.LOG_DIR / "e2e-routing.log").read_text(encoding="utf-8")
            return [json.loads(line) for line in text.splitlines() if correlation in line]

        for _ in range(120):  # routing picks the event up within moments
            if routing_lines():
                break
            await asyncio.sleep(0.25)
        line = routing_lines()[0]
        # The routing decision's log line names the request, the event being handled and the
        # correlation id the caller sent to intake.
        assert line["correlation_id"] == correlation and line["request_id"] == rid
        assert line["event_id"] and "request.routed" in line["message"]

        # Open cases per department are counted every 10 s; this request's case is open.
        metrics = await until(
            lambda: http.get(f"{u['handling']}/metrics"), lambda r: "open_cases{" in r.text, timeout=30
        )
        for metric in ("consumer_lag_events{", "http_request_duration_seconds", "outbox_backlog"):
            assert metric in metrics.text
