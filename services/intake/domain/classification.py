"""Initial judgement at intake when the channel gives none: the category from keyword rules
that are data (classification_rules.json), Chinese and English; urgency as routing judges it
(shared.urgency: the safety net and the learned model), then intake's own keyword rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.urgency import SafetyNet

RULES_FILE = Path(__file__).with_name("classification_rules.json")


@dataclass(frozen=True)
class Classification:
    category: str
    urgency: str
    rules: tuple[str, ...]  # the rules that fired, recorded on the request


@dataclass(frozen=True)
class KeywordRule:
    id: str
    keywords: tuple[str, ...]
    category: str | None = None

    def fires_on(self, text: str) -> bool:
        return any(k.lower() in text for k in self.keywords)


class Classifier:
    def __init__(self, rules: dict[str, Any], safety: SafetyNet | None = None) -> None:
        # Urgent at once, as routing will find it: the person's first answer already says so
        # and the urgent lane takes it up without waiting for the dispatch.
        self.safety = safety
        self.urgent = [KeywordRule(r["id"], tuple(r["keywords"])) for r in rules["urgent"]]
        self.category = [KeywordRule(r["id"], tuple(r["keywords"]), r["category"]) for r in rules["category"]]
        self.default_category: str = rules["default_category"]

    @classmethod
    def default(cls) -> Classifier:
        return cls(json.loads(RULES_FILE.read_text(encoding="utf-8")), SafetyNet.default())

    def classify(self, text: str, category: str | None = None, urgency: str | None = None) -> Classification:
        lowered = text.lower()
        fired: list[str] = []
        if urgency is None:
            found = self.safety.check(text) if self.safety is not None else None
            if found is None:
                found = next((r.id for r in self.urgent if r.fires_on(lowered)), None)
            urgency = "urgent" if found else "normal"
            if found:
                fired.append(found)
        if category is None:
            category_rule = next((r for r in self.category if r.fires_on(lowered)), None)
            category = (
                category_rule.category if category_rule and category_rule.category else self.default_category
            )
            fired.append(category_rule.id if category_rule else "category.default")
        return Classification(category=category, urgency=urgency, rules=tuple(fired))
