"""Department scope is declared once, in the policy table (issue 19): `authorized` sets the
caller's `scoped_to` from the route's rule, and service code narrows with `scoped_to` /
`sees(...)`. This test finds service code that writes the scope again by hand — a test of
the caller's role beside a comparison with their department — and the unit tests below
pin what `sees` admits."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.auth import Principal

ROOT = Path(__file__).resolve().parents[2]

# Permission rules that are not a department scope, each with why.
KNOWN = {
    # A staff member's own figures, their head's and supervisors': a rule about one person.
    "services/kpi/staff.py": "who may read or evaluate one staff member",
    # Who may edit a knowledge-base article: its department's head (an editing right).
    "services/intake/domain/knowledge.py": "who may edit or approve one article",
}


CALLERS = {"principal", "caller", "p"}  # the names service code gives the calling principal


def _mentions(node: ast.AST, attribute: str) -> bool:
    return any(
        isinstance(n, ast.Attribute)
        and n.attr == attribute
        and isinstance(n.value, ast.Name)
        and n.value.id in CALLERS
        for n in ast.walk(node)
    )


def hand_written_scopes(source: str) -> list[int]:
    """Lines of conditions that test the caller's `.role` and their `.department` together."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.If | ast.IfExp | ast.Return | ast.Assign | ast.BoolOp):
            test = node.test if isinstance(node, ast.If | ast.IfExp) else node
            if _mentions(test, "role") and _mentions(test, "department"):
                found.append(node.lineno)
    return sorted(set(found))


def test_the_detector_sees_a_hand_written_scope() -> None:
    assert hand_written_scopes(
        'if principal.role in ("handler", "dept_head") and principal.department != lead:\n    pass\n'
    ) == [1]
    assert hand_written_scopes("department = principal.scoped_to\n") == []
    # A case's own role and department are not the caller's.
    assert hand_written_scopes('co = {c.department for c in cases if c.role == "co"}\n') == []


@pytest.mark.parametrize(
    "module",
    sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "services").rglob("*.py") if "migrations" not in p.parts
    ),
)
def test_no_service_writes_a_department_scope_by_hand(module: str) -> None:
    if module in KNOWN:
        pytest.skip(KNOWN[module])
    lines = hand_written_scopes((ROOT / module).read_text(encoding="utf-8"))
    assert lines == [], f"{module}: role and department tested by hand at lines {lines}; use scoped_to/sees"


def test_a_narrowed_caller_sees_only_what_their_department_takes_part_in() -> None:
    head = Principal(kind="staff", id="h1", role="dept_head", department="water", scoped_to="water")
    assert head.sees("water")
    assert head.sees("urban", "water")  # a co-handler
    assert not head.sees("urban")
    assert not head.sees(None)


def test_a_caller_the_route_does_not_narrow_sees_every_department() -> None:
    supervisor = Principal(kind="staff", id="s1", role="supervisor")
    assert supervisor.sees("urban")
    assert supervisor.sees(None)
    # The same head on a route whose rule does not narrow them (scope "any").
    assert Principal(kind="staff", id="h1", role="dept_head", department="water").sees("urban")
