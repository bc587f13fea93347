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
# Every module of a service holds no SQL but its store.py (and its migrations).
LAYERS = tuple(
    sorted({p.stem for p in (ROOT / "services").glob("*/*.py") if p.stem not in ("store", "__init__")})
)

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
    tree = ast.parse(source)
    # A route's decorator (`@router.delete("/…")`) is not SQL, whatever its method's name.
    decorators = {
        id(d)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for d in node.decorator_list
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in decorators:
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
        for layer in LAYERS
        if (ROOT / "services" / service / f"{layer}.py").exists()
    ],
)
def test_no_module_but_the_store_holds_sql(module: str) -> None:
    source = (ROOT / "services" / module).read_text(encoding="utf-8")
    assert sql_in(source) == [], (
        f"services/{module} builds or runs SQL: put the statement in store.py, "
        "the read in queries.py and the change in service.py"
    )


def test_every_service_is_checked() -> None:
    """Each service's API module is checked (a new service's too)."""
    assert set(SERVICES) >= {"intake", "routing", "handling", "followup", "kpi"}


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

@router.delete("/things/{thing_id}")
async def page(session, body, items):
    values = body.model_dump()
    values.update(extra=1)
    items.insert(0, values)
    return await queries.page(session, values)
"""
    assert sql_in(source) == []
