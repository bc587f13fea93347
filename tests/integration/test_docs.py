"""The committed contract documents are what the code generates (`make docs`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from shared.clock import now
from shared.events.catalogue import FirstResponder, RequestReceived
from tests.support.events import envelope

ROOT = Path(__file__).resolve().parents[2]


def test_committed_docs_match_the_code() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_asyncapi_document_names_every_topic_and_event() -> None:
    doc = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {"requests.lifecycle", "requests.notifications", "requests.lifecycle.dlq"}
    lifecycle = doc["channels"]["lifecycle"]["messages"]
    assert "request_received_v1" in lifecycle and "notification_outbound_v1" not in lifecycle
    for ref in lifecycle.values():
        name = ref["$ref"].rsplit("/", 1)[1]
        assert name in doc["components"]["messages"]


def test_every_reference_in_the_asyncapi_document_resolves_from_its_root() -> None:
    """Each `$ref` points at something in the document, and every schema in it is a valid
    JSON Schema (2020-12, as pydantic writes them): what a code generator or parser needs."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    doc = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
    resource = Resource(contents=doc, specification=DRAFT202012)
    resolver = Registry().with_resource("urn:asyncapi", resource).resolver(base_uri="urn:asyncapi")

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    every = refs(doc)
    assert len(every) > 50
    for ref in every:
        assert ref.startswith("#/"), ref
        assert resolver.lookup(ref).contents is not None, ref
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    # A message's payload validates a real event through the document's own references.
    validator = Draft202012Validator(
        {"$ref": "urn:asyncapi#/components/messages/request_received_v1/payload"},
        registry=Registry().with_resource("urn:asyncapi", resource),
    )
    assert not validator.is_valid({"type": "request.received"})  # the envelope's fields are required
    received = envelope(
        "5d1c7c1e-0000-4000-8000-000000000001",
        RequestReceived(
            channel="hotline",
            category="complaint",
            urgency="normal",
            submitted_at=now(),  # type: ignore[arg-type]
            first_responder=FirstResponder(kind="staff", id="agent-001"),
        ),
    )
    errors = list(validator.iter_errors(received.model_dump(mode="json")))
    assert not errors, [e.message for e in errors]


def _openapi(service: str) -> Any:
    import json

    return json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text(encoding="utf-8"))


def test_every_operation_declares_its_error_statuses_with_the_contracts_error_body() -> None:
    """Issue 19: the OpenAPI says which errors a route answers, with the error body the
    services send ({"error": {code, message, fields}}), not FastAPI's HTTPValidationError."""
    from shared.policy import PUBLIC_PREFIXES

    operations = 0
    for service in ("intake", "routing", "handling", "followup", "kpi"):
        doc = _openapi(service)
        schemas = doc["components"]["schemas"]
        assert "HTTPValidationError" not in schemas, service
        assert set(schemas["ErrorBody"]["properties"]) == {"error"}
        assert set(schemas["ErrorDetail"]["required"]) == {"code", "message"}
        for path, methods in doc["paths"].items():
            for method, operation in methods.items():
                operations += 1
                responses = operation["responses"]
                where = f"{service} {method.upper()} {path}"
                assert {"400", "429"} <= set(responses), where
                if not path.startswith(PUBLIC_PREFIXES):
                    assert {"401", "403", "422", "503"} <= set(responses), where
                if "{" in path or method in ("post", "put", "delete"):
                    assert "404" in responses, where
                if method in ("post", "put", "delete"):
                    assert {"409", "413", "415"} <= set(responses) or method == "delete", where
                for status, answer in responses.items():
                    if status.startswith(("4", "5")):
                        text = str(answer["content"]["application/json"]["schema"])
                        assert "#/components/schemas/ErrorBody" in text, (where, status)
    assert operations > 80

    handling = _openapi("handling")["paths"]
    cases = handling["/v1/cases"]["get"]["responses"]
    assert "404" not in cases and "409" not in cases  # a list: nothing to miss, nothing to conflict
    assert "Retry-After" in handling["/v1/cases"]["get"]["responses"]["429"]["headers"]
    submit = _openapi("intake")["paths"]["/v1/requests"]["post"]["responses"]
    assert {"200", "201"} <= set(submit)  # a submission sent again answers 200
    open311 = _openapi("intake")["paths"]["/open311/v2/{resource}"]["post"]["responses"]
    assert "201" in open311 and "Open311Errors" in str(open311["403"])
