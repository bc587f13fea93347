"""For every route of every running service (from its OpenAPI) and every role, the answer
follows the policy table: 403 for roles it does not list, never 401/403 for those it does,
and never a 5xx for anyone."""

from __future__ import annotations

import re

import httpx

from shared.auth import issue_staff_token
from shared.policy import POLICY, PUBLIC_PREFIXES
from tests.e2e.conftest import Platform

ROLES = ("channel", "agent", "handler", "dept_head", "supervisor", "admin", "ops", "dispatcher")
PLACEHOLDERS = {"day": "2026-12-31", "period": "not-a-period", "code": "no-such-code"}


def credentials(role: str) -> dict[str, str]:
    if role == "channel":
        return {"X-API-Key": "dev-hotline-key"}
    # Department staff of the coordinating department, so route-level checks let them in.
    department = "coordination" if role in ("handler", "dept_head") else None
    return {"Authorization": "Bearer " + issue_staff_token(f"{role}-matrix", role, department)}  # type: ignore[arg-type]


def concrete(path: str) -> str:
    return re.sub(
        r"\{(\w+)\}", lambda m: PLACEHOLDERS.get(m.group(1), "00000000-0000-4000-8000-000000000000"), path
    )


async def test_every_route_answers_every_role_as_the_policy_says(services: Platform) -> None:
    checked = 0
    async with httpx.AsyncClient(timeout=30) as http:
        for service, url in services.urls.items():
            spec = (await http.get(f"{url}/openapi.json")).json()
            for path, operations in spec["paths"].items():
                if path.startswith(PUBLIC_PREFIXES):
                    continue
                for method in operations:
                    rule = POLICY[service][(method.upper(), path)]
                    for role in ROLES:
                        response = await http.request(
                            method.upper(),
                            f"{url}{concrete(path)}",
                            headers=credentials(role),
                            json={} if method in ("post", "put") else None,
                        )
                        where = f"{service} {method.upper()} {path} as {role}: {response.status_code}"
                        assert response.status_code < 500, where
                        if role in rule.roles:
                            assert response.status_code not in (401, 403), where
                        else:
                            assert response.status_code == 403, where
                        checked += 1
            unauthenticated = await http.get(f"{url}/v1/this-is-not-a-route")
            assert unauthenticated.status_code == 404
    assert checked >= 7 * 55
