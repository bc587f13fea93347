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
