"""Initial judgement at intake when the channel gives none: category and urgency from
keyword rules that are data (classification_rules.json), Chinese and English."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    def __init__(self, rules: dict[str, Any]) -> None:
        self.urgent = [KeywordRule(r["id"], tuple(r["keywords"])) for r in rules["urgent"]]
        self.category = [KeywordRule(r["id"], tuple(r["keywords"]), r["category"]) for r in rules["category"]]
        self.default_category: str = rules["default_category"]

    @classmethod
    def default(cls) -> Classifier:
        return cls(json.loads(RULES_FILE.read_text(encoding="utf-8")))

    def classify(self, text: str, category: str | None = None, urgency: str | None = None) -> Classification:
        lowered = text.lower()
        fired: list[str] = []
        if urgency is None:
            urgent_rule = next((r for r in self.urgent if r.fires_on(lowered)), None)
            urgency = "urgent" if urgent_rule else "normal"
            if urgent_rule:
                fired.append(urgent_rule.id)
        if category is None:
            category_rule = next((r for r in self.category if r.fires_on(lowered)), None)
            category = (
                category_rule.category if category_rule and category_rule.category else self.default_category
            )
            fired.append(category_rule.id if category_rule else "category.default")
        return Classification(category=category, urgency=urgency, rules=tuple(fired))
