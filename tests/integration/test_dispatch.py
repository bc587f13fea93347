"""Content-based dispatch against the real PostgreSQL: a citizen's text with no category or
topic reaches the right department with the model's record on request.routed; an admin's
keyword rule still wins; the dispatcher's queue (pick, urgent bypass and review); the
catalogue API with versions and audit; retraining from the centre's history."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from services.routing import learning
from services.routing import store as routing_store
from services.routing.consumers import HANDLERS, is_urgent_arrival
from services.routing.main import build_app
from shared.auth import issue_staff_token
from shared.events.catalogue import RequestReturned
from shared.pagination import MAX_PAGE
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client
from tests.integration.test_routing import apply, emitted, received
from tests.support.events import envelope

ADMIN = {"Authorization": "Bearer " + issue_staff_token("admin-01", "admin")}
AGENT = {"Authorization": "Bearer " + issue_staff_token("agent-001", "agent")}
DISPATCHER = {"Authorization": "Bearer " + issue_staff_token("dispatcher-01", "dispatcher", "coordination")}


@pytest.fixture
async def routing(platform: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceRuntime]]:
    runtime = ServiceRuntime(
        name="routing", metadata=routing_store.metadata, handlers=HANDLERS, settings=platform
    )
    async for client in asgi_client(build_app(runtime)):
        yield client, runtime


@pytest.fixture
def unsure(platform: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A threshold no prediction reaches: every normal request waits for a dispatcher."""
    monkeypatch.setattr(platform, "dispatch_confidence_threshold", 0.999)


def citizen(text: str, **kw: Any) -> Any:
    """As a hotline agent submits it: no topic, the category only intake's keyword guess."""
    fields: dict[str, Any] = {
        "channel": "hotline",
        "category": "consultation",
        "classification_rule": "category.default",
        "content": text,
        **kw,
    }
    return received(**fields)


async def routed_events(runtime: ServiceRuntime, request_id: str) -> list[dict[str, Any]]:
    return [
        e for e in await emitted(runtime, request_id) if e["type"] in ("request.routed", "request.rerouted")
    ]


async def test_a_citizens_words_reach_the_right_department(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = routing
    cases = [
        ("我们这条街的路灯坏了一个多星期了，晚上黑灯瞎火的，老人都不敢出门", "urban", "repair"),
        ("楼下饭店的油烟天天往我家窗户里灌，衣服都没法晾", "environment", "complaint"),
        ("老板拖欠我们工地十几个人三个月的工钱，人也找不到了", "hrss", "complaint"),
        ("在超市买的酸奶回家一看过期半个月了", "market", "complaint"),
        ("家里暖气一点都不热，屋里才十三度", "heating", "repair"),
    ]
    for text, department, category in cases:
        env = citizen(text)
        await apply(runtime, env)
        (event,) = await routed_events(runtime, env.request_id)
        data = event["data"]
        assert (data["lead_department"], data["category"]) == (department, category), text
        assert data["decided_by"] == "model"
        assert data["model_version"] >= 1
        assert data["matter"]
        assert 0 < data["confidence"] <= 1
        assert len(data["alternatives"]) == 3 and data["alternatives"][0]["department"] == department
    # What a person reads back: the request's assignment names the department and the matter.
    body = (await client.get(f"/v1/assignments/{env.request_id}", headers=AGENT)).json()
    assert body["lead_department"] == "heating"
    assert body["history"][0]["matter"] == "heating.not_warm"
    assert body["history"][0]["decided_by"] == "model"


async def test_the_safety_net_makes_urgent_whatever_the_phrasing(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    _, runtime = routing
    for text, department in [
        ("燃气泄漏 有人被困", "gas"),
        ("楼下电梯困人了，里面有个老太太", "market"),
        ("自来水管爆了，马路上全是水", "water"),
        ("小区门口的马路塌陷了一个大坑", "urban"),
    ]:
        env = citizen(text)
        assert is_urgent_arrival(env)  # the urgent lane takes it, though intake said normal
        await apply(runtime, env)
        (event,) = await routed_events(runtime, env.request_id)
        assert event["data"]["urgency"] == "urgent", text
        assert event["data"]["urgent_rule"].startswith("urgent."), text
        assert event["data"]["lead_department"] == department, text
        notices = [e for e in await emitted(runtime, env.request_id) if e["type"] == "notification.requested"]
        assert notices and notices[0]["data"]["template"] == "urgent_request_routed"


async def test_an_admins_keyword_rule_still_wins(routing: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, runtime = routing
    rule = {
        "id": f"kw-{uuid.uuid4().hex[:6]}",
        "priority": 1,
        "match": {"keywords": ["共享充电宝"]},
        "lead_department": "market",
    }
    assert (await client.post("/v1/rules", json=rule, headers=ADMIN)).status_code == 201
    env = citizen("路灯下面的共享充电宝机器坏了，吞了我的钱")
    await apply(runtime, env)
    (event,) = await routed_events(runtime, env.request_id)
    assert event["data"]["lead_department"] == "market"
    assert event["data"]["decided_by"] == "rule" and event["data"]["rule_id"] == rule["id"]
    assert event["data"]["model_version"] is None


async def test_uncertain_requests_wait_for_the_dispatcher(
    routing: tuple[httpx.AsyncClient, ServiceRuntime], unsure: None
) -> None:
    client, runtime = routing
    env = citizen("小区门口那个东西又坏了，找谁都没人管，你们看看怎么办")
    await apply(runtime, env)
    assert await routed_events(runtime, env.request_id) == []  # not guessed
    assert (await client.get("/v1/dispatch-queue", headers=AGENT)).status_code == 403
    queue = (await client.get("/v1/dispatch-queue", headers=DISPATCHER)).json()["items"]
    (item,) = [i for i in queue if i["request_id"] == env.request_id]
    assert item["state"] == "waiting" and item["urgent"] is False
    assert len(item["suggestions"]) == 3
    assert all(s["department"] and 0 <= s["confidence"] <= 1 for s in item["suggestions"])
    assert item["suggestions"][0]["matter_name"]  # the matter's human name, for the dispatcher

    bad = await client.post(
        f"/v1/dispatch-queue/{env.request_id}/dispatch",
        json={"lead_department": "nowhere"},
        headers=DISPATCHER,
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "lead_department"
    pick = await client.post(
        f"/v1/dispatch-queue/{env.request_id}/dispatch",
        json={"lead_department": "urban", "co_departments": ["housing"], "matter": "urban.road_damage"},
        headers=DISPATCHER,
    )
    assert pick.status_code == 200, pick.text
    (event,) = await routed_events(runtime, env.request_id)
    assert event["type"] == "request.routed"
    assert event["data"]["lead_department"] == "urban" and event["data"]["co_departments"] == ["housing"]
    assert event["data"]["decided_by"] == "dispatcher" and event["data"]["matter"] == "urban.road_damage"
    assert event["actor"]["id"] == "dispatcher-01"
    again = await client.post(
        f"/v1/dispatch-queue/{env.request_id}/dispatch", json={"lead_department": "water"}, headers=DISPATCHER
    )
    assert again.status_code == 409
    async with runtime.sessions() as session:
        label = (
            (
                await session.execute(
                    select(routing_store.dispatch_labels).where(
                        routing_store.dispatch_labels.c.request_id == env.request_id
                    )
                )
            )
            .mappings()
            .one()
        )
    assert (label["department"], label["matter"], label["source"]) == (
        "urban",
        "urban.road_damage",
        "dispatcher",
    )


async def test_the_dispatcher_pages_through_the_queue_urgent_first_then_oldest(
    routing: tuple[httpx.AsyncClient, ServiceRuntime], unsure: None
) -> None:
    client, runtime = routing
    texts = [
        "小区门口那个东西又坏了找谁都没人管",
        "我家楼上天天半夜弄出动静 你们管不管",
        "上次说的事到现在没人回我电话",
        "楼道里的电动车着火了，烟很大",
        "那边路口又堵死了天天这样",
    ]
    mine = []
    for text in texts:
        env = citizen(text)
        await apply(runtime, env)
        mine.append(env.request_id)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(20):  # at most one page per request and then some
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        answer = (await client.get("/v1/dispatch-queue", params=params, headers=DISPATCHER)).json()
        assert len(answer["items"]) <= 2
        seen += answer["items"]
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    ids = [i["request_id"] for i in seen]
    assert len(ids) == len(set(ids)), "a request shown on two pages"
    assert set(mine) <= set(ids)
    urgent = [i["urgent"] for i in seen]
    assert urgent == sorted(urgent, reverse=True), "urgent ones first, across pages"
    normal = [i["queued_at"] for i in seen if not i["urgent"]]
    assert normal == sorted(normal), "then the oldest first"
    # A cursor this API did not give out is refused, naming the field.
    bad = await client.get("/v1/dispatch-queue", params={"cursor": "not-ours"}, headers=DISPATCHER)
    assert bad.status_code == 400 and bad.json()["error"]["fields"][0]["field"] == "cursor", bad.text


async def test_urgent_requests_never_wait_and_the_dispatcher_reviews_them(
    routing: tuple[httpx.AsyncClient, ServiceRuntime], unsure: None
) -> None:
    client, runtime = routing
    env = citizen("楼道里的电动车着火了，烟很大")
    await apply(runtime, env)
    (event,) = await routed_events(runtime, env.request_id)  # sent at once on the best guess
    assert event["data"]["lead_department"] == "emergency"
    assert event["data"]["urgency"] == "urgent" and event["data"]["dispatch_review"] is True
    notices = [
        e["data"] for e in await emitted(runtime, env.request_id) if e["type"] == "notification.requested"
    ]
    review = next(n for n in notices if n["template"] == "urgent_dispatch_review")
    assert review["department"] == "coordination"
    assert review["params"]["lead"].startswith("应急管理局")
    queue = (await client.get("/v1/dispatch-queue", headers=DISPATCHER)).json()["items"]
    item = next(i for i in queue if i["request_id"] == env.request_id)
    assert item["state"] == "review" and item["urgent"] is True and item["lead_department"] == "emergency"
    assert queue[0]["urgent"] is True  # urgent ones first
    assert item["co_departments"] == ["public_security"]  # the matter's co-handler
    # The dispatcher keeps the guess and adds housing as co-handler: a re-dispatch.
    done = await client.post(
        f"/v1/dispatch-queue/{env.request_id}/dispatch",
        json={
            "lead_department": "emergency",
            "co_departments": ["public_security", "housing"],
            "reason": "需物业配合疏散",
        },
        headers=DISPATCHER,
    )
    assert done.status_code == 200 and done.json()["state"] == "dispatched"
    events = await routed_events(runtime, env.request_id)
    assert [e["type"] for e in events] == ["request.routed", "request.rerouted"]
    assert events[1]["data"]["co_departments"] == ["public_security", "housing"]

    # Another urgent one confirmed as it was: no second event.
    env2 = citizen("有人在小区门口打架，有人流血了")
    await apply(runtime, env2)
    (first,) = await routed_events(runtime, env2.request_id)
    confirmed = await client.post(
        f"/v1/dispatch-queue/{env2.request_id}/dispatch",
        json={
            "lead_department": first["data"]["lead_department"],
            "co_departments": first["data"]["co_departments"],
        },
        headers=DISPATCHER,
    )
    assert confirmed.json()["state"] == "confirmed"
    assert len(await routed_events(runtime, env2.request_id)) == 1


async def test_matter_suggestions_while_an_agent_types(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    """POST /v1/matter-suggestions: the matters a text most resembles, best first, each with
    its lead department's name; a retired matter is never suggested; bad input is a 422
    naming the field."""
    client, runtime = routing
    asked = await client.post(
        "/v1/matter-suggestions", headers=AGENT, json={"text": "我们这条街的路灯坏了一个多星期了", "limit": 3}
    )
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert body["model_version"] >= 1
    first, *rest = body["items"]
    assert (first["code"], first["name"]) == ("urban.streetlight", "路灯故障")
    assert first["lead_department"] == "urban" and first["lead_department_name"].startswith("城市管理局")
    assert first["category"] == "repair" and 0 < first["confidence"] <= 1
    assert len(rest) == 2 and all(r["confidence"] <= first["confidence"] for r in rest)

    # Retired in the catalogue since the model was trained (set back afterwards: the other
    # tests share the catalogue).
    matters = routing_store.matters

    async def active(value: bool) -> None:
        async with runtime.sessions() as session:
            await session.execute(
                update(matters).where(matters.c.code == "urban.streetlight").values(active=value)
            )
            await session.commit()

    await active(False)
    try:
        again = (
            await client.post("/v1/matter-suggestions", headers=AGENT, json={"text": "我们这条街的路灯坏了"})
        ).json()
    finally:
        await active(True)
    assert "urban.streetlight" not in [i["code"] for i in again["items"]] and len(again["items"]) == 5

    # Nothing the model has ever seen: no suggestions rather than its prior.
    unknown = (await client.post("/v1/matter-suggestions", headers=AGENT, json={"text": "😀😀😀"})).json()
    assert unknown["items"] == [] and unknown["model_version"] == body["model_version"]

    for bad, field in (({"text": "灯"}, "text"), ({"text": "路灯坏了", "limit": 50}, "limit"), ({}, "text")):
        refused = await client.post("/v1/matter-suggestions", headers=AGENT, json=bad)
        assert refused.status_code == 422, refused.text
        assert field in refused.text


async def test_the_catalogue_and_the_directory_page_by_code(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, _ = routing
    for path, limit in (("/v1/matters", 25), ("/v1/departments", 4)):
        whole = (await client.get(path, params={"limit": MAX_PAGE}, headers=AGENT)).json()
        assert whole["next_cursor"] is None
        codes: list[str] = []
        cursor = None
        while True:
            params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(path, params=params, headers=AGENT)).json()
            assert len(page["items"]) <= limit
            codes += [item["code"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert codes == [item["code"] for item in whole["items"]] == sorted(codes), path
        assert len(codes) > limit  # more than one page was read
    too_many = await client.get("/v1/matters", params={"limit": MAX_PAGE + 1}, headers=AGENT)
    assert too_many.status_code == 422 and "limit" in too_many.text


async def test_the_matters_api_versions_and_audits(routing: tuple[httpx.AsyncClient, ServiceRuntime]) -> None:
    client, _ = routing
    catalogue = (await client.get("/v1/matters", headers=AGENT)).json()["items"]
    assert len(catalogue) >= 60
    assert {m["lead_department"] for m in catalogue} >= {
        "water",
        "power",
        "gas",
        "heating",
        "urban",
        "market",
    }
    code = f"test.drones_{uuid.uuid4().hex[:6]}"
    matter = {
        "code": code,
        "name": "无人机扰民",
        "description": "无人机低空飞行、偷拍",
        "lead_department": "public_security",
        "category": "complaint",
        "keywords": ["无人机", "航拍"],
        "examples": ["小区上空老有无人机飞来飞去"],
    }
    assert (await client.post("/v1/matters", json=matter, headers=AGENT)).status_code == 403
    created = await client.post("/v1/matters", json=matter, headers=ADMIN)
    assert created.status_code == 201 and created.json()["version"] == 1
    assert (await client.post("/v1/matters", json=matter, headers=ADMIN)).status_code == 409
    update = {k: v for k, v in matter.items() if k != "code"}
    wrong = await client.put(
        f"/v1/matters/{code}", json={**update, "lead_department": "nobody"}, headers=ADMIN
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["fields"][0]["field"] == "lead_department"
    bad_category = await client.put(
        f"/v1/matters/{code}", json={**update, "category": "gossip"}, headers=ADMIN
    )
    assert (
        bad_category.status_code == 422 and bad_category.json()["error"]["fields"][0]["field"] == "category"
    )
    update |= {"co_departments": ["urban"]}
    updated = await client.put(f"/v1/matters/{code}", json={**update, "version": 1}, headers=ADMIN)
    assert updated.json()["version"] == 2 and updated.json()["co_departments"] == ["urban"]
    # An edit made from a version someone has since saved over is refused, and changes nothing.
    stale = await client.put(f"/v1/matters/{code}", json={**update, "version": 1}, headers=ADMIN)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "version_conflict", stale.text
    assert (await client.get(f"/v1/matters/{code}", headers=AGENT)).json()["version"] == 2
    retired = await client.post(f"/v1/matters/{code}/retire", headers=ADMIN)
    assert retired.json()["version"] == 3 and retired.json()["active"] is False
    assert (await client.post(f"/v1/matters/{code}/retire", headers=ADMIN)).status_code == 409
    assert code not in {m["code"] for m in (await client.get("/v1/matters", headers=AGENT)).json()["items"]}
    kept = (await client.get("/v1/matters", params={"include_retired": "true"}, headers=AGENT)).json()[
        "items"
    ]
    assert code in {m["code"] for m in kept}
    versions = (await client.get(f"/v1/matters/{code}/versions", headers=AGENT)).json()["items"]
    assert [(v["version"], v["action"], v["actor"]) for v in versions] == [
        (1, "created", "admin-01"),
        (2, "updated", "admin-01"),
        (3, "retired", "admin-01"),
    ]
    assert versions[1]["snapshot"]["co_departments"] == ["urban"]


async def test_retraining_learns_from_returns_that_name_the_right_department(
    routing: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = routing
    texts = [
        "有人在小区上空放无人机，嗡嗡的还对着我家窗户拍",
        "无人机天天在楼顶飞来飞去，怀疑在偷拍",
        "晚上总有无人机在阳台外面转悠",
        "无人机在学校操场上空低飞，吓到孩子们了",
    ]
    before = (await client.get("/v1/dispatch-models", headers=DISPATCHER)).json()["items"][0]
    for text in texts:
        env = citizen(text)
        await apply(runtime, env)
        routed = await routed_events(runtime, env.request_id)
        if not routed:
            # Not sure: the dispatcher decides, and that is a label.
            pick = await client.post(
                f"/v1/dispatch-queue/{env.request_id}/dispatch",
                json={"lead_department": "public_security"},
                headers=DISPATCHER,
            )
            assert pick.status_code == 200, pick.text
            continue
        wrong = routed[0]["data"]["lead_department"]
        if wrong == "public_security":
            continue
        # The department that got it returns it and says whose it is.
        returned = RequestReturned(
            department=wrong, reason="不属于本单位职责", belongs_to_department="public_security"
        )
        await apply(runtime, envelope(env.request_id, returned))
        rerouted = (await routed_events(runtime, env.request_id))[-1]
        assert rerouted["data"]["lead_department"] == "public_security"
        assert rerouted["data"]["decided_by"] == "returned"
    asked = await client.post("/v1/dispatch-models", headers=ADMIN)
    assert asked.status_code == 202 and asked.json()["training"] == "started", asked.text
    newest = before
    for _ in range(240):  # training runs in the background
        newest = (await client.get("/v1/dispatch-models", headers=DISPATCHER)).json()["items"][0]
        if newest["version"] > before["version"]:
            break
        await asyncio.sleep(0.5)
    assert newest["version"] > before["version"] and newest["trained_by"] == "admin-01"
    assert newest["history_labels"] >= len(texts) - 1
    trained = {"version": newest["version"]}
    runtime.local.get(learning.ModelCache).invalidate()
    env = citizen("这两天又有无人机在我们楼上空飞，拍来拍去的")
    await apply(runtime, env)
    routed = await routed_events(runtime, env.request_id)
    if routed:
        assert routed[0]["data"]["lead_department"] == "public_security"
        assert routed[0]["data"]["model_version"] == trained["version"]
    else:  # confident enough or not, the new model's first suggestion is the police
        queue = (await client.get("/v1/dispatch-queue", headers=DISPATCHER)).json()["items"]
        item = next(i for i in queue if i["request_id"] == env.request_id)
        assert item["suggestions"][0]["department"] == "public_security"
        assert item["model_version"] == trained["version"]
