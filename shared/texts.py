"""What people read: times in the organisation's time zone in a human format, department
names instead of codes, and no doubled punctuation where a text is put into a template.
One helper for every service, so a person never sees "2026-12-11T10:00:00+00:00" or
"service_center" and two messages never word the same time differently."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shared.clock import organisation_tz

# The organisation's departments by code: their names as people read them.
DEPARTMENT_NAMES: dict[str, dict[str, str]] = json.loads(
    Path(__file__).with_name("departments.json").read_text(encoding="utf-8")
)

_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def human_time(value: datetime | date | str, language: str = "zh") -> str:
    """2026年12月11日 18:00 (or 11 Dec 2026 18:00), in the organisation's time zone; a date
    alone is 2026年12月11日. A string that is not an ISO instant is returned as it is."""
    if isinstance(value, str):
        if not _ISO_INSTANT.match(value):
            return value
        try:
            parsed: datetime | date = datetime.fromisoformat(value)
        except ValueError:
            return value
        value = parsed
    if isinstance(value, datetime):
        local = value.astimezone(organisation_tz()) if value.tzinfo else value
        if language == "en":
            return local.strftime("%d %b %Y %H:%M").lstrip("0")
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    if language == "en":
        return value.strftime("%d %b %Y").lstrip("0")
    return f"{value.year}年{value.month}月{value.day}日"


def department_name(code: str | None, language: str = "zh", known: dict[str, str] | None = None) -> str:
    """The department's name for people; `known` (code → name, e.g. from routing's table)
    wins over the directory; an unknown code is shown as it is rather than dropped."""
    if not code:
        return ""
    if known and code in known:
        return known[code]
    names = DEPARTMENT_NAMES.get(code)
    if names is None:
        return code
    return names.get(language) or names["zh"]


# A sentence mark followed by another mark (the inserted text ended in one, or was empty):
# keep the first. "已办理完毕：路灯已修复。。" → "已办理完毕：路灯已修复。"
_DOUBLED_ZH = re.compile(r"([。！？；，、：])[\s]*[。；，、]+")
_EMPTY_COLON_ZH = re.compile(r"：\s*([。！？；，])")
_DOUBLED_EN = re.compile(r"([.!?;:,])\s*([.;,])(?!\.)")


def tidy(text: str) -> str:
    """No doubled punctuation and no empty "：。" left by a blank parameter."""
    text = _EMPTY_COLON_ZH.sub(r"\1", text)
    text = _DOUBLED_ZH.sub(r"\1", text)
    text = re.sub(r":\s*\.", ".", text)
    return _DOUBLED_EN.sub(r"\1", text)


# Coded values people may read, by parameter.
CODED: dict[str, dict[str, str]] = {
    "clock": {
        "accept": "签收",
        "first_contact": "首次联系",
        "resolve": "办结",
        "feedback": "反馈",
        "revisit": "回访",
        "supervision": "督办",
    },
    "level": {
        "very_satisfied": "非常满意",
        "satisfied": "满意",
        "basically_satisfied": "基本满意",
        "unsatisfied": "不满意",
        "very_unsatisfied": "非常不满意",
    },
}


def humanise_params(params: dict[str, Any], language: str = "zh") -> dict[str, Any]:
    """Params as a text shows them: instants in human local time, department codes as names."""
    shown: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, (datetime, date)) or (isinstance(value, str) and _ISO_INSTANT.match(value)):
            shown[key] = human_time(value, language)
        elif key in ("department", "to_department", "from_department", "primary_department"):
            shown[key] = department_name(value, language) if isinstance(value, str) else value
        elif key in CODED and language == "zh" and isinstance(value, str):
            shown[key] = CODED[key].get(value, value)
        else:
            shown[key] = value
    return shown
