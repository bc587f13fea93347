"""Outbound messages: templates are data (templates.json, Chinese and English); where a
message goes is decided from the request's channel and the person's contact data."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

TEMPLATES: dict[str, dict[str, str]] = json.loads(
    Path(__file__).with_name("templates.json").read_text(encoding="utf-8")
)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, params: dict[str, Any], language: str = "zh") -> str:
    """The message text; unknown templates fall back to their name, missing params to ''."""
    texts = TEMPLATES.get(template)
    if texts is None:
        return f"[{template}] " + ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
    text = texts.get(language) or texts["zh"]
    return string.Formatter().vformat(text, (), _Blank(params))


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
