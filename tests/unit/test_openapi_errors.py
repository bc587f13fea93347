"""shared.openapi: the error statuses each operation declares, and the policy rules that name
where a route's request is (the department scope `authorized` checks itself)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from shared.openapi import declare_error_responses
from shared.policy import POLICY, rule


class Thing(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/things/{thing_id}", responses={404: {"description": "no such thing, said my way"}})
    async def get_thing(thing_id: str) -> dict[str, Any]:
        return {}

    @app.post("/v1/things")
    async def add_thing(body: Thing) -> dict[str, Any]:
        return {}

    declare_error_responses(app, "nowhere")
    return app


def test_statuses_follow_the_operations_place_and_a_routes_own_declaration_wins() -> None:
    spec = _app().openapi()
    paths = spec["paths"]
    assert set(paths["/healthz"]["get"]["responses"]) == {"200", "400", "429"}
    thing = paths["/v1/things/{thing_id}"]["get"]["responses"]
    assert set(thing) == {"200", "400", "404", "422", "429", "503"}
    assert thing["404"] == {"description": "no such thing, said my way"}  # the route's own
    assert thing["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert thing["503"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    add = paths["/v1/things"]["post"]["responses"]
    assert {"404", "409", "413", "415", "422"} <= set(add)
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorBody"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert _app().openapi() == spec  # the same document however often it is asked for


def test_a_rule_names_its_request_in_the_path_or_the_body_of_a_department_scoped_route() -> None:
    assert (
        rule("handler", scope="own_department", request_at="path.request_id").request_at == "path.request_id"
    )
    for bad in ("query.request_id", "path.", "request_id"):
        with pytest.raises(ValueError):
            rule("handler", scope="own_department", request_at=bad)
    with pytest.raises(ValueError):
        rule("handler", request_at="path.request_id")  # scope any: nothing to check
    assert POLICY["routing"][("GET", "/v1/assignments/{request_id}")].request_at == "path.request_id"
    assert POLICY["intake"][("POST", "/v1/kb/cases")].request_at == "body.request_id"
