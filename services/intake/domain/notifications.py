"""Outbound messages: templates are data (templates.json, Chinese and English); where a
message goes is decided from the request's channel and the person's contact data."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from shared.texts import humanise_params, tidy

# template → audience ("requester", "staff" for every internal audience, or one internal
# audience by name when it reads differently) → language → text.
TEMPLATES: dict[str, dict[str, dict[str, str]]] = json.loads(
    Path(__file__).with_name("templates.json").read_text(encoding="utf-8")
)
STAFF_AUDIENCES = ("first_responder", "handler", "department_head", "supervisors")


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def wording(template: str, audience: str = "requester") -> dict[str, str] | None:
    """The texts of a template as this audience reads it (staff are never addressed as the
    person who asked); None if the template has no wording for them."""
    texts = TEMPLATES.get(template)
    if texts is None:
        return None
    if audience in texts:
        return texts[audience]
    if audience in STAFF_AUDIENCES:
        return texts.get("staff")
    return None


def render(template: str, params: dict[str, Any], language: str = "zh", audience: str = "requester") -> str:
    """The message text for this audience: times in the organisation's time zone in a human
    format, department names not codes, no doubled punctuation. Unknown templates fall back
    to their name, missing params to ''."""
    texts = wording(template, audience)
    if texts is None:
        return f"[{template}] " + ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
    text = texts.get(language) or texts["zh"]
    shown = humanise_params(params, language)
    return tidy(string.Formatter().vformat(text, (), _Blank(shown)))


# Channels that answer through their own account (the adapter knows the person there).
SELF_ADDRESSED = {"app", "wechat", "weibo", "web", "open311"}


def requester_destination(
    channel: str, requester: dict[str, Any] | None
) -> tuple[str, dict[str, Any]] | None:
    """(channel, destination) to reach the person through the channel they came in by;
    None when there is no way back (anonymous, no contact)."""
    if not requester:
        return None
    if channel in SELF_ADDRESSED and requester.get("channel_address"):
        return channel, {"channel_address": requester["channel_address"]}
    if channel == "email" and requester.get("email"):
        return "email", {"email": requester["email"]}
    if requester.get("phone"):
        # Hotline, window and letter answer by phone/SMS; so does any channel without an address.
        return channel, {"phone": requester["phone"], "name": requester.get("name")}
    if requester.get("email"):
        return "email", {"email": requester["email"]}
    if requester.get("channel_address"):
        return channel, {"channel_address": requester["channel_address"]}
    return None
