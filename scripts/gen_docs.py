"""`make docs`: write the contract documents from the code, never by hand.

    docs/openapi/<service>.json     each service's OpenAPI (FastAPI's own)
    docs/events/<type>.v<N>.json    a JSON Schema per event type and version, and the envelope
    docs/asyncapi.yaml              one AsyncAPI 3 document for the three topics

`python scripts/gen_docs.py --check` exits non-zero if the committed files differ.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.events.catalogue import CATALOGUE  # noqa: E402
from shared.events.envelope import Envelope  # noqa: E402
from shared.settings import SERVICES, Settings  # noqa: E402

NOTIFICATION_ONLY = {"notification.outbound"}


def openapi_documents() -> dict[str, str]:
    from shared.runtime import ServiceRuntime

    docs = {}
    for service in SERVICES:
        main = importlib.import_module(f"services.{service}.main")
        store = importlib.import_module(f"services.{service}.store")
        runtime = ServiceRuntime(name=service, metadata=store.metadata, handlers={}, settings=Settings())
        spec = main.build_app(runtime).openapi()
        docs[f"openapi/{service}.json"] = (
            json.dumps(spec, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        )
    return docs


def event_schemas() -> dict[str, dict[str, Any]]:
    return {
        f"{event_type}.v{version}": model.model_json_schema()
        for (event_type, version), model in sorted(CATALOGUE.items())
    }


def _rooted(node: Any) -> Any:
    """A schema whose `#/$defs/X` references point at `#/components/schemas/X` instead."""
    if isinstance(node, dict):
        return {
            k: (
                v.replace("#/$defs/", "#/components/schemas/")
                if k == "$ref" and isinstance(v, str)
                else _rooted(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rooted(v) for v in node]
    return node


def asyncapi(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    messages: dict[str, Any] = {}
    for name in schemas:
        event_type, _, version = name.rpartition(".v")
        messages[name.replace(".", "_")] = {
            "name": event_type,
            "title": f"{event_type} v{version}",
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "type": {"const": event_type},
                    "version": {"const": version},
                    "event_id": {"type": "string"},
                },
            },
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/Envelope"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": event_type},
                            "version": {"const": int(version)},
                            "data": {"$ref": f"#/components/schemas/{name.replace('.', '_')}"},
                        },
                    },
                ]
            },
        }
    lifecycle = {
        k: {"$ref": f"#/components/messages/{k}"}
        for k in messages
        if k.rsplit("_v", 1)[0].replace("_", ".", 1) not in NOTIFICATION_ONLY
    }
    outbound = {
        k: {"$ref": f"#/components/messages/{k}"} for k in messages if k.startswith("notification_outbound")
    }
    dead_letter = {
        "name": "dead letter",
        "title": "An event a consumer could not apply",
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {
                "consumer": {"type": "string"},
                "error": {"type": "string"},
                "attempts": {"type": "string"},
                "original_topic": {"type": "string"},
                "original_partition": {"type": "string"},
                "original_offset": {"type": "string"},
            },
        },
        "payload": {"description": "the original message value, unchanged (it may not be valid JSON)"},
    }
    # The models' shared parts (Due, Actor, FirstResponder, …) become components of their
    # own, referred to from the document root: a `#/$defs/…` inside a component would not
    # resolve there.
    schema_components: dict[str, Any] = {}
    for key, schema in [*schemas.items(), ("Envelope", Envelope.model_json_schema())]:
        hoisted = _rooted(schema)
        for name, definition in hoisted.pop("$defs", {}).items():
            schema_components.setdefault(name, definition)
        schema_components[key.replace(".", "_")] = hoisted
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Service-request lifecycle events",
            "version": "1.0.0",
            "description": "Every lifecycle event of every service (key = request_id), the outbound "
            "messages for channel adapters, and dead letters. Generated from shared/events by `make docs`.",
        },
        "defaultContentType": "application/json",
        "channels": {
            "lifecycle": {
                "address": "requests.lifecycle",
                "messages": lifecycle,
                "description": "Key: request_id, so one request's events keep their order.",
            },
            "notifications": {
                "address": "requests.notifications",
                "messages": outbound,
                "description": "Messages with destinations; for channel adapters only.",
            },
            "deadLetters": {
                "address": "requests.lifecycle.dlq",
                "messages": {"dead_letter": {"$ref": "#/components/messages/dead_letter"}},
            },
        },
        "operations": {
            "publishLifecycle": {
                "action": "send",
                "channel": {"$ref": "#/channels/lifecycle"},
                "summary": "Services publish through their outbox relay.",
            },
            "consumeLifecycle": {
                "action": "receive",
                "channel": {"$ref": "#/channels/lifecycle"},
                "summary": "One consumer group per service; each event applied once (inbox).",
            },
            "deliverNotifications": {"action": "receive", "channel": {"$ref": "#/channels/notifications"}},
            "deadLetter": {"action": "send", "channel": {"$ref": "#/channels/deadLetters"}},
        },
        "components": {"messages": {**messages, "dead_letter": dead_letter}, "schemas": schema_components},
    }


def documents() -> dict[str, str]:
    schemas = event_schemas()
    docs = openapi_documents()
    for name, schema in schemas.items():
        docs[f"events/{name}.json"] = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    docs["events/envelope.json"] = json.dumps(Envelope.model_json_schema(), indent=2, sort_keys=True) + "\n"
    docs["asyncapi.yaml"] = yaml.safe_dump(asyncapi(schemas), sort_keys=False, allow_unicode=True, width=110)
    return docs


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for relative, content in documents().items():
        path = ROOT / "docs" / relative
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                stale.append(relative)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    if stale:
        print("docs differ from the code; run `make docs`:", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
