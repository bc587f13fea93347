"""The OpenAPI tells the truth about what the routes take and answer (issue 19): intake's
submission, supplements and the Open311 POST declare their bodies, and every route's success
answer, in all five services, has a schema of its own, not a bare object."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from fastapi import FastAPI

from services.intake.main import build_app

pytestmark = pytest.mark.unit

SCHEMAS = "#/components/schemas/"
SERVICES = ("intake", "routing", "handling", "followup", "kpi")


def _app_of(service: str) -> FastAPI:
    app: FastAPI = importlib.import_module(f"services.{service}.main").build_app()
    return app


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].removeprefix(SCHEMAS)]
    return schema


def _refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"]} if isinstance(value.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value))
    return set()


def test_the_bodies_a_client_sends_are_declared_with_their_rules() -> None:
    spec = build_app().openapi()
    paths = spec["paths"]
    submit = paths["/v1/requests"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    submission = _resolve(spec, submit)
    assert submission["required"] == ["channel", "content"]
    assert submission["additionalProperties"] is False
    assert submission["properties"]["content"]["maxLength"] == 5000
    requester = _resolve(spec, submission["properties"]["requester"]["anyOf"][0])
    assert {"name", "phone", "email", "id_number", "channel_address"} <= set(requester["properties"])
    supplement = paths["/v1/requests/{request_id}/supplements"]["post"]["requestBody"]["content"]
    materials = _resolve(spec, supplement["application/json"]["schema"])["properties"]["materials"]
    assert _resolve(spec, materials["items"])["required"] == ["code"]
    open311 = paths["/open311/v2/{resource}"]["post"]["requestBody"]["content"]
    form = _resolve(spec, open311["application/x-www-form-urlencoded"]["schema"])
    assert {"api_key", "service_code"} <= set(form["required"])
    assert {"lat", "long", "address_string", "description", "first_name", "last_name"} <= set(
        form["properties"]
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_reference_resolves_and_the_document_is_the_same_when_built_again(service: str) -> None:
    spec = _app_of(service).openapi()
    for ref in _refs(spec):
        assert ref.removeprefix(SCHEMAS) in spec["components"]["schemas"], ref
    assert "x-inline-model" not in str(spec)
    assert _app_of(service).openapi() == spec  # a second app from the same routes: the same document


@pytest.mark.parametrize("service", SERVICES)
def test_every_success_answer_has_a_schema_of_its_own(service: str) -> None:
    spec = _app_of(service).openapi()
    bare = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                resolved = _resolve(spec, schema) if schema else {}
                if not (resolved.get("properties") or resolved.get("items")):
                    bare.append(f"{method.upper()} {path} {status}")
    assert bare == []
