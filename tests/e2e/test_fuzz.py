"""Schema-driven fuzzing (schemathesis) of every service's OpenAPI, against the five services
running as processes on databases of their own: every generated request, sent with each
role's credential, must get an answer below 500 (a 503 naming the dependency that is down,
with Retry-After, counts as an answer), its status must be one the operation declares and
its body must match the schema declared for that status (schemathesis'
`status_code_conformance` and `response_schema_conformance`: every route declares its error
statuses with the contract's error body, shared.openapi).

Bounded: FUZZ_EXAMPLES generated cases per operation (default 4), so the whole run stays
within a few minutes. With FUZZ_REPORT set to a file, each service's counts are appended to
it as a JSON line (`make fuzz` merges them into bench/results.json).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from shared.auth import issue_staff_token
from shared.settings import SERVICES, get_settings
from tests.support.platform import PORT_OFFSET, Broker, devctl, fresh_databases, settings_with_prefix

# Inside this checkout's block of ports (e2e takes 18001-18005 + TEST_PORT_OFFSET).
FUZZ_PORTS = {service: 18051 + PORT_OFFSET + i for i, service in enumerate(SERVICES)}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
CREDENTIALS: dict[str, dict[str, str]] = {
    "admin": {"Authorization": "Bearer " + issue_staff_token("fuzz-admin", "admin")},
    "supervisor": {"Authorization": "Bearer " + issue_staff_token("fuzz-supervisor", "supervisor")},
    "agent": {"Authorization": "Bearer " + issue_staff_token("fuzz-agent", "agent")},
    "handler": {"Authorization": "Bearer " + issue_staff_token("fuzz-handler", "handler", "urban")},
    "channel": {"X-API-Key": "dev-web-key"},
}


@pytest.fixture(scope="module")
def fuzz_platform(broker: Broker) -> Iterator[dict[str, str]]:
    settings = settings_with_prefix("fuzz", kafka_bootstrap=get_settings().kafka_bootstrap)
    fresh_databases(settings)
    env = {f"{s.upper()}_DATABASE_URL": settings.database_url(s) for s in SERVICES}
    env["KAFKA_BOOTSTRAP"] = settings.kafka_bootstrap
    env["LIFECYCLE_TOPIC"] = "fuzz.lifecycle"
    env["NOTIFICATIONS_TOPIC"] = "fuzz.notifications"
    env["DLQ_TOPIC"] = "fuzz.dlq"
    env |= {f"{s.upper()}_URL": f"http://127.0.0.1:{port}" for s, port in FUZZ_PORTS.items()}
    devctl.start_services(FUZZ_PORTS, env, prefix="fuzz-")
    try:
        devctl.wait_ready(FUZZ_PORTS, timeout=120)
        yield {s: f"http://127.0.0.1:{p}" for s, p in FUZZ_PORTS.items()}
    finally:
        devctl.stop([f"fuzz-{s}" for s in SERVICES])


FUZZ = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _declared_unavailable(response: Any) -> bool:
    """A 503 that says which dependency is down and when to retry is an answer, not a crash."""
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return False
    return response.status_code == 503 and "Retry-After" in response.headers and code.endswith("unavailable")


@pytest.mark.timeout(900)  # FUZZ_EXAMPLES=25 takes intake a few minutes on a busy machine
@pytest.mark.parametrize("service", SERVICES)
def test_no_generated_request_gets_a_server_error(fuzz_platform: dict[str, str], service: str) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_platform[service]}/openapi.json")
    calls = 0
    server_errors: list[str] = []
    nonconforming: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/readyz":
            continue  # 503 while a dependency is down is what it is for
        operations += 1

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            for role, headers in CREDENTIALS.items():
                response = case.call(headers=headers, timeout=30)
                calls += 1
                where = (
                    f"{role} {case.method} {case.formatted_path} {case.query or ''}: "
                    f"{response.status_code} {response.text[:200]}"
                )
                if response.status_code >= 500 and not _declared_unavailable(response):
                    server_errors.append(where)
                try:
                    case.validate_response(
                        response, checks=[status_code_conformance, response_schema_conformance]
                    )
                except FailureGroup as failures:
                    nonconforming.append(
                        f"{where} — {'; '.join(str(f).splitlines()[0] for f in failures.exceptions)}"
                    )

        run()
    print(
        f"\n{service}: {operations} operations, {calls} fuzz calls, {len(server_errors)} answered 5xx, "
        f"{len(nonconforming)} not as documented (status or body)"
    )
    if os.environ.get("FUZZ_REPORT"):
        with open(os.environ["FUZZ_REPORT"], "a", encoding="utf-8") as report:
            counts = {
                "service": service,
                "operations": operations,
                "examples_per_operation": EXAMPLES,
                "roles": len(CREDENTIALS),
                "calls": calls,
                "answered_5xx": len(server_errors),
                "not_as_documented": len(nonconforming),
            }
            report.write(json.dumps(counts) + "\n")
    assert operations > 0 and calls >= operations
    assert server_errors == [], "\n".join(server_errors[:20])
    assert nonconforming == [], "\n".join(nonconforming[:20])
