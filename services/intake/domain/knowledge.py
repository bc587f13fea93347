"""The knowledge base agents answer from (首问责任制: what can be answered on the spot must
be), and typical cases shared as experience (典型案例). Pure rules: an article's lifecycle,
who may edit, how text becomes search terms, and how a case study loses personal data.

Lifecycle: draft → pending (submitted for approval) → published (a supervisor approved) →
retired. Any edit makes a new version and puts the article back to draft, so what agents
read has always been approved; a rejected submission goes back to draft with the note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import jieba

from services.intake.domain.submission import CONTACT_PATTERNS
from shared.auth import Principal
from shared.masking import Person, mask_text

jieba.setLogLevel(60)  # its dictionary-loading chatter is not a log line of ours

ArticleStatus = Literal["draft", "pending", "published", "retired"]
Action = Literal["edit", "submit", "approve", "reject", "retire"]

# (action) → (states it may start from, state it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[str], ArticleStatus]] = {
    "edit": (frozenset({"draft", "pending", "published"}), "draft"),
    "submit": (frozenset({"draft"}), "pending"),
    "approve": (frozenset({"pending"}), "published"),
    "reject": (frozenset({"pending"}), "draft"),
    "retire": (frozenset({"draft", "pending", "published"}), "retired"),
}


class NotAllowed(Exception):
    """The article's state does not allow this action."""

    def __init__(self, action: str, status: str) -> None:
        super().__init__(f"cannot {action} an article that is {status}")
        self.action = action
        self.status = status


def next_status(status: str, action: Action) -> ArticleStatus:
    allowed_from, to = TRANSITIONS[action]
    if status not in allowed_from:
        raise NotAllowed(action, status)
    return to


def may_edit(principal: Principal, department: str | None) -> bool:
    """Editors: the owning department's head, and admins."""
    if principal.role == "admin":
        return True
    return principal.role == "dept_head" and department is not None and principal.department == department


def may_approve(principal: Principal, author: str | None = None) -> bool:
    """Supervisors approve; an admin too (the administration's 知识库审核), but never an
    article they wrote themselves: the four-eyes rule holds for them."""
    if principal.role == "supervisor":
        return True
    return principal.role == "admin" and author is not None and author != principal.id


def is_live(status: str, valid_from: datetime | None, valid_to: datetime | None, at: datetime) -> bool:
    """What agents are offered: published and within its validity."""
    return (
        status == "published"
        and (valid_from is None or valid_from <= at)
        and (valid_to is None or at < valid_to)
    )


# Words that carry no meaning for search; jieba splits them off, we drop them.
_STOP = set(
    "的 了 是 在 和 与 及 或 我 我们 你 您 他 她 它 吗 呢 吧 啊 呀 哪 哪些 什么 怎么 怎样 如何 "
    "请问 请 一下 可以 能 能否 需要 要 有 没有 会 想 去 到 给 把 被 让 这 那 这个 那个 个 都 也 "
    "还 就 又 对 从 为 为什么 吗 么 嘛 多少 几 时候 办 办理 哪里 哪儿 找 谁 找谁 咋 咋办 咋整 啥 "
    "a an the of to for in on is are do does how what where when can i my we you".split()
)
_WORD = re.compile(r"[\w\u4e00-\u9fff]+")


def load_dictionary() -> None:
    """Load jieba's dictionary now (about a second of CPU, several under load) rather than
    in the first caller's request, which would wait for it."""
    jieba.initialize()


def terms(text: str) -> list[str]:
    """Search terms of a text: jieba's search-mode words (long words and their parts), lower
    case, without stop words and punctuation. Used alike for articles and for queries."""
    found: list[str] = []
    seen: set[str] = set()
    for word in jieba.cut_for_search(text or ""):
        word = word.strip().lower()
        if not word or word in _STOP or not _WORD.fullmatch(word):
            continue
        if len(word) == 1 and not word.isdigit() and "\u4e00" <= word <= "\u9fff":
            continue  # a single character matches everything
        if word not in seen:
            seen.add(word)
            found.append(word)
    return found


# How citizens say it → how the articles say it: a query also looks for these terms.
# Colloquial words (咋 = 怎么), single characters jieba leaves alone (丢, 补, 占) and the
# names people use for things (医保卡 is the social security card).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "医保卡": ("社保卡",),
    "社会保障卡": ("社保卡",),
    "丢": ("丢失", "补办"),
    "掉": ("丢失",),
    "补": ("补办",),
    "补卡": ("补办",),
    "咋补": ("补办",),
    "被占": ("占用",),
    "占": ("占用",),
    "停车位": ("车位",),
    "车库": ("车位",),
    "驾照": ("驾驶证",),
    "欠薪": ("拖欠工资",),
    "没水": ("停水",),
    "灯不亮": ("路灯", "不亮"),  # jieba reads 路灯不亮 as 路 / 灯不亮
    "工钱": ("工资", "拖欠工资"),
    "小卖部": ("个体工商户", "营业执照", "开店"),
    "小店": ("个体工商户", "营业执照", "开店"),
    "个体户": ("个体工商户", "营业执照"),
    "摆摊": ("个体工商户",),
    "户口本": ("户口",),
    "落户": ("户口", "迁移"),
    "上学": ("入学",),
    "报名": ("入学",),
    "吵": ("噪音",),
    "油烟味": ("油烟",),
    "养老金": ("养老保险",),
    "退休金": ("养老保险",),
}


def search_text(parts: Iterable[str]) -> str:
    """The space-joined terms PostgreSQL's 'simple' configuration indexes as they are."""
    return " ".join(t for part in parts for t in terms(part))


def query_terms(text: str, limit: int = 24) -> list[str]:
    """Terms of a query, and the terms the articles use for what a citizen said (SYNONYMS),
    safe to put in a tsquery (only word characters survive)."""
    found = terms(text)
    for word in jieba.cut_for_search(text or ""):
        for synonym in SYNONYMS.get(word.strip().lower(), ()):
            if synonym not in found:
                found.append(synonym)
    return [t for t in found if _WORD.fullmatch(t)][:limit]


REMOVED = "[已隐去]"


def strip_personal_data(text: str, known: Iterable[str] = ()) -> str:
    """A case study keeps what happened and drops who: the person's own strings (name,
    address, …) and every phone number, id number and e-mail address in the text."""
    for value in sorted((k for k in known if k and len(k) >= 2), key=len, reverse=True):
        text = text.replace(value, REMOVED)
    for pattern in CONTACT_PATTERNS:
        text = pattern.sub(REMOVED, text)
    # What the plain patterns miss (139 0000 1111, 一三九…, names in other orders).
    return mask_text(text, Person(names=tuple(k for k in known if k)))


@dataclass(frozen=True)
class Suggestion:
    id: str
    question: str
    kind: str
    rank: float
