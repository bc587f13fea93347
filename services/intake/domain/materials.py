"""One-window business (一窗通办): check submitted materials against the catalog's list and
name every missing or wrong item at once (一次性告知). Pure code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequiredMaterial:
    code: str
    name: str
    mandatory: bool = True
    media_types: tuple[str, ...] = ()  # empty: any
    max_size: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RequiredMaterial:
        return cls(
            code=d["code"],
            name=d["name"],
            mandatory=d.get("mandatory", True),
            media_types=tuple(d.get("media_types") or ()),
            max_size=d.get("max_size"),
        )


@dataclass(frozen=True)
class Problem:
    code: str
    name: str
    reason: str  # missing, wrong_media_type, too_large

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "reason": self.reason}


def check(required: Sequence[RequiredMaterial], submitted: Iterable[dict[str, Any]]) -> list[Problem]:
    """Every problem with the submission, in the catalog's order; empty when complete."""
    given: dict[str, dict[str, Any]] = {}
    for item_given in submitted:
        given[item_given["code"]] = item_given  # a later supplement replaces an earlier one
    problems: list[Problem] = []
    for item in required:
        material = given.get(item.code)
        if material is None:
            if item.mandatory:
                problems.append(Problem(item.code, item.name, "missing"))
            continue
        media_type = material.get("media_type")
        if item.media_types and media_type not in item.media_types:
            problems.append(Problem(item.code, item.name, "wrong_media_type"))
        size = material.get("size")
        if item.max_size is not None and size is not None and size > item.max_size:
            problems.append(Problem(item.code, item.name, "too_large"))
    return problems


def merge(earlier: Iterable[dict[str, Any]], later: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Materials after a supplement: a resubmitted code replaces the earlier one."""
    merged = {m["code"]: m for m in earlier}
    merged.update({m["code"]: m for m in later})
    return list(merged.values())
