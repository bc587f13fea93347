"""Every route of every service has an entry in the one policy table, and every entry a route."""

from __future__ import annotations

import importlib
import re

from fastapi import FastAPI

from shared.policy import POLICY, PUBLIC_PREFIXES
from shared.runtime import ServiceRuntime
from shared.settings import SERVICES, Settings


def app_of(service: str) -> FastAPI:
    main = importlib.import_module(f"services.{service}.main")
    store = importlib.import_module(f"services.{service}.store")
    runtime = ServiceRuntime(name=service, metadata=store.metadata, handlers={}, settings=Settings())
    app: FastAPI = main.build_app(runtime)
    return app


def routes_of(service: str) -> set[tuple[str, str]]:
    spec = app_of(service).openapi()
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


def test_a_rule_that_names_its_request_is_checked_by_the_policy() -> None:
    """Rules that say where the request is (`request_at`) are checked by `authorized`: the
    service says how it finds a request's departments, and the place names a real parameter."""
    for service in SERVICES:
        named = {key: r for key, r in POLICY[service].items() if r.request_at is not None}
        if not named:
            continue
        app = app_of(service)
        assert callable(getattr(app.state, "request_departments", None)), service
        for (_, path), found in named.items():
            place, _, name = (found.request_at or "").partition(".")
            if place == "path":
                assert name in re.findall(r"\{(\w+)\}", path), (service, path)
