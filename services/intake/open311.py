"""Open311 GeoReport v2 under /open311/v2/, so existing Open311 clients work unchanged.

Services are the request categories plus the one-window catalog; a POST becomes an intake
submission on the `open311` channel (its API key travels as the `api_key` form field, as
the spec says). Requests are listed only if they came in through Open311, with contact data
in their text masked. Errors are the spec's list of {code, description}; both .json and .xml.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from xml.etree import ElementTree

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import service, store
from shared.auth import Principal, hash_api_key
from shared.clock import now
from shared.errors import ApiError
from shared.masking import Person, mask_text, street_level
from shared.openapi import json_body
from shared.outbox import UnitOfWork
from shared.runtime import db_session, unit_of_work
from shared.texts import department_name
from shared.types import MAX_YEAR, MIN_YEAR, instant_in_range

router = APIRouter(prefix="/open311/v2", tags=["open311"])

CATEGORIES = {
    "consultation": ("咨询 Consultation", "Questions about public services and policies"),
    "suggestion": ("建议 Suggestion", "Ideas to improve public services"),
    "complaint": ("投诉 Complaint", "Complaints about services, businesses or officials"),
    "help": ("求助 Help", "Requests for help"),
    "repair": ("报修 Repair", "Broken street lights, potholes, leaks and other repairs"),
}
CLOSED_STATES = {"closed", "merged", "withdrawn"}
MAX_DESCRIPTION = 4000


class Open311Error(Exception):
    def __init__(self, status: int, description: str, code: int | None = None) -> None:
        self.status = status
        self.description = description
        self.code = code or status


def render(items: list[dict[str, Any]], fmt: str, root: str, item: str, status: int = 200) -> Response:
    """A list resource: a JSON array, or <root><item>…</item>…</root>."""
    if fmt == "xml":
        top = ElementTree.Element(root)
        for entry in items:
            _to_xml(ElementTree.SubElement(top, item), entry)
        return _xml(top, status)
    return JSONResponse(items, status_code=status)


def render_one(body: dict[str, Any], fmt: str, root: str) -> Response:
    """A single-object resource (discovery, a service definition)."""
    if fmt == "xml":
        top = ElementTree.Element(root)
        _to_xml(top, body)
        return _xml(top, 200)
    return JSONResponse(body)


def _xml(top: ElementTree.Element, status: int) -> Response:
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(top, encoding="utf-8")
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


def _to_xml(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _to_xml(ElementTree.SubElement(element, key), inner)
    elif isinstance(value, list):
        singular = element.tag[:-1] if element.tag.endswith("s") else "item"
        for inner in value:
            _to_xml(ElementTree.SubElement(element, singular), inner)
    elif value is not None:
        element.text = str(value).lower() if isinstance(value, bool) else str(value)


def _format(name: str) -> tuple[str, str]:
    stem, _, fmt = name.rpartition(".")
    if fmt not in ("json", "xml") or not stem:
        raise Open311Error(404, "use a .json or .xml resource")
    return stem, fmt


def errors_response(exc: Open311Error, fmt: str) -> Response:
    return render([{"code": exc.code, "description": exc.description}], fmt, "errors", "error", exc.status)


async def _services(session: AsyncSession) -> list[dict[str, Any]]:
    items = [
        {
            "service_code": code,
            "service_name": name,
            "description": text,
            "metadata": False,
            "type": "realtime",
            "keywords": code,
            "group": "诉求 requests",
        }
        for code, (name, text) in CATEGORIES.items()
    ]
    latest = {r["code"]: r for r in await store.latest_catalog_entries(session)}
    items += [
        {
            "service_code": code,
            "service_name": r["name"],
            "description": r["description"] or r["name"],
            "metadata": bool(r["materials"]),
            "type": "batch",
            "keywords": "business",
            "group": "一窗通办 one-window",
        }
        for code, r in latest.items()
        if r["active"]
    ]
    return items


@router.get("/{resource}")
async def top_level(
    resource: str, request: Request, session: Annotated[AsyncSession, Depends(db_session)]
) -> Response:
    fmt = "json"
    try:
        stem, fmt = _format(resource)
        if stem == "services":
            return render(await _services(session), fmt, "services", "service")
        if stem == "requests":
            return render(await _list_requests(session, request), fmt, "service_requests", "request")
        if stem == "discovery":
            return render_one(_discovery(request), fmt, "discovery")
        raise Open311Error(404, f"no resource {resource}")
    except Open311Error as exc:
        return errors_response(exc, fmt)


def _discovery(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/") + "/open311/v2/"
    return {
        "changeset": "2026-11-25T00:00:00+08:00",
        "contact": "12345 hotline operations",
        "key_service": "Ask the operator for an API key for the open311 channel",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-25T00:00:00+08:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }


@router.get("/services/{resource}")
async def service_definition(
    resource: str, session: Annotated[AsyncSession, Depends(db_session)]
) -> Response:
    fmt = "json"
    try:
        code, fmt = _format(resource)
        entry = await store.latest_catalog_entry(session, code)
        if entry is None:
            raise Open311Error(404, f"service_code {code} has no definition")
        attributes = [
            {
                "variable": True,
                "code": m["code"],
                "datatype": "string",
                "required": m.get("mandatory", True),
                "datatype_description": "sha256 of the file uploaded to POST /v1/materials",
                "order": i + 1,
                "description": m["name"],
                "values": [],
            }
            for i, m in enumerate(entry["materials"])
        ]
        return render_one({"service_code": code, "attributes": attributes}, fmt, "service_definition")
    except Open311Error as exc:
        return errors_response(exc, fmt)


class Open311Post(BaseModel):
    """POST Service Request (GeoReport v2), form-encoded; a material is `attribute[<code>]`
    with the sha256 of bytes uploaded to `/v1/materials`."""

    model_config = ConfigDict(extra="allow")
    api_key: str = Field(description="the Open311 channel's key")
    service_code: str = Field(description="a category or a business type of GET services.json")
    jurisdiction_id: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str | None = Field(default=None, description="where the problem is")
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    media_url: str | None = None


class Open311Created(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None = None


@router.post(
    "/{resource}",
    status_code=201,
    response_model=list[Open311Created],
    openapi_extra=json_body(
        Open311Post, "GeoReport v2 POST Service Request", media_type="application/x-www-form-urlencoded"
    ),
)
async def post_request(
    resource: str, request: Request, uow: Annotated[UnitOfWork, Depends(unit_of_work)]
) -> Response:
    fmt = "json"
    try:
        stem, fmt = _format(resource)
        if stem != "requests":
            raise Open311Error(404, f"cannot POST {resource}")
        form = await request.form()
        fields = {
            k: str(v).strip() for k, v in form.multi_items() if str(v).strip()
        }  # empty counts as absent
        principal = await _channel(uow.session, fields.get("api_key"))
        body = await _submission(uow.session, fields, form)
        try:
            result = await service.submit_request(uow, principal, body, None)
        except ApiError as exc:
            detail = "; ".join(f"{f['field']}: {f['message']}" for f in exc.fields) or exc.message
            raise Open311Error(400, detail) from exc
        row = result.request
        notice = "材料不全，请补齐后继续办理" if row.get("missing") else "已受理 received"
        return render(
            [
                {
                    "service_request_id": row["id"],
                    "service_notice": notice,
                    "account_id": fields.get("account_id"),
                }
            ],
            fmt,
            "service_requests",
            "request",
            201,
        )
    except Open311Error as exc:
        return errors_response(exc, fmt)


async def _channel(session: AsyncSession, api_key: str | None) -> Principal:
    if not api_key:
        raise Open311Error(403, "api_key is required")
    channel = await store.channel_for_key(session, hash_api_key(api_key))
    if channel != "open311":
        raise Open311Error(403, "api_key is not valid for Open311")
    return Principal(kind="channel", id="open311", role="channel")


async def _submission(session: AsyncSession, f: dict[str, str], form: Any) -> dict[str, Any]:
    code = f.get("service_code")
    if not code:
        raise Open311Error(400, "service_code is required")
    entry = None if code in CATEGORIES else await store.latest_catalog_entry(session, code)
    if code not in CATEGORIES and entry is None:
        raise Open311Error(404, f"service_code {code} not found")
    has_point = "lat" in f and "long" in f
    if not (has_point or f.get("address_string") or f.get("address_id")):
        raise Open311Error(400, "lat and long, address_string or address_id is required")
    description = f.get("description", "")
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
    content = description or (CATEGORIES[code][0] if entry is None else entry["name"])
    if f.get("media_url"):
        content += f"\n[media] {f['media_url']}"
    # address_string is where the problem is (GeoReport v2), with or without coordinates;
    # it is never taken for the requester's own address.
    location: dict[str, Any] | None = {"address": f["address_string"]} if f.get("address_string") else None
    if has_point:
        try:
            location = {"lat": float(f["lat"]), "lon": float(f["long"]), "address": f.get("address_string")}
        except ValueError as exc:
            raise Open311Error(400, "lat and long must be numbers") from exc
    name = " ".join(p for p in (f.get("last_name"), f.get("first_name")) if p) or None
    requester = {
        k: v
        for k, v in {
            "name": name,
            "email": f.get("email"),
            "phone": f.get("phone"),
            "channel_address": f.get("account_id") or f.get("device_id"),
        }.items()
        if v
    }
    materials = [
        {"code": key[len("attribute[") : -1], "sha256": value}
        for key, value in f.items()
        if key.startswith("attribute[") and key.endswith("]")
    ]
    body: dict[str, Any] = {
        "channel": "open311",
        "content": content,
        "location": location,
        "area": f.get("address_id"),
        "requester": requester or None,
        "anonymous": not any(k in requester for k in ("email", "phone", "channel_address")),
        "materials": materials,
    }
    if entry is None:
        body["category"] = code
    else:
        body["business_type"] = code
    return {k: v for k, v in body.items() if v is not None}


@router.get("/requests/{resource}")
async def get_request(resource: str, session: Annotated[AsyncSession, Depends(db_session)]) -> Response:
    fmt = "json"
    try:
        request_id, fmt = _format(resource)
        row = await store.get_request(session, request_id)
        if row is None or row["channel"] != "open311":
            raise Open311Error(404, f"no service request {request_id}")
        return render([_view(row, await _business_names(session))], fmt, "service_requests", "request")
    except Open311Error as exc:
        return errors_response(exc, fmt)


@router.get("/tokens/{resource}")
async def get_token(resource: str, session: Annotated[AsyncSession, Depends(db_session)]) -> Response:
    """This endpoint answers POSTs with an id at once; a token is that id."""
    fmt = "json"
    try:
        token, fmt = _format(resource)
        row = await store.get_request(session, token)
        if row is None or row["channel"] != "open311":
            raise Open311Error(404, f"no token {token}")
        return render([{"service_request_id": row["id"], "token": token}], fmt, "service_requests", "request")
    except Open311Error as exc:
        return errors_response(exc, fmt)


async def _list_requests(session: AsyncSession, request: Request) -> list[dict[str, Any]]:
    q = {k: v for k, v in request.query_params.items() if v}
    ids: list[str] | None = None
    start = end = None
    codes: list[str] | None = None
    closed: bool | None = None
    if "service_request_id" in q:  # overrides every other filter
        ids = [i.strip() for i in q["service_request_id"].split(",") if i.strip()]
    else:
        try:
            end = datetime.fromisoformat(q["end_date"]) if "end_date" in q else now()
            start = datetime.fromisoformat(q["start_date"]) if "start_date" in q else end - timedelta(days=90)
        except ValueError as exc:
            raise Open311Error(400, "start_date and end_date must be ISO 8601") from exc
        if start.tzinfo is None or end.tzinfo is None:
            raise Open311Error(400, "start_date and end_date need a time zone")
        if not (instant_in_range(start) and instant_in_range(end)):
            raise Open311Error(400, f"start_date and end_date must lie between {MIN_YEAR} and {MAX_YEAR}")
        if end - start > timedelta(days=90) or end < start:
            raise Open311Error(400, "start_date and end_date must be at most 90 days apart, in order")
        if "service_code" in q:
            codes = [c.strip() for c in q["service_code"].split(",")]
        if q.get("status") in ("open", "closed"):
            closed = q["status"] == "closed"
        elif "status" in q:
            raise Open311Error(400, "status must be open or closed")
    rows = await store.open311_requests(
        session, ids=ids, start=start, end=end, codes=codes, closed=closed, closed_states=CLOSED_STATES
    )
    names = await _business_names(session)
    return [_view(r, names) for r in rows]


async def _business_names(session: AsyncSession) -> dict[str, str]:
    """The one-window business types by code: their names as the catalog gives them."""
    return {r["code"]: r["name"] for r in await store.latest_catalog_entries(session)}


def _view(row: dict[str, Any], business_names: dict[str, str] | None = None) -> dict[str, Any]:
    # The public view: nothing that identifies a person. The description masked, the
    # address only down to the street (never the house, the building or the flat).
    person = Person.of(row["requester"])
    place = (row["location"] or {}).get("address")
    if place:
        # Where the problem is may be someone's home: the public sees it only to the street.
        person = Person(names=person.names, addresses=(*person.addresses, str(place)))
    location = row["location"] or {}
    written = location.get("address") or (row["requester"] or {}).get("address")
    address = street_level(written) if written else None
    code = row["business_type"] or row["category"]
    return {
        "service_request_id": row["id"],
        "status": "closed" if row["state"] in CLOSED_STATES else "open",
        "status_notes": row["state"],
        "service_name": (
            CATEGORIES[code][0] if code in CATEGORIES else (business_names or {}).get(code, code)
        ),
        "service_code": code,
        "description": mask_text(row["content"], person),
        "agency_responsible": department_name(row["lead_department"]) or None,
        "service_notice": None,
        "requested_datetime": row["submitted_at"].isoformat(),
        "updated_datetime": row["updated_at"].isoformat(),
        "expected_datetime": None,
        "address": (mask_text(address, person) or None) if address else None,
        "address_id": mask_text(row["area"], person) if row["area"] else None,
        "zipcode": None,
        # ~100 m: the neighbourhood, not the door.
        "lat": round(location["lat"], 3) if location.get("lat") is not None else None,
        "long": round(location["lon"], 3) if location.get("lon") is not None else None,
        "media_url": None,
    }
