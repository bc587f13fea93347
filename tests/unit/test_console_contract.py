"""The console calls the services' public APIs only: every `call(service, method, path)` in
its modules is an operation of that service's OpenAPI document (docs/openapi/), so a change
of contract shows here, not in a browser at a hotline desk. `optional(...)` names operations
a release may not have yet (the page degrades without them); they are listed explicitly."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "services" / "intake" / "console"
CALL = re.compile(r"""\b(call|optional)\(\s*"(\w+)",\s*"(GET|POST|PUT|DELETE)",\s*("[^"]+"|ROUTES\[name\])""")
# A whole directory read page by page (a GET that must take a cursor).
EVERY_PAGE = re.compile(r'\beveryPage\(\s*"(\w+)",\s*"([^"]+)"')
# Operations the console uses when present and does without otherwise.
NOT_YET: set[tuple[str, str, str]] = set()


def _calls() -> list[tuple[str, str, str, str, str]]:
    found = []
    for module in sorted((CONSOLE / "js").rglob("*.js")):
        text = module.read_text()
        for kind, service, method, path in CALL.findall(text):
            if path == "ROUTES[name]":  # the case page's table of action routes
                table = re.search(r"const ROUTES = \{(.*?)\};", text, re.S)
                assert table is not None
                found += [
                    (module.name, kind, service, method, p) for p in re.findall(r'"(/v1/[^"]+)"', table[1])
                ]
            else:
                found.append((module.name, kind, service, method, path.strip('"')))
        found += [
            (module.name, "everyPage", service, "GET", path) for service, path in EVERY_PAGE.findall(text)
        ]
    return found


def test_every_call_is_an_operation_of_the_services_openapi() -> None:
    calls = _calls()
    assert len(calls) > 40  # the scan finds the console's calls
    documents = {
        s: json.loads((ROOT / "docs" / "openapi" / f"{s}.json").read_text())
        for s in ("intake", "routing", "handling", "followup", "kpi")
    }
    unknown = []
    for module, kind, service, method, path in calls:
        operation = documents[service]["paths"].get(path, {}).get(method.lower())
        if operation is None and not (kind == "optional" and (service, method, path) in NOT_YET):
            unknown.append(f"{module}: {service} {method} {path}")
        elif kind == "everyPage" and "cursor" not in {p["name"] for p in operation.get("parameters", [])}:
            unknown.append(f"{module}: {service} GET {path} is followed page by page but takes no cursor")
    assert any(kind == "everyPage" for _, kind, *_ in calls)
    assert not unknown, unknown


def test_markup_is_only_ever_set_through_the_escaping_templates() -> None:
    """innerHTML appears once (dom.render, which takes html`…` results only); no inline
    handlers, no eval, no document.write anywhere in the console."""
    offenders = []
    for module in sorted((CONSOLE / "js").rglob("*.js")):
        text = module.read_text()
        for pattern in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            " onclick=",
        ):
            if pattern in text and not (module.name == "dom.js" and pattern == "innerHTML"):
                offenders.append(f"{module.name}: {pattern}")
    assert not offenders, offenders
    assert "style=" not in (CONSOLE / "index.html").read_text()


def test_the_console_modules_own_tests_pass_under_node() -> None:
    """Escaping, time formats in Asia/Shanghai and countdown colours, run by node's test runner.
    Node is a requirement of `make test` (the console's ECharts comes through npm), so a
    machine without it fails here rather than skipping."""
    assert shutil.which("node"), "node is needed for the console's own tests"
    result = subprocess.run(
        ["node", "--test", str(CONSOLE / "tests")], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"# pass [1-9]", result.stdout), result.stdout
