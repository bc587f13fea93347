"""Every step a request's timeline can show has a label in the console, in Chinese and in
English: staff never read a raw event type such as "request.due_changed"."""

from __future__ import annotations

import re
from pathlib import Path

from shared.events.catalogue import CATALOGUE

I18N = Path(__file__).resolve().parents[2] / "services" / "intake" / "console" / "js" / "i18n.js"


def test_every_timeline_event_has_a_chinese_and_an_english_label() -> None:
    text = I18N.read_text(encoding="utf-8")
    labelled = dict(re.findall(r'"((?:request|notification)\.[a-z_]+)":\s*\[("[^"]+",\s*"[^"]+")\]', text))
    shown = {t for t, _ in CATALOGUE if t.startswith("request.") or t in ("notification.requested",)}
    missing = sorted(shown - set(labelled))
    assert not missing, f"no console label for {missing}"
    for event_type in shown:
        zh, en = (part.strip().strip('"') for part in labelled[event_type].split(",", 1))
        assert re.search(r"[\u4e00-\u9fff]", zh), (event_type, zh)
        assert en and not re.search(r"[\u4e00-\u9fff]", en), (event_type, en)
