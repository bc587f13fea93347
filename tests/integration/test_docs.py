"""The committed contract documents are what the code generates (`make docs`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

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


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref" and isinstance(v, str)] + [
            r for v in node.values() for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_reference_of_the_asyncapi_document_resolves_from_its_root() -> None:
    """Resolved by a real JSON-reference resolver (`referencing`), and every schema checked
    as a JSON Schema: no dangling `#/$defs/…` inside a component."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    doc = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
    resolver = Registry().with_resource("urn:asyncapi", Resource(doc, DRAFT202012)).resolver("urn:asyncapi")
    refs = set(_refs(doc))
    assert refs and all(ref.startswith("#/") for ref in refs)
    for ref in sorted(refs):
        assert resolver.lookup(ref).contents is not None, ref  # raises if it does not resolve
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        assert "$defs" not in schema, name
    assert {"Due", "FirstResponder", "MissingMaterial", "Actor"} <= set(doc["components"]["schemas"])


def test_shared_parts_of_the_events_are_the_same_everywhere() -> None:
    from shared.events.catalogue import CATALOGUE

    seen: dict[str, object] = {}
    for model in CATALOGUE.values():
        for name, definition in model.model_json_schema().get("$defs", {}).items():
            assert seen.setdefault(name, definition) == definition, name
