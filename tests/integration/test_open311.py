"""Open311 GeoReport v2 round trips, as an existing client would make them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from xml.etree import ElementTree

import httpx
import pytest

from services.intake import store as intake_store
from services.intake.consumers import HANDLERS
from services.intake.main import build_app
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.conftest import asgi_client

KEY = "dev-open311-key"


@pytest.fixture
async def client(platform: Settings) -> AsyncIterator[httpx.AsyncClient]:
    runtime = ServiceRuntime(
        name="intake", metadata=intake_store.metadata, handlers=HANDLERS, settings=platform
    )
    async for c in asgi_client(build_app(runtime)):
        yield c


async def test_services_list_categories_and_the_catalog(client: httpx.AsyncClient) -> None:
    services = (await client.get("/open311/v2/services.json")).json()
    codes = {s["service_code"]: s for s in services}
    assert {"repair", "complaint", "residence_permit"} <= set(codes)
    assert codes["repair"]["metadata"] is False and codes["residence_permit"]["metadata"] is True
    assert set(codes["repair"]) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    definition = (await client.get("/open311/v2/services/residence_permit.json")).json()
    assert definition["service_code"] == "residence_permit"
    assert [a["code"] for a in definition["attributes"]] == ["id_card", "lease", "photo"]
    assert (
        definition["attributes"][0]["datatype"] == "string"
        and definition["attributes"][0]["required"] is True
    )
    xml = await client.get("/open311/v2/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    assert ElementTree.fromstring(xml.content).find("service/service_code") is not None
    missing = await client.get("/open311/v2/services/nothing.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404


async def test_post_then_read_back(client: httpx.AsyncClient) -> None:
    form = {
        "api_key": KEY,
        "service_code": "repair",
        "lat": "32.0603",
        "long": "118.7969",
        "address_string": "鼓楼区中山路1号",
        "description": "路灯不亮了，我的电话13912345678",
        "first_name": "小明",
        "last_name": "王",
        "phone": "13912345678",
        "email": "",
    }
    posted = await client.post("/open311/v2/requests.json", data=form)
    assert posted.status_code == 201, posted.text
    [answer] = posted.json()
    assert set(answer) >= {"service_request_id", "service_notice"} and "token" not in answer
    rid = answer["service_request_id"]

    [shown] = (await client.get(f"/open311/v2/requests/{rid}.json")).json()
    assert shown["status"] == "open" and shown["service_code"] == "repair"
    # The public view identifies no one: the street, not the house; the point to ~100 m.
    assert shown["lat"] == 32.06 and shown["long"] == 118.797 and shown["address"] == "鼓楼区中山路"
    assert "13912345678" not in shown["description"] and "139****5678" in shown["description"]
    assert shown["requested_datetime"].endswith("+00:00") or "+" in shown["requested_datetime"]

    listed = (await client.get("/open311/v2/requests.json", params={"service_request_id": rid})).json()
    assert [r["service_request_id"] for r in listed] == [rid]
    assert listed[0]["address"] == "鼓楼区中山路" and "1号" not in str(listed)
    open_repairs = (await client.get("/open311/v2/requests.json?service_code=repair&status=open")).json()
    assert rid in [r["service_request_id"] for r in open_repairs]
    closed = (await client.get("/open311/v2/requests.json?status=closed")).json()
    assert rid not in [r["service_request_id"] for r in closed]
    [token] = (await client.get(f"/open311/v2/tokens/{rid}.json")).json()
    assert token == {"service_request_id": rid, "token": rid}
    xml = await client.get(f"/open311/v2/requests/{rid}.xml")
    assert ElementTree.fromstring(xml.content).findtext("request/service_request_id") == rid


async def test_one_window_attributes_become_materials(client: httpx.AsyncClient) -> None:
    form = {
        "api_key": KEY,
        "service_code": "residence_permit",
        "address_string": "鼓楼区",
        "email": "a@b.cn",
        "attribute[id_card]": "a" * 64,
    }
    [answer] = (await client.post("/open311/v2/requests.json", data=form)).json()
    assert "材料不全" in answer["service_notice"]


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"service_code": "repair", "address_string": "x"}, 403),
        ({"api_key": "dev-web-key", "service_code": "repair", "address_string": "x"}, 403),
        ({"api_key": KEY, "address_string": "x"}, 400),
        ({"api_key": KEY, "service_code": "moon", "address_string": "x"}, 404),
        ({"api_key": KEY, "service_code": "repair"}, 400),
        ({"api_key": KEY, "service_code": "repair", "lat": "north", "long": "1"}, 400),
        ({"api_key": KEY, "service_code": "repair", "address_string": "x", "description": "长" * 4001}, 400),
        ({"api_key": KEY, "service_code": "repair", "address_string": "x", "phone": "12"}, 400),
    ],
)
async def test_errors_are_the_specs_error_list(
    client: httpx.AsyncClient, form: dict[str, str], status: int
) -> None:
    response = await client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == status
    [error] = response.json()
    assert error["code"] == status and error["description"]


async def test_date_filters_are_checked(client: httpx.AsyncClient) -> None:
    too_long = await client.get(
        "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"
    )
    assert too_long.status_code == 400
    bad = await client.get("/open311/v2/requests.json?status=maybe")
    assert bad.status_code == 400
    json_only = await client.post("/open311/v2/requests.json", json={"api_key": KEY})
    assert json_only.status_code in (400, 403)


async def test_an_address_without_coordinates_is_where_the_problem_is(client: httpx.AsyncClient) -> None:
    form = {
        "api_key": KEY,
        "service_code": "repair",
        "address_string": "玄武区珠江路88号门口",
        "description": "人行道上的井盖不见了，晚上很危险",
        "phone": "13812340000",
    }
    [answer] = (await client.post("/open311/v2/requests.json", data=form)).json()
    rid = answer["service_request_id"]
    [shown] = (await client.get(f"/open311/v2/requests/{rid}.json")).json()
    # Where the problem is (not the requester's own address), to the street: no house number.
    assert shown["address"] == "玄武区珠江路" and shown["lat"] is None and shown["long"] is None
    assert shown["service_name"] != "repair"


async def test_a_one_window_service_is_shown_by_its_name(client: httpx.AsyncClient) -> None:
    form = {"api_key": KEY, "service_code": "residence_permit", "address_string": "鼓楼区", "email": "a@b.cn"}
    [answer] = (await client.post("/open311/v2/requests.json", data=form)).json()
    [shown] = (await client.get(f"/open311/v2/requests/{answer['service_request_id']}.json")).json()
    services = {
        s["service_code"]: s["service_name"] for s in (await client.get("/open311/v2/services.json")).json()
    }
    assert shown["service_name"] == services["residence_permit"] != "residence_permit"


async def test_the_public_view_shows_nothing_that_identifies_the_person(client: httpx.AsyncClient) -> None:
    """Open311 keeps a Western-order name as "林 小红"; the person writes 我是林小红 and their
    flat into the description: the public view and list show neither, nor the phone."""
    form = {
        "api_key": KEY,
        "service_code": "repair",
        "address_string": "杭州市西湖区文三路478号华星时代广场A座1201室",
        "description": "我是林小红，住华星时代广场A座1201室，楼道灯坏了一个礼拜，电话１３９ ００００ １１１１",  # noqa: E501
        "first_name": "小红",
        "last_name": "林",
        "phone": "13900001111",
    }
    posted = await client.post("/open311/v2/requests.json", data=form)
    assert posted.status_code == 201, posted.text
    rid = posted.json()[0]["service_request_id"]
    [shown] = (await client.get(f"/open311/v2/requests/{rid}.json")).json()
    listed = (await client.get("/open311/v2/requests.json", params={"service_request_id": rid})).json()
    for view in (shown, listed[0]):
        # What the person wrote or gave, not the timestamps (whose microseconds may hold "1201").
        text = str({k: v for k, v in view.items() if not k.endswith("_datetime")})
        for secret in ("小红", "1201", "478号", "13900001111", "１３９"):
            assert secret not in text, (secret, view)
        assert view["address"] == "杭州市西湖区文三路"
        assert "我是林**" in view["description"] and "139****1111" in view["description"]
        assert "楼道灯坏了一个礼拜" in view["description"]  # what happened stays readable


async def test_credential_less_calls_are_limited_by_client_address(platform: Settings) -> None:
    """Open311 POSTs carry their key in the form, public reads none: the guard limits them
    by the caller's address (here 20 a minute), with the contract's error and Retry-After."""
    settings = platform.model_copy(update={"rate_limit_per_address_per_minute": 20})
    runtime = ServiceRuntime(
        name="intake", metadata=intake_store.metadata, handlers=HANDLERS, settings=settings
    )
    async for c in asgi_client(build_app(runtime)):
        statuses = [(await c.get("/open311/v2/services.json")).status_code for _ in range(20)]
        assert statuses == [200] * 20
        refused = await c.post("/open311/v2/requests.json", data={"api_key": KEY, "service_code": "repair"})
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
