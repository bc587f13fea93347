"""The handler's, the head's and the co-handler's walk through a request over the running
platform (issue 18, handling): an extension asked once, the head told, the approved due
time the same in every view (case, queue, routing, KPI facts, timeline) with the feedback
due moved along; a co-handler's opinion and the lead's override on both cases; a request
answered at intake out of every queue."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import Platform
from tests.e2e.test_happy_path import AGENT, SUPERVISOR, bearer, state_is, until
from tests.support.events import read_topic

HANDLER = bearer("handler-urban-01", "handler", "urban")
HEAD = bearer("head-urban", "dept_head", "urban")


async def _notifications(services: Platform, request_id: str, template: str) -> list[dict[str, Any]]:
    records = await read_topic(
        services.settings.kafka_bootstrap, services.settings.notifications_topic, 10**6, 5
    )
    found = []
    for record in records:
        message = json.loads(record.value)
        if message["request_id"] == request_id and message["data"]["template"] == template:
            found.append(message["data"])
    return found


async def _queue_ids(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> set[str]:
    ids: set[str] = set()
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await http.get(f"{url}/v1/cases", headers=headers, params=params)).json()
        ids |= {c["request_id"] for c in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


async def test_an_extension_moves_the_due_time_in_every_view(services: Platform) -> None:
    u = services.urls
    async with httpx.AsyncClient(timeout=60) as http:
        rid = (
            await http.post(
                f"{u['intake']}/v1/requests",
                headers=AGENT,
                json={
                    "channel": "hotline",
                    "content": "我家楼下那个路灯坏了一个礼拜了 晚上黑乎乎的 老人出门不方便 麻烦修一下",
                    "area": "鼓楼区",
                    "requester": {"phone": "13800000021"},
                },
            )
        ).json()["id"]
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=HANDLER), state_is("routed"))
        await http.post(f"{u['handling']}/v1/cases/{rid}/accept", headers=HANDLER, json={})
        case = (await http.get(f"{u['handling']}/v1/cases/{rid}", headers=HANDLER)).json()
        old_resolve = datetime.fromisoformat(case["due"]["resolve"])
        new_resolve = old_resolve + timedelta(days=4)
        asked = await http.post(
            f"{u['handling']}/v1/cases/{rid}/extensions",
            headers=HANDLER,
            json={"requested_due": new_resolve.isoformat(), "reason": "需要等电力公司停电检修"},
        )
        assert asked.status_code == 201, asked.text
        twice = await http.post(
            f"{u['handling']}/v1/cases/{rid}/extensions",
            headers=HANDLER,
            json={"requested_due": (new_resolve + timedelta(days=1)).isoformat(), "reason": "再延一天"},
        )
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "extension_pending"

        async def head_told() -> httpx.Response:
            found = await _notifications(services, rid, "extension_decision_waiting")
            return httpx.Response(200 if found else 404, json=found)

        told = (await until(head_told, lambda r: r.status_code == 200)).json()
        assert len(told) == 1
        # One message to the head, worded for the head.
        assert told[0]["destination"]["staff_id"] == "head-urban"
        assert told[0]["text"].startswith(f"诉求 {rid} 申请将办结时限延至 ")
        assert "理由：需要等电力公司停电检修。请您审批。" in told[0]["text"]

        decided = await http.post(
            f"{u['handling']}/v1/extensions/{asked.json()['id']}/decision",
            headers=HEAD,
            json={"approve": True},
        )
        assert decided.status_code == 200, decided.text

        # Routing recomputes the feedback due (and the warnings); every view shows the same.
        case = (
            await until(
                lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=HANDLER),
                lambda r: datetime.fromisoformat(r.json()["due"]["feedback"]) > new_resolve,
            )
        ).json()
        assert datetime.fromisoformat(case["due"]["resolve"]) == new_resolve
        routing = (await http.get(f"{u['routing']}/v1/assignments/{rid}", headers=AGENT)).json()
        assert routing["due"]["resolve"] == case["due"]["resolve"]
        assert routing["due"]["feedback"] == case["due"]["feedback"]
        facts = (
            await until(
                lambda: http.get(f"{u['kpi']}/v1/requests/{rid}/facts", headers=SUPERVISOR),
                lambda r: (
                    r.status_code == 200
                    and r.json()["feedback_due"] is not None
                    and datetime.fromisoformat(r.json()["feedback_due"]) > new_resolve
                ),
            )
        ).json()
        assert datetime.fromisoformat(facts["resolve_due"]) == new_resolve
        assert datetime.fromisoformat(facts["feedback_due"]) == datetime.fromisoformat(
            case["due"]["feedback"]
        )
        timeline = (await http.get(f"{u['kpi']}/v1/requests/{rid}/timeline", headers=SUPERVISOR)).json()
        types = [e["type"] for e in timeline["events"]]
        for kind in ("request.extension_requested", "request.extension_decided", "request.due_changed"):
            assert kind in types
        decided_event = next(e for e in timeline["events"] if e["type"] == "request.extension_decided")
        assert decided_event["data"]["extension_id"] == asked.json()["id"]


async def test_a_co_handlers_opinion_and_the_leads_override_are_on_both_cases(services: Platform) -> None:
    u = services.urls
    async with httpx.AsyncClient(timeout=60) as http:
        rid = (
            await http.post(
                f"{u['intake']}/v1/requests",
                headers=AGENT,
                json={
                    "channel": "hotline",
                    "content": "马路上井盖松动 车一过就哐哐响",
                    "requester": {"phone": "13800000022"},
                },
            )
        ).json()["id"]
        await until(
            lambda: http.get(f"{u['routing']}/v1/assignments/{rid}", headers=AGENT),
            lambda r: r.status_code == 200 and r.json()["lead_department"] is not None,
        )
        # The dispatcher (a supervisor) sends it to urban with water and housing as co-handlers.
        dispatched = await http.post(
            f"{u['routing']}/v1/assignments/{rid}",
            headers=SUPERVISOR,
            json={
                "lead_department": "urban",
                "co_departments": ["water", "housing"],
                "reason": "井盖权属不清，联合处置",
            },
        )
        assert dispatched.status_code == 200, dispatched.text
        water = bearer("handler-water-01", "handler", "water")
        housing = bearer("handler-housing-01", "handler", "housing")
        # The model's own routing may already have opened urban's (and water's) case: wait for
        # the dispatch itself (housing is only in it), or a late re-route resets the accept.
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=housing), state_is("routed"))
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=water), state_is("routed"))
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=HANDLER), state_is("routed"))
        await until(
            lambda: http.post(f"{u['handling']}/v1/cases/{rid}/accept", headers=HANDLER, json={}),
            lambda r: r.status_code == 200,
        )
        opinion = await http.post(
            f"{u['handling']}/v1/cases/{rid}/opinions",
            headers=water,
            json={"opinion": "该井盖不属于供水管网"},
        )
        assert opinion.status_code == 200, opinion.text
        resolved = await http.post(
            f"{u['handling']}/v1/cases/{rid}/resolve",
            headers=HANDLER,
            json={
                "outcome": "resolved",
                "reply": "井盖已加固",
                "override_reason": "住建局未回复，隐患紧急先行处置",
            },
        )
        assert resolved.status_code == 200, resolved.text
        for headers in (HANDLER, water):
            case = (await http.get(f"{u['handling']}/v1/cases/{rid}", headers=headers)).json()
            assert [o["opinion"] for o in case["opinions"]] == ["该井盖不属于供水管网"]
            assert case["resolution"]["override_reason"] == "住建局未回复，隐患紧急先行处置"
        late = await http.post(
            f"{u['handling']}/v1/cases/{rid}/opinions", headers=water, json={"opinion": "补充"}
        )
        assert late.status_code == 409
        assert rid not in await _queue_ids(http, u["handling"], water) or (
            (await http.get(f"{u['handling']}/v1/cases/{rid}", headers=water)).json()["state"] == "resolved"
        )
        timeline = await until(
            lambda: http.get(f"{u['kpi']}/v1/requests/{rid}/timeline", headers=SUPERVISOR),
            lambda r: r.status_code == 200 and "request.resolved" in [e["type"] for e in r.json()["events"]],
        )
        events = timeline.json()["events"]
        assert "request.co_opinion_added" in [e["type"] for e in events]
        resolved_event = next(e for e in events if e["type"] == "request.resolved")
        assert resolved_event["data"]["override_reason"] == "住建局未回复，隐患紧急先行处置"


async def test_a_request_answered_at_intake_leaves_every_queue(services: Platform) -> None:
    u = services.urls
    async with httpx.AsyncClient(timeout=60) as http:
        rid = (
            await http.post(
                f"{u['intake']}/v1/requests",
                headers=AGENT,
                json={
                    "channel": "hotline",
                    "content": "医保卡丢了咋补啊",
                    "requester": {"phone": "13800000023"},
                },
            )
        ).json()["id"]
        routed = await until(
            lambda: http.get(f"{u['routing']}/v1/assignments/{rid}", headers=AGENT),
            lambda r: r.status_code == 200 and r.json()["lead_department"] is not None,
        )
        lead = routed.json()["lead_department"]
        staff = bearer("h", "handler", lead)
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=staff), state_is("routed"))
        answered = await http.post(
            f"{u['intake']}/v1/requests/{rid}/answer",
            headers=AGENT,
            json={"answer": "带身份证到社保窗口补办"},
        )
        assert answered.status_code == 200
        await until(
            lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=staff), state_is("answered_at_intake")
        )
        assert rid not in await _queue_ids(http, u["handling"], staff)
        facts = await until(
            lambda: http.get(f"{u['kpi']}/v1/requests/{rid}/facts", headers=SUPERVISOR),
            lambda r: r.status_code == 200 and r.json()["answered_at_intake"],
        )
        assert facts.json()["accept_due"] is None  # its acceptance clock never counts as late
