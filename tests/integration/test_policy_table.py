"""Every route of every service has an entry in the one policy table, and every entry a route."""

from __future__ import annotations

import importlib

from shared.policy import POLICY, PUBLIC_PREFIXES
from shared.runtime import ServiceRuntime
from shared.settings import SERVICES, Settings


def routes_of(service: str) -> set[tuple[str, str]]:
    main = importlib.import_module(f"services.{service}.main")
    store = importlib.import_module(f"services.{service}.store")
    runtime = ServiceRuntime(name=service, metadata=store.metadata, handlers={}, settings=Settings())
    spec = main.build_app(runtime).openapi()
    return {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if not path.startswith(PUBLIC_PREFIXES)
    }


def test_every_route_has_a_policy_and_every_policy_a_route() -> None:
    for service in SERVICES:
        routes = routes_of(service)
        declared = set(POLICY[service])
        assert routes - declared == set(), f"{service}: routes without a policy"
        assert declared - routes == set(), f"{service}: policies without a route"
