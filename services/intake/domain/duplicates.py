"""Repeat requests (重复诉求): which open requests a new one most likely repeats.

The national rule is that repeat requests are merged for handling, so intake points them out
and an agent or the dispatcher merges in one step. Two kinds count:

- the same person again about what looks like the same thing (their words overlap, or
  routing dispatched both under the same matter);
- someone else about the same matter at the same place (the same area, or the same address
  as people write it), within the window: two reports of one broken lamp.

Words are compared as character bigrams (Chinese has no spaces and people paraphrase), after
dropping punctuation, spaces and the filler people put around the point.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

SAME_PERSON = "same_person"
SAME_MATTER_AND_PLACE = "same_matter_and_place"
SIMILAR_TEXT_SAME_PLACE = "similar_text_same_place"

# Overlap of the texts' bigrams from which the same person's two requests are taken
# for one, and from which two people's texts at one place are (without a matter).
PERSON_SIMILARITY = 0.15
PLACE_SIMILARITY = 0.5
MOST = 5

# Punctuation, spaces and digits (phone and ID numbers, house numbers say nothing of the topic).
_NOT_WORDS = re.compile(r"[\W_\d]+", re.UNICODE)
# Words that say nothing about the problem: greetings, "I want to report", "please", and the
# near-everywhere of people's places and times ("downstairs", "at the gate", "for days"),
# which two unrelated complaints of one caller share as often as two repeats do.
_FILLER = re.compile(
    "("
    + "|".join(
        (
            "你好|您好|喂|我要|我想|反映|反应|投诉|举报|咨询|一下|一个|请问|麻烦|帮忙|谢谢|赶紧|尽快",
            "这个|那个|这边|那边|我们|我家|家里|楼下|楼上|门口|小区|附近|旁边",
            "现在|一直|好几天|几天|天天|每天|晚上|白天|上周|昨天|今天|还是|怎么|什么|没人|有人",
            "的|了|吗|呢|啊|吧",
        )
    )
    + ")"
)


@dataclass(frozen=True)
class Candidate:
    id: str
    content: str
    requester_ref: str | None
    matter: str | None
    area: str | None
    address: str | None
    received_at: datetime


@dataclass(frozen=True)
class LikelyDuplicate:
    id: str
    similarity: float
    reasons: tuple[str, ...]


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _FILLER.sub("", _NOT_WORDS.sub("", text))


def _bigrams(text: str) -> set[str]:
    words = _normalised(text)
    if len(words) < 2:
        return {words} if words else set()
    return {words[i : i + 2] for i in range(len(words) - 1)}


def similarity(a: str, b: str) -> float:
    """How much of the shorter text's character bigrams the other has, 0..1 (a follow-up
    call is often a short sentence about a long first one)."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / min(len(x), len(y))


def _place(value: str | None) -> str | None:
    return _normalised(value) or None if value else None


def likely_duplicates(request: Candidate, candidates: list[Candidate]) -> list[LikelyDuplicate]:
    """The open requests (already chosen by the window) this one most likely repeats, the
    likeliest first: more reasons first, then the closer text, then the more recent."""
    found: list[tuple[LikelyDuplicate, datetime]] = []
    area, address = _place(request.area), _place(request.address)
    for other in candidates:
        if other.id == request.id:
            continue
        score = similarity(request.content, other.content)
        same_matter = request.matter is not None and request.matter == other.matter
        same_place = (area is not None and area == _place(other.area)) or (
            address is not None and address == _place(other.address)
        )
        reasons: list[str] = []
        if request.requester_ref and request.requester_ref == other.requester_ref:
            if same_matter or score >= PERSON_SIMILARITY:
                reasons.append(SAME_PERSON)
        if same_place and same_matter:
            reasons.append(SAME_MATTER_AND_PLACE)
        elif same_place and score >= PLACE_SIMILARITY:
            reasons.append(SIMILAR_TEXT_SAME_PLACE)
        if reasons:
            found.append((LikelyDuplicate(other.id, round(score, 3), tuple(reasons)), other.received_at))
    found.sort(key=lambda f: (len(f[0].reasons), f[0].similarity, f[1]), reverse=True)
    return [duplicate for duplicate, _ in found[:MOST]]
