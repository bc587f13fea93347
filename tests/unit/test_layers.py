"""Where code goes (issue 22): a service's `api.py` parses, authorises and shapes answers;
its reads are in `queries.py`, its commands in `service.py`, and every SQL statement in
`store.py`. This test keeps SQL out of those three modules: no SQLAlchemy statement
builders imported there, none called, no statement executed on a session."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/api.py"))
LAYERS = ("api", "service", "queries")  # the modules that hold no SQL (store.py holds it)

# Known exceptions, each with why. Remove a service from here once its modules are clean.
KNOWN = {
    # Its catalogue, materials and channel-key endpoints (api.py) and some commands
    # (service.py) still write their own SQL; another change (issue 22) is moving them into
    # intake's queries.py, service.py and store.py.
    "intake": "being moved",
}

# What builds a statement (from sqlalchemy and its dialects).
BUILDERS = {"select", "insert", "update", "delete", "text", "func", "literal_column", "table", "column"}
# Running one: a session's or connection's methods.
RUNS = {"execute", "scalar", "scalars", "stream", "stream_scalars"}
# A Table's own statement builders (`table.delete()`, `table.select()`; a list's insert
# takes two arguments and a dict's update is not called without any).
TABLE_BUILDERS = {"select", "delete"}
TABLE_BUILDERS_WITHOUT_ARGUMENTS = {"insert", "update"}


def sql_in(source: str) -> list[str]:
    """Every place in a module's source that builds or runs SQL, as `line: what`."""
    found: list[str] = []
    sqlalchemy_names: set[str] = set()  # builders imported from sqlalchemy, and the module
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    found.append(f"{node.lineno}: import {alias.name}")
                    sqlalchemy_names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            for alias in node.names:
                if alias.name in BUILDERS:
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
                    sqlalchemy_names.add(alias.asname or alias.name)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in sqlalchemy_names:
            found.append(f"{node.lineno}: {func.id}(…)")
        elif isinstance(func, ast.Attribute):
            receiver = func.value
            while isinstance(receiver, ast.Attribute):
                receiver = receiver.value
            no_arguments = not node.args and not node.keywords
            if (
                (isinstance(receiver, ast.Name) and receiver.id in sqlalchemy_names)
                or func.attr in RUNS
                or func.attr in TABLE_BUILDERS
                or (func.attr in TABLE_BUILDERS_WITHOUT_ARGUMENTS and no_arguments)
            ):
                found.append(f"{node.lineno}: .{func.attr}(…)")
    return sorted(set(found), key=lambda f: (int(f.split(":")[0]), f))


@pytest.mark.parametrize(
    "module",
    [
        f"{service}/{layer}.py"
        for service in SERVICES
        if service not in KNOWN
        for layer in LAYERS
        if (ROOT / "services" / service / f"{layer}.py").exists()
    ],
)
def test_api_service_and_query_modules_hold_no_sql(module: str) -> None:
    source = (ROOT / "services" / module).read_text(encoding="utf-8")
    assert sql_in(source) == [], (
        f"services/{module} builds or runs SQL: put the statement in store.py, "
        "the read in queries.py and the change in service.py"
    )


def test_every_service_but_the_known_exceptions_is_checked() -> None:
    """Each service has its API module checked (a new service is checked too)."""
    assert {s for s in SERVICES if s not in KNOWN} >= {"routing", "handling", "followup", "kpi"}


def test_the_check_sees_sql() -> None:
    """The checker itself finds each way of writing SQL an API module might use."""
    source = """
from sqlalchemy import select, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
import sqlalchemy as sa

async def page(session, store):
    await session.execute(select(store.t))
    await session.scalar(func.count())
    pg_insert(store.t)
    store.t.delete()
    store.t.update()
    sa.text("select 1")
"""
    found = {f.split(": ", 1)[1] for f in sql_in(source)}
    assert found == {
        "from sqlalchemy import select",
        "from sqlalchemy import func",
        "from sqlalchemy.dialects.postgresql import insert",
        "import sqlalchemy",
        ".execute(…)",
        "select(…)",
        ".scalar(…)",
        ".count(…)",
        "pg_insert(…)",
        ".delete(…)",
        ".update(…)",
        ".text(…)",
    }


def test_the_check_lets_plain_python_through() -> None:
    source = """
from services.x import queries

async def page(session, body, items):
    values = body.model_dump()
    values.update(extra=1)
    items.insert(0, values)
    return await queries.page(session, values)
"""
    assert sql_in(source) == []


def test_every_known_exception_is_a_service() -> None:
    assert set(KNOWN) <= set(SERVICES)
