"""Whether a request's text describes danger to people now, judged the same way wherever a
request is read (intake's first answer, routing's dispatch): the text read as meant (full
width, misspellings), a safety net of rules for the textbook cases, and a model learned from
what callers see, smell and hear. Also the text features the dispatch model uses."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jieba
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

jieba.setLogLevel(60)

DATA = Path(__file__).with_name("data")
SAFETY_NET_FILE = DATA / "safety_net.json"
MISSPELLINGS_FILE = DATA / "misspellings.json"
URGENCY_EXAMPLES_FILE = DATA / "urgency_examples.jsonl"


# --- text --------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_MASK = re.compile(r"[*＊#]{2,}|\d{5,}")


_MISSPELLINGS: dict[str, str] = json.loads(MISSPELLINGS_FILE.read_text(encoding="utf-8"))["misspellings"]
_MISSPELT = re.compile("|".join(sorted(map(re.escape, _MISSPELLINGS), key=len, reverse=True)))


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, common misspellings read as meant (燃汽 is
    燃气), masked numbers and runs of spaces dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _MISSPELT.sub(lambda m: _MISSPELLINGS[m.group()], text)
    text = _MASK.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def words(text: str) -> list[str]:
    return [w for w in jieba.lcut(text) if w.strip()]


# --- urgency safety net ------------------------------------------------------------


# A sentence (an exception or a time word reaches no further than its sentence: "I'm afraid
# something happens to him" does not make "my father with dementia is missing" less urgent).
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_CLAUSE_END = re.compile(r"[。！？!?；;\n,，]")
# What happened before or keeps happening is not danger now: 上个月被人打了 (the case's
# follow-up), 电梯经常停在半层 (a chronic fault), 每次下雨都淹 (a drainage request) — unless
# the same sentence says it is happening now.
_BEFORE_OR_OFTEN = re.compile(
    r"上个?月|上个?(?:星期|礼拜|周)|上次|上回|去年|前年|前些?天|前段时间|之前|以前|曾经|那次|当时"
    r"|经常|老是|总是|每次|每回|每逢|一到.{0,4}就|动不动"
)
_NOW = re.compile(
    r"(?<![到至])现在|正在|还在|刚才|刚刚|此刻|马上|越来越|又(?:着|冒|漏|塌|打|被|困)|赶紧|快来|快点"
)
# How far before a danger word (or within it) a time word is its own (上次燃气泄漏的事情).
_TIME_REACH = 40
# A danger its own sentence says is over (已经找到了, 一个多小时才出来, 抢修完了, 人没事) or
# an enquiry after a case that was handled (派出所做了笔录……没下文, 后来怎么处理的, 把单子销了):
# the caller follows up, nobody is in danger now — unless the sentence says someone still is.
_OVER_OR_FOLLOW_UP = re.compile(
    r"(?:已经|已)(?:找到|找着|回来|回家|出来|救出|救下|灭了|扑灭|修好|修复|抢修完|处理完|处理好|弄出来|没事)"
    r"|才(?:出来|被救出|找到)|(?:弄|救|放|拉)出来了|人(?:都)?没事|抢修完|修完了"
    r"|笔录|没(?:有)?下文|(?:后来|最后)(?:是)?怎么处理|处理结果|办到哪|案子|销了|撤销|把单子"
)
_STILL_IN_DANGER = re.compile(
    r"还有.{0,8}(?:人|孩子|老人)|还(?:没|没有)(?:出来|找到|回来|救出)|还在(?:里面|烧|漏)"
)


def over_or_follow_up(sentence: str) -> bool:
    """Whether a sentence tells of a danger that is over, or follows up a handled case."""
    return bool(_OVER_OR_FOLLOW_UP.search(sentence)) and not _STILL_IN_DANGER.search(sentence)


def _sentence_around(text: str, start: int, end: int, boundary: re.Pattern[str]) -> tuple[int, int]:
    before = [m.end() for m in boundary.finditer(text, 0, start)]
    after = boundary.search(text, end)
    return (before[-1] if before else 0), (after.start() if after else len(text))


@dataclass(frozen=True)
class SafetyRule:
    id: str
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None = None
    # The catalogue's matters this danger is usually one of (a fire: 火灾): what the dispatch
    # leans to when the rule fires and the text alone leaves the model unsure.
    matters: tuple[str, ...] = ()

    def reading(self, text: str) -> bool | None:
        """True: one of the rule's danger words stands in a sentence that neither names an
        exception nor puts it in the past or among the things that keep happening; False:
        its words are there, but every time with an exception beside them; None: not there."""
        matches = list(self.pattern.finditer(text))
        if not matches:
            return None
        return any(self._stands(text, m) for m in matches)

    def fires_on(self, text: str) -> bool:
        return self.reading(text) is True

    def excepted(self, text: str) -> bool:
        return self.reading(text) is False

    def _stands(self, text: str, match: re.Match[str]) -> bool:
        start, end = _sentence_around(text, match.start(), match.end(), _SENTENCE_END)
        sentence = text[start:end]
        if over_or_follow_up(sentence):
            return False
        clause_start, clause_end = _sentence_around(text, match.start(), match.end(), _CLAUSE_END)
        if _NOW.search(text[clause_start:clause_end]):
            # "it burnt last month, and now it smokes again": the clause that says now
            # stands, whatever the rest of its sentence tells of before.
            return self.unless is None or not self.unless.search(text[clause_start:clause_end])
        if self.unless is not None and self.unless.search(sentence):
            return False
        told_before = text[max(start, match.start() - _TIME_REACH) : match.end()]
        return not _BEFORE_OR_OFTEN.search(told_before)


class SafetyNet:
    """Keyword and pattern rules that make a request urgent whatever the model thinks:
    fire, gas, people trapped, collapse, burst mains, violence, people in danger. Recall
    first: a rule errs on the side of urgent; `unless` drops the obvious non-emergencies
    (a question about a fire-safety fee is not a fire)."""

    def __init__(self, rules: Sequence[Mapping[str, Any]], learned: UrgencyModel | None = None) -> None:
        self.rules = [
            SafetyRule(
                r["id"],
                re.compile("|".join(r["patterns"])),
                re.compile("|".join(r["unless"])) if r.get("unless") else None,
                tuple(r.get("matters", ())),
            )
            for r in rules
        ]
        self._matters = {rule.id: frozenset(rule.matters) for rule in self.rules}
        self.learned = learned

    def matters_of(self, rule_id: str | None) -> frozenset[str]:
        """The matters a rule's danger is usually one of (none for the learned model's)."""
        return self._matters.get(rule_id or "", frozenset())

    def told_as_over(self, text: str) -> bool:
        """The text tells of a danger that is over or follows up a handled case (then no
        model makes it urgent; a rule's own sentence is read for it anyway)."""
        return over_or_follow_up(normalise(text))

    @classmethod
    def default(cls) -> SafetyNet:
        """The shipped rules, and a model of urgency learned from the shipped examples."""
        return cls(json.loads(SAFETY_NET_FILE.read_text(encoding="utf-8"))["rules"], UrgencyModel.shipped())

    @classmethod
    def rules_only(cls) -> SafetyNet:
        return cls(json.loads(SAFETY_NET_FILE.read_text(encoding="utf-8"))["rules"])

    def check(self, text: str) -> str | None:
        """The first rule that fires, else the learned model if it is sure enough, or None."""
        lowered = normalise(text)
        excepted = False
        for rule in self.rules:  # each rule read once: this runs on every request
            reading = rule.reading(lowered)
            if reading:
                return rule.id
            excepted = excepted or reading is False
        if excepted or self.learned is None or over_or_follow_up(lowered):
            # a rule's named exception (a tyre leaking air) is not for the model to overrule,
            # nor a danger the caller says is over
            return None
        return LEARNED_URGENCY if self.learned.is_urgent(lowered) else None


LEARNED_URGENCY = "model:urgency"
# Cross-validated on the shipped urgency examples, rules and model together: recall ~94 %,
# precision ~82 %; on bench/eval/dispatch.jsonl (never trained on) it adds ~6 false alarms
# in 368 requests to the rules' one. Lower catches more emergencies and raises more alarms.
URGENCY_THRESHOLD = 0.65


class UrgencyModel:
    """Whether a text describes danger to people now, learned from examples (what callers
    see, smell and hear, and the near-misses that share their words: a past fire, a question
    about a gas bill). Rules name the textbook cases; this catches the descriptions rules
    cannot list. TF-IDF of the same features as dispatch, logistic regression."""

    def __init__(self, pipeline: Pipeline, threshold: float) -> None:
        self.pipeline = pipeline
        self.threshold = threshold
        vectorizer: TfidfVectorizer = pipeline.named_steps["features"]
        model: LogisticRegression = pipeline.named_steps["model"]
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_
        urgent_class = list(model.classes_).index(True)
        sign = 1.0 if urgent_class == 1 else -1.0
        self._coef = sign * model.coef_[0]
        self._intercept = sign * float(model.intercept_[0])

    @classmethod
    def train(
        cls, examples: Sequence[tuple[str, bool, float]], threshold: float = URGENCY_THRESHOLD
    ) -> UrgencyModel:
        vectorizer = TfidfVectorizer(analyzer=features_of, sublinear_tf=True)
        model = LogisticRegression(C=10.0, max_iter=500, class_weight="balanced")
        pipeline = Pipeline([("features", vectorizer), ("model", model)])
        pipeline.fit(
            [normalise(t) for t, _, _ in examples],
            [u for _, u, _ in examples],
            model__sample_weight=np.array([w for _, _, w in examples]),
        )
        return cls(pipeline, threshold)

    @classmethod
    @functools.cache
    def shipped(cls) -> UrgencyModel | None:
        if not URGENCY_EXAMPLES_FILE.exists():
            return None
        return cls.train(shipped_urgency_examples())

    def probability(self, normalised: str) -> float:
        """The pipeline's probability of `True`, read from its vocabulary and coefficients
        (a dictionary look-up per feature, as DispatchModel.probabilities)."""
        values = tfidf_row(self._vocabulary, self._idf, normalised)
        score = self._intercept + (float(values[1] @ self._coef[values[0]]) if values is not None else 0.0)
        return float(1.0 / (1.0 + np.exp(-score)))

    def is_urgent(self, normalised: str) -> bool:
        return self.probability(normalised) >= self.threshold


def shipped_urgency_examples() -> list[tuple[str, bool, float]]:
    """The shipped urgency examples: requests written for it, and the dispatch catalogue's
    own examples (`"source": "catalogue"`, those of matters urgent by nature urgent), for the
    catalogue's ordinary requests are what most requests look like."""
    lines = URGENCY_EXAMPLES_FILE.read_text(encoding="utf-8").splitlines()
    return [(e["text"], bool(e["urgent"]), 1.0) for e in map(json.loads, filter(str.strip, lines))]


# --- features ----------------------------------------------------------------------


def features_of(text: str) -> list[str]:
    """Character 1–3-grams (spaces dropped) and jieba words of a normalised text."""
    return list(_features(text))


# The formulas of an agent's work order (来电人反映……要求尽快处理, 某小区, XX路) say nothing
# about what the request is about. Left in, a model that learns from the centre's history
# (written by agents) takes them as signs of whichever matters its history holds most of, and
# a lost child went to greening. The dispatch model reads the text without them; the safety
# net and the urgency model read it whole (要求紧急处置 is a sign of danger).
_FRAMING = re.compile(
    r"来电(?:人|者)(?:称|表示|反映|咨询|来电)?|来电(?=反映|咨询|称|表示|投诉|求助|询问)"
    r"|(?:市民|群众|居民)?反映[:：]?|诉求(?:内容)?[:：]|工单[:：]"
    r"|(?:要求|请)(?:相关部门|有关部门)?(?:尽快|及时|马上|紧急)?(?:处理|解决|核实)"
    r"|某|xx|ｘｘ"
)


def without_framing(text: str) -> str:
    return _FRAMING.sub(" ", text)


@functools.lru_cache(maxsize=8192)
def _features(text: str) -> tuple[str, ...]:
    # Cached: training folds see the same texts again and again.
    compact = text.replace(" ", "")
    grams = [compact[i : i + n] for n in (1, 2, 3) for i in range(len(compact) - n + 1)]
    return tuple(grams + ["w:" + w for w in words(text)])


def tfidf_row(
    vocabulary: Mapping[str, int], idf: np.ndarray, normalised: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """The text's non-zero TF-IDF entries (sublinear tf, l2-normalised, as the fitted
    TfidfVectorizer computes them): feature indices and values, or None if none is known."""
    counts: dict[int, int] = {}
    for feature in features_of(normalised):
        j = vocabulary.get(feature)
        if j is not None:
            counts[j] = counts.get(j, 0) + 1
    if not counts:
        return None
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    values = (1.0 + np.log(tf)) * idf[idx]
    values /= np.sqrt(values @ values)
    return idx, values
