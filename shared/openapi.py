"""What each route's OpenAPI says about its errors: every status the platform can answer on
that route, with the contract's error body (shared.errors), declared once here for all five
services instead of route by route (FastAPI on its own lists only 200 and its own 422).

The statuses follow from where the route sits, not from reading its code:
  every route             400 (NUL bytes, JSON nested too deep, body not JSON), 429 (rate
                          limit), 503 (the database or a service it asks is down; with
                          Retry-After; not /healthz and /metrics)
  behind the policy table 401 (no or bad credential), 403 (role or department not allowed)
  those, and any with parameters or a body
                          422 (invalid input, `fields` naming each field and rule)
  a path parameter, a write, or a department scope on a named request
                          404 (no such thing, or outside the caller's scope)
  a write (POST/PUT/DELETE)
                          409 (the state does not allow it, or it exists already)
  a body (POST/PUT/PATCH) 413 (too large), 415 (not JSON, or the form type a route takes)
A route may declare more (or another body for a status) with FastAPI's own `responses=`;
what it declares wins. FastAPI's own 422 body (`HTTPValidationError`), which no service
sends, is replaced by the contract's.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from shared.policy import PUBLIC_PREFIXES, rule_for


class FieldError(BaseModel):
    field: str = Field(description="the field, dotted for nested ones (`requester.phone`)")
    rule: str = Field(description="the rule it breaks, e.g. `known_staff`, `string_too_long`")
    message: str


class ErrorDetail(BaseModel):
    model_config = ConfigDict(title="ErrorDetail")

    code: str = Field(description="machine-readable, e.g. `not_found`, `validation_failed`")
    message: str = Field(description="what went wrong, for people")
    fields: list[FieldError] = Field(default_factory=list)
    current_state: str | None = Field(
        default=None, description="on a 409 about the request's state: the state it is in"
    )


class ErrorBody(BaseModel):
    """The error body of every service: {"error": {"code", "message", "fields": [...]}}."""

    error: ErrorDetail


DESCRIPTIONS: dict[int, str] = {
    400: "Bad request: a NUL byte, JSON nested too deep, or a body that is not JSON",
    401: "No credential, or one that is invalid, expired or revoked",
    403: "The caller's role or department may not do this",
    404: "No such resource (or, for department staff, not one of their department's)",
    409: "The current state does not allow this, or it exists already",
    413: "The body is too large",
    415: "The body is not of a media type this route takes",
    422: "Invalid input: `fields` names each field and the rule it breaks",
    429: "Too many requests; Retry-After says when to try again",
    503: "The database or a service this one asks is not reachable; Retry-After says when to try again",
}

_WRITES = {"post", "put", "patch", "delete"}
_BODIES = {"post", "put", "patch"}
_SCHEMAS = "#/components/schemas/"
_NO_DEPENDENCY = ("/healthz", "/metrics")  # they answer from the process itself


def error_statuses(service: str, method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses the platform may answer on this operation (the module's table)."""
    statuses = {400, 429}
    found = None if path.startswith(PUBLIC_PREFIXES) else rule_for(service, method.upper(), path)
    if found is not None:
        statuses |= {401, 403}
    if found is not None or operation.get("parameters") or "requestBody" in operation:
        statuses.add(422)
    if path not in _NO_DEPENDENCY:
        statuses.add(503)
    has_path_params = any(p.get("in") == "path" for p in operation.get("parameters", []))
    if has_path_params or method in _WRITES or (found is not None and found.request_at):
        statuses.add(404)
    if method in _WRITES:
        statuses.add(409)
    if method in _BODIES:
        statuses |= {413, 415}
    if path.startswith(OPEN311):
        statuses |= {404} | ({403} if method in _WRITES else set())  # its resource names; api_key
    return statuses


_HEADERS = {
    401: {"WWW-Authenticate": {"description": "the scheme to use (Bearer)", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
}
# Open311 (GeoReport v2) answers its own errors in its own shape, as JSON or XML; the
# platform's edge (rate limit, body checks) answers before it, with the contract's body.
OPEN311 = "/open311/"
OPEN311_ERRORS = {
    "title": "Open311Errors",
    "description": "GeoReport v2 errors: [{code, description}] (or <errors> in .xml)",
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        "required": ["code", "description"],
    },
}
_OPEN311_STATUSES = (400, 403, 404)


def error_response(status: int, path: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"$ref": _SCHEMAS + "ErrorBody"}
    if path.startswith(OPEN311) and status in _OPEN311_STATUSES:
        schema = {"anyOf": [schema, {"$ref": _SCHEMAS + "Open311Errors"}]}
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": schema}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


_INLINE_MODEL = "x-inline-model"  # marks a body `json_body` declared, until it is hoisted


def json_body(
    model: type[BaseModel], description: str, media_type: str = "application/json"
) -> dict[str, Any]:
    """`openapi_extra` for a route that validates its JSON body itself (to answer its own 422,
    or to compare a submission sent again as sent): the document still declares the body,
    as the model's schema (hoisted into components by `with_error_responses`)."""
    schema = model.model_json_schema(ref_template=_SCHEMAS + "{model}")
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {media_type: {"schema": schema}},
            _INLINE_MODEL: model.__name__,
        }
    }


def _hoist_body_schemas(spec: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A body declared by `json_body` carries its model's schema inline with its `$defs`:
    move both into components and refer to them, as FastAPI does for the models it parses."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            declared = operation.get("requestBody", {})
            if _INLINE_MODEL not in declared:
                continue
            # A copy: FastAPI puts the route's own `openapi_extra` dict into the document, and
            # another app built from the same route must find it as it was declared.
            body = copy.deepcopy(declared)
            name = body.pop(_INLINE_MODEL)
            for media in body.get("content", {}).values():
                schema = media["schema"]
                schemas.update(schema.pop("$defs", {}))
                schemas.setdefault(name, schema)
                media["schema"] = {"$ref": _SCHEMAS + name}
            operation["requestBody"] = body


def with_error_responses(spec: dict[str, Any], service: str) -> dict[str, Any]:
    """The OpenAPI document with every operation's error statuses and the error body. FastAPI's
    own 422 (`HTTPValidationError`, a body the services never send) becomes the contract's.
    Statuses an operation declares itself (FastAPI's `responses=`) are left as they are."""
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            fastapi_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
            if fastapi_422.get("schema") == {"$ref": _SCHEMAS + "HTTPValidationError"}:
                del responses["422"]
            for status in sorted(error_statuses(service, method, path, operation)):
                responses.setdefault(str(status), error_response(status, path))
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    _hoist_body_schemas(spec, schemas)
    error_schema = ErrorBody.model_json_schema(ref_template=_SCHEMAS + "{model}")
    schemas.update(error_schema.pop("$defs"))
    schemas["ErrorBody"] = error_schema
    if any(path.startswith(OPEN311) for path in spec["paths"]):
        schemas["Open311Errors"] = OPEN311_ERRORS
    if f'"{_SCHEMAS}HTTPValidationError"' not in json.dumps(spec["paths"]):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return spec


def declare_error_responses(app: FastAPI, service: str) -> None:
    """Serve the app's OpenAPI with its error statuses (FastAPI's documented way to extend it)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return with_error_responses(generate(), service)

    app.openapi = openapi  # type: ignore[method-assign]
