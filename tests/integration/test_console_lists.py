"""The small list filters the staff console needs: a head's pending extension requests
(handling) and a caller's earlier requests by phone number (intake)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from shared.clock import now
from shared.runtime import ServiceRuntime
from tests.integration.test_handling import URBAN, URBAN_HEAD, WATER_HEAD, handling, route
from tests.integration.test_intake_features import AGENT, HANDLER, HOTLINE, intake

__all__ = ["handling", "intake"]  # the fixtures


async def test_a_head_lists_the_pending_extensions_of_their_department_only(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = handling
    rid = await route(runtime)
    await client.post(f"/v1/cases/{rid}/accept", json={}, headers=URBAN)
    asked = await client.post(
        f"/v1/cases/{rid}/extensions",
        headers=URBAN,
        json={
            "clock": "resolve",
            "requested_due": (now() + timedelta(days=9)).isoformat(),
            "reason": "等待燃气公司配合开挖",
        },
    )
    assert asked.status_code == 201, asked.text
    pending = (await client.get("/v1/extensions", params={"state": "pending"}, headers=URBAN_HEAD)).json()
    mine = [x for x in pending["items"] if x["request_id"] == rid]
    assert [(x["clock"], x["reason"], x["requested_by"]) for x in mine] == [
        ("resolve", "等待燃气公司配合开挖", "h-urban")
    ]
    others = (await client.get("/v1/extensions", headers=WATER_HEAD)).json()["items"]
    assert rid not in {x["request_id"] for x in others}  # another department's does not show
    extension = asked.json()["id"]
    await client.post(f"/v1/extensions/{extension}/decision", headers=URBAN_HEAD, json={"approve": True})
    still = await client.get(
        "/v1/extensions", params={"state": "pending", "request_id": rid}, headers=URBAN_HEAD
    )
    assert still.json()["items"] == []
    bad = await client.get("/v1/extensions", params={"state": "maybe"}, headers=URBAN_HEAD)
    assert bad.status_code == 422 and "state" in bad.text


async def test_a_head_pages_through_the_pending_extensions_oldest_first(
    handling: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, runtime = handling
    reasons = ("等待燃气公司配合开挖", "需协调产权单位", "雨季无法施工")
    asked = []
    for reason in reasons:
        rid = await route(runtime)
        await client.post(f"/v1/cases/{rid}/accept", json={}, headers=URBAN)
        made = await client.post(
            f"/v1/cases/{rid}/extensions",
            headers=URBAN,
            json={
                "clock": "resolve",
                "requested_due": (now() + timedelta(days=9)).isoformat(),
                "reason": reason,
            },
        )
        assert made.status_code == 201, made.text
        asked.append(made.json()["id"])
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        params = {"state": "pending", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/extensions", params=params, headers=URBAN_HEAD)).json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [x["id"] for x in seen]
    assert len(ids) == len(set(ids))  # no extension twice across pages
    mine = [x for x in seen if x["id"] in asked]
    assert [x["reason"] for x in mine] == list(reasons)  # oldest first
    keys = [(x["requested_at"], x["id"]) for x in seen]
    assert keys == sorted(keys)
    bad = await client.get("/v1/extensions", params={"cursor": "not-a-cursor"}, headers=URBAN_HEAD)
    assert bad.status_code in (400, 422) and "cursor" in bad.text


async def test_an_agent_finds_a_callers_earlier_requests_by_phone(
    intake: tuple[httpx.AsyncClient, ServiceRuntime],
) -> None:
    client, _ = intake
    phone = "139" + str(now().microsecond).zfill(8)[-8:]
    made = []
    for content in ("小区门口路灯又不亮了，上个月就报过", "楼下烧烤摊油烟太大，晚上熏得睡不着"):
        answer = await client.post(
            "/v1/requests",
            headers=HOTLINE,
            json={"channel": "hotline", "content": content, "requester": {"name": "李阿姨", "phone": phone}},
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    await client.post(
        "/v1/requests",
        headers=HOTLINE,
        json={"channel": "hotline", "content": "咨询社保卡补办", "requester": {"phone": "13700001111"}},
    )
    found = await client.get("/v1/requests", params={"phone": f"{phone[:3]} {phone[3:]}"}, headers=AGENT)
    assert found.status_code == 200, found.text
    items = found.json()["items"]
    assert [r["id"] for r in items] == made
    assert items[0]["content"] == "小区门口路灯又不亮了，上个月就报过"
    assert phone not in found.text  # the contact stays masked in what comes back
    wrong = await client.get("/v1/requests", params={"phone": "12345"}, headers=AGENT)
    assert wrong.status_code == 422 and wrong.json()["error"]["fields"][0]["field"] == "phone"
    handler = await client.get("/v1/requests", params={"phone": phone}, headers=HANDLER)
    assert handler.status_code == 403
