"""What one service runtime keeps between its units of work (issue 22): e.g. routing's
cache of its configuration. One of each kind per runtime, made on first use, so that two
replicas or two test apps in one process never share one, and none is a module global."""

from __future__ import annotations

from typing import Any, TypeVar, cast

T = TypeVar("T")


class RuntimeLocal:
    """One instance of each kind asked for, for the runtime that holds this (its units of
    work are handed the same one)."""

    def __init__(self) -> None:
        self._kept: dict[type[Any], Any] = {}

    def get(self, kind: type[T]) -> T:
        """This runtime's `kind`, made with no arguments the first time it is asked for."""
        kept = self._kept.get(kind)
        if kept is None:
            kept = self._kept[kind] = kind()
        return cast(T, kept)
