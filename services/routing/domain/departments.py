"""The organisation directory's one rule: the departments form a tree, so a department
never sits under itself or under one of the departments below it."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass


class DepartmentCycle(ValueError):
    """The parent named would put the department under itself."""

    def __init__(self, code: str, parent: str) -> None:
        super().__init__(f"{parent} is {code} or lies under it")
        self.code = code
        self.parent = parent


@dataclass(frozen=True)
class Placement:
    """Where a department sits in the tree: its code, its parent (None at the top) and every
    department above that parent."""

    code: str
    parent: str | None
    parent_ancestors: Set[str] = frozenset()

    def check(self) -> None:
        """Raise DepartmentCycle if the parent is the department itself or lies under it."""
        if self.parent is not None and self.code in set(self.parent_ancestors) | {self.parent}:
            raise DepartmentCycle(self.code, self.parent)
