"""What each person reads, over the five running services: the person who called (through
the hotline adapter), the agent who took the call (the first responder), the department's
head and the supervisors. The words are read off the adapters' topic as intake wrote them
(its outbox), not re-rendered here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from services.intake import store as intake_store
from shared.db import create_engine, outbox_table
from shared.texts import department_name, human_time
from tests.e2e.conftest import Platform
from tests.e2e.test_happy_path import AGENT, HANDLER, state_is, until

HOTLINE = {"X-API-Key": "dev-hotline-key"}


async def messages(services: Platform, request_id: str) -> list[dict[str, Any]]:
    engine = create_engine(services.settings.database_url("intake"), services.settings)
    outbox = outbox_table(intake_store.metadata)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(outbox.c.payload)
                .where(outbox.c.key == request_id, outbox.c.topic == services.settings.notifications_topic)
                .order_by(outbox.c.id)
            )
            return [row[0]["data"] for row in rows]
    finally:
        await engine.dispose()


async def until_sent(
    services: Platform, request_id: str, enough: Callable[[list[dict[str, Any]]], bool], timeout: float = 30
) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await messages(services, request_id)
        if enough(found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"gave up waiting for messages; sent so far: {found}")
        await asyncio.sleep(0.25)


def texts_for(found: list[dict[str, Any]], **destination: str) -> list[str]:
    return [m["text"] for m in found if all(m["destination"].get(k) == v for k, v in destination.items())]


async def test_the_person_and_the_first_responder_each_read_the_result_in_their_words(
    services: Platform,
) -> None:
    u = services.urls
    async with httpx.AsyncClient(timeout=20) as http:
        submitted = await http.post(
            f"{u['intake']}/v1/requests",
            headers=AGENT,
            json={
                "channel": "hotline",
                "content": "俺家楼下那个路灯又不亮了，晚上黑咕隆咚的",
                "category": "repair",
                "requester": {"name": "赵大爷", "phone": "13700001234"},
            },
        )
        assert submitted.status_code == 201, submitted.text
        rid = submitted.json()["id"]
        await until(lambda: http.get(f"{u['handling']}/v1/cases/{rid}", headers=HANDLER), state_is("routed"))
        chased = await http.post(
            f"{u['intake']}/v1/requests/{rid}/chase", headers=AGENT, json={"note": "老人又打电话来问"}
        )
        assert chased.status_code == 200, chased.text
        await http.post(f"{u['handling']}/v1/cases/{rid}/accept", headers=HANDLER, json={})
        await http.post(
            f"{u['handling']}/v1/cases/{rid}/resolve",
            headers=HANDLER,
            json={"outcome": "resolved", "reply": "路灯已更换新灯头，今晚起正常照明。"},
        )
        await until(
            lambda: http.post(f"{u['followup']}/v1/requests/{rid}/feedback", headers=HANDLER, json={}),
            lambda r: r.status_code == 200,
        )
        found = await until_sent(services, rid, lambda found: len(texts_for(found, phone="13700001234")) >= 2)
    assert texts_for(found, phone="13700001234") == [
        f"您的诉求（编号 {rid}）已办理完毕：路灯已更换新灯头，今晚起正常照明。请对办理结果进行评价。",
        f"请对诉求 {rid} 的办理结果评价：满意 / 基本满意 / 不满意。",
    ]
    assert texts_for(found, staff_id="agent-001") == [
        f"您首问受理的诉求 {rid} 已由城市管理局办结，答复诉求人：路灯已更换新灯头，今晚起正常照明。"
    ]
    assert texts_for(found, staff_id="head-urban") == [
        f"首问责任人 agent-001 催办诉求 {rid}（第 1 次催办）：老人又打电话来问。"
        "请督促贵单位（城市管理局）尽快办理。"
    ]


async def test_an_urgent_request_reaches_the_head_and_each_supervisor_once(services: Platform) -> None:
    u = services.urls
    async with httpx.AsyncClient(timeout=20) as http:
        submitted = await http.post(
            f"{u['intake']}/v1/requests",
            headers=HOTLINE,
            json={
                "channel": "hotline",
                "content": "楼道里燃气味特别大，好像漏气了，快来人",
                "category": "help",
                "urgency": "urgent",
                "requester": {"phone": "13700005678"},
            },
        )
        assert submitted.status_code == 201, submitted.text
        rid = submitted.json()["id"]
        assignment = await until(
            lambda: http.get(f"{u['routing']}/v1/assignments/{rid}", headers=AGENT),
            lambda r: r.status_code == 200,
        )
        lead = assignment.json()["lead_department"]
        accept_by = human_time(assignment.json()["due"]["accept"])
        departments = (await http.get(f"{u['routing']}/v1/departments", headers=AGENT)).json()
        head_id = next(d["head"] for d in departments["items"] if d["code"] == lead)
        found = await until_sent(
            services, rid, lambda found: len([m for m in found if "staff_id" in m["destination"]]) >= 3
        )
    to_staff = [m for m in found if "staff_id" in m["destination"]]
    by_staff = {m["destination"]["staff_id"]: m["text"] for m in to_staff}
    assert len(to_staff) == 3 and sorted(by_staff) == sorted([head_id, "supervisor-01", "supervisor-02"])
    name = department_name(lead)
    assert (
        by_staff[head_id] == f"紧急诉求 {rid} 已派至贵单位（{name}），请立即组织处置，签收时限 {accept_by}。"
    )
    for supervisor in ("supervisor-01", "supervisor-02"):
        assert (
            by_staff[supervisor] == f"紧急诉求 {rid} 已派至{name}，请关注处置情况（签收时限 {accept_by}）。"
        )
