"""Dispatch from what a request says: the dispatch catalogue (派单目录) of matters (事项), a
text classifier trained from the catalogue's examples and the centre's own history, and
the urgency safety net beside it. Pure code: no I/O except reading the shipped data files.

The model predicts a matter; a matter names its lead department, co-handlers and default
category. Confidence is the probability mass of the top *department* (matters of the same
department do not compete with each other for the decision), and the top 3 departments
come with their best matter as the alternatives."""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jieba
import joblib
import numpy as np
from pypinyin import lazy_pinyin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from shared.urgency import (  # noqa: F401  (re-exported: the dispatch's text judgement)
    LEARNED_URGENCY,
    SafetyNet,
    UrgencyModel,
    features_of,
    normalise,
    tfidf_row,
    without_framing,
    words,
)

DATA = Path(__file__).with_name("data")
CATALOGUE_FILE = DATA / "matters.json"
DEPARTMENT_LABEL = "dept:"  # a history label naming only a department that has no matter

jieba.setLogLevel(60)


def matter_text(text: str) -> str:
    """The text as the dispatch model reads it: normalised, without a work order's formulas."""
    return without_framing(normalise(text))


@dataclass(frozen=True)
class Matter:
    code: str
    name: str
    lead: str
    co: tuple[str, ...] = ()
    category: str = "consultation"
    urgent: bool = False
    description: str = ""
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Matter:
        return cls(
            code=d["code"],
            name=d["name"],
            lead=d["lead"],
            co=tuple(d.get("co") or ()),
            category=d.get("category") or "consultation",
            urgent=bool(d.get("urgent")),
            description=d.get("description") or "",
            keywords=tuple(d.get("keywords") or ()),
            examples=tuple(d.get("examples") or ()),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "description": self.description,
            "lead": self.lead,
            "co": list(self.co),
            "category": self.category,
            "urgent": self.urgent,
            "keywords": list(self.keywords),
            "examples": list(self.examples),
        }


def shipped_catalogue() -> dict[str, Any]:
    """The catalogue as shipped (departments it adds and its matters)."""
    data: dict[str, Any] = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return data


def shipped_matters() -> list[Matter]:
    return [Matter.from_dict(m) for m in shipped_catalogue()["matters"]]


# --- the model ---------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # a matter code, or dept:<code>
    weight: float = 1.0


@dataclass(frozen=True)
class Alternative:
    department: str
    matter: str | None
    confidence: float


@dataclass(frozen=True)
class Prediction:
    matter: str | None
    department: str
    co_departments: tuple[str, ...]
    category: str | None
    confidence: float
    alternatives: tuple[Alternative, ...]
    urgent_hint: bool  # the predicted matter is urgent by nature
    urgent_probability: float  # the probability mass of the matters urgent by nature
    matter_confidence: float


@dataclass
class TrainingParams:
    char_ngrams: tuple[int, int] = (1, 3)
    c: float = 20.0
    catalogue_weight: float = 1.0
    keyword_weight: float = 0.6
    history_weight: float = 1.0
    max_iter: int = 300
    tol: float = 1e-3
    calibrate: bool = True
    calibration_folds: int = 4
    calibration_target: float = 0.92


def catalogue_examples(matters: Iterable[Matter], params: TrainingParams | None = None) -> list[Example]:
    """A matter's examples, its keywords (each alone and all together), its name and
    its description: what the catalogue teaches the model."""
    p = params or TrainingParams()
    out: list[Example] = []
    for m in matters:
        out += [Example(e, m.code, p.catalogue_weight) for e in m.examples]
        out += [Example(k, m.code, p.keyword_weight) for k in m.keywords]
        if m.keywords:
            out.append(Example(" ".join(m.keywords), m.code, p.catalogue_weight))
        out.append(Example(f"{m.name} {m.description}", m.code, p.catalogue_weight))
    return out


_LATIN = re.compile(r"[a-z]+")
MIN_PINYIN_LETTERS = 5  # shorter spellings (an, shi, dian) are parts of too many others


def pinyin_index(terms: Iterable[str]) -> dict[str, str]:
    """Each catalogue term by its toneless pinyin (工资 → gongzi), for texts typed in pinyin."""
    index: dict[str, str] = {}
    for term in terms:
        if len(term) < 2 or not all("\u4e00" <= ch <= "\u9fff" for ch in term):
            continue
        spelt = "".join(lazy_pinyin(term))
        if len(spelt) >= MIN_PINYIN_LETTERS:
            index.setdefault(spelt, term)
    return index


def read_pinyin(text: str, index: Mapping[str, str]) -> str:
    """A text typed mostly in pinyin ("gongzi tuoqian 3 ge yue le") with the catalogue terms
    it spells added in characters, so the model reads what the person meant."""
    letters = _LATIN.findall(text)
    joined = "".join(letters)
    if len(joined) < MIN_PINYIN_LETTERS or len(joined) * 2 < len(text.replace(" ", "")):
        return text  # mostly characters: nothing to read
    found = [term for spelt, term in index.items() if spelt in joined]
    return f"{text} {' '.join(found)}" if found else text


class DispatchModel:
    """TF-IDF of character 1–3-grams and jieba words, multinomial logistic regression
    (scikit-learn). Prediction reads the fitted vocabulary, idf and coefficients directly:
    one request costs a dictionary look-up per feature and a small matrix product."""

    def __init__(
        self,
        pipeline: Pipeline,
        matters: Mapping[str, Matter],
        version: int = 0,
        threshold: float | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.matters = dict(matters)
        self.version = version
        # The confidence from which this model's cross-validated department accuracy on the
        # catalogue's own examples reaches the target (see `calibrated_threshold`).
        self.threshold = threshold
        vectorizer: TfidfVectorizer = pipeline.named_steps["features"]
        model: LogisticRegression = pipeline.named_steps["model"]
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_
        self._coef_t = np.ascontiguousarray(model.coef_.T)  # features × classes
        self._intercept = model.intercept_
        classes = [str(c) for c in model.classes_]
        self.classes = classes
        self._dept_of = [self.department_of(c) for c in classes]
        self.departments = sorted(set(self._dept_of))
        index = {d: i for i, d in enumerate(self.departments)}
        self._dept_index = np.array([index[d] for d in self._dept_of])
        self._urgent = np.array([c in self.matters and self.matters[c].urgent for c in classes], dtype=bool)

    def department_of(self, label: str) -> str:
        if label.startswith(DEPARTMENT_LABEL):
            return label.removeprefix(DEPARTMENT_LABEL)
        return self.matters[label].lead

    @classmethod
    def train(
        cls,
        matters: Sequence[Matter],
        history: Sequence[Example] = (),
        params: TrainingParams | None = None,
        version: int = 0,
    ) -> DispatchModel:
        p = params or TrainingParams()
        threshold = calibrated_threshold(matters, history, p) if p.calibrate else None
        model = cls._fit(matters, history, p, version)
        model.threshold = threshold
        return model

    @classmethod
    def _fit(
        cls, matters: Sequence[Matter], history: Sequence[Example], p: TrainingParams, version: int
    ) -> DispatchModel:
        known = {m.code: m for m in matters}
        examples = catalogue_examples(matters, p) + [
            Example(h.text, h.label, h.weight * p.history_weight)
            for h in history
            if h.label in known or h.label.startswith(DEPARTMENT_LABEL)
        ]
        vectorizer = TfidfVectorizer(analyzer=features_of, sublinear_tf=True)
        # saga visits the examples in a random order: a fixed seed makes the same catalogue and
        # history train the same model (a version can be trained again and audited).
        model = LogisticRegression(C=p.c, max_iter=p.max_iter, solver="saga", tol=p.tol, random_state=0)
        pipeline = Pipeline([("features", vectorizer), ("model", model)])
        pipeline.fit(
            [matter_text(e.text) for e in examples],
            [e.label for e in examples],
            model__sample_weight=np.array([e.weight for e in examples]),
        )
        return cls(pipeline, known, version)

    def predict(
        self, text: str, excluded: frozenset[str] = frozenset(), lean: frozenset[str] = frozenset()
    ) -> Prediction:
        """The matter and department for a text; `lean`: matters made LEAN_FACTOR times as
        likely before the choice (those a safety rule that fired names)."""
        return self._prediction(self.probabilities(text), excluded, lean)

    def predict_many(self, texts: Sequence[str], excluded: frozenset[str] = frozenset()) -> list[Prediction]:
        return [self._prediction(self.probabilities(t), excluded) for t in texts]

    @functools.cached_property
    def _labels(self) -> frozenset[str]:
        return frozenset(self.classes)

    @functools.cached_property
    def _pinyin(self) -> dict[str, str]:
        return pinyin_index(k for m in self.matters.values() for k in (*m.keywords, m.name))

    def _read(self, text: str) -> str:
        return read_pinyin(matter_text(text), self._pinyin)

    def probabilities(self, text: str) -> np.ndarray:
        """The same as the pipeline's predict_proba for one text, without its overheads."""
        row = tfidf_row(self._vocabulary, self._idf, self._read(text))
        if row is None:
            scores = self._intercept.copy()
        else:
            idx, values = row
            scores = values @ self._coef_t[idx] + self._intercept
        scores = np.exp(scores - scores.max())
        result: np.ndarray = scores / scores.sum()
        return result

    def knows_any_of(self, text: str) -> bool:
        """Whether any feature of the text is in the vocabulary (else every probability is
        the prior alone: nothing to suggest from)."""
        return any(f in self._vocabulary for f in features_of(self._read(text)))

    def _prediction(
        self, row: np.ndarray, excluded: frozenset[str], lean: frozenset[str] = frozenset()
    ) -> Prediction:
        row = row.copy()
        for i, dept in enumerate(self._dept_of):
            if dept in excluded:
                row[i] = 0.0
        for label in lean & self._labels:  # usually none: only when a safety rule fired
            row[self.classes.index(label)] *= LEAN_FACTOR
        total = row.sum()
        if total > 0:
            row = row / total
        by_dept = np.bincount(self._dept_index, weights=row, minlength=len(self.departments))
        order = [d for d in np.argsort(-by_dept) if self.departments[d] not in excluded][:3]
        if not order:  # every department excluded: nothing to suggest but the first
            order = [int(np.argmax(by_dept))]
        alternatives: list[Alternative] = []
        for d in order:
            members = np.where(self._dept_index == d)[0]
            best = members[np.argmax(row[members])]
            label = self.classes[best]
            alternatives.append(
                Alternative(
                    department=self.departments[d],
                    matter=None if label.startswith(DEPARTMENT_LABEL) else label,
                    confidence=round(float(by_dept[d]), 4),
                )
            )
        top = alternatives[0]
        matter = self.matters.get(top.matter) if top.matter else None
        best_index = self.classes.index(top.matter) if top.matter else 0
        return Prediction(
            matter=top.matter,
            department=top.department,
            co_departments=tuple(d for d in (matter.co if matter else ()) if d not in excluded),
            category=matter.category if matter else None,
            confidence=top.confidence,
            alternatives=tuple(alternatives),
            urgent_hint=bool(matter and matter.urgent),
            urgent_probability=round(float(row[self._urgent].sum()), 4),
            matter_confidence=round(float(row[best_index]), 4) if top.matter else 0.0,
        )

    def best_matter_in(self, text: str, department: str) -> str | None:
        """The matter of `department` this text most resembles (to turn a department-only
        label from the history into a matter)."""
        row = self.probabilities(text)
        members = [i for i, d in enumerate(self._dept_of) if d == department]
        members = [i for i in members if not self.classes[i].startswith(DEPARTMENT_LABEL)]
        if not members:
            return None
        return str(self.classes[max(members, key=lambda i: row[i])])

    def dumps(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(
            {
                "pipeline": self.pipeline,
                "matters": [m.as_dict() for m in self.matters.values()],
                "threshold": self.threshold,
            },
            buffer,
        )
        return buffer.getvalue()

    @classmethod
    def loads(cls, blob: bytes, version: int) -> DispatchModel:
        stored = joblib.load(io.BytesIO(blob))
        matters = {m["code"]: Matter.from_dict(m) for m in stored["matters"]}
        return cls(stored["pipeline"], matters, version, stored.get("threshold"))


def calibrated_threshold(matters: Sequence[Matter], history: Sequence[Example], p: TrainingParams) -> float:
    """Hold out each matter's examples (and the history) fold by fold, train on the rest
    with every keyword kept, and return the lowest confidence from which the held-out
    department accuracy is at least the target: the model's own, honest threshold for
    'confident' (never fitted on any evaluation set)."""
    folds = max(2, p.calibration_folds)
    quick = dataclasses.replace(p, tol=max(p.tol, 1e-2))  # thresholds need no fine optimum
    held: list[tuple[float, bool]] = []
    for k in range(folds):
        train_matters = [
            dataclasses.replace(m, examples=tuple(e for i, e in enumerate(m.examples) if i % folds != k))
            for m in matters
        ]
        test = [(e, m.lead) for m in matters for i, e in enumerate(m.examples) if i % folds == k]
        train_history = [h for i, h in enumerate(history) if i % folds != k]
        model = DispatchModel._fit(train_matters, train_history, quick, 0)
        test += [(h.text, model.department_of(h.label)) for i, h in enumerate(history) if i % folds == k]
        for text, department in test:
            prediction = model.predict(text)
            held.append((prediction.confidence, prediction.department == department))
    held.sort(key=lambda x: -x[0])
    threshold, right = 1.0, 0
    for n, (confidence, ok) in enumerate(held, start=1):
        right += ok
        if right / n >= p.calibration_target:
            threshold = confidence
    return round(threshold, 4)


# --- the decision ------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchDecision:
    """What content-based dispatch concludes for one request."""

    prediction: Prediction | None
    urgent: bool
    urgent_rule: str | None
    to_queue: bool  # below the confidence threshold and not urgent: a dispatcher decides
    review: bool  # urgent but uncertain: sent at once, the dispatcher is told
    alternatives: tuple[Alternative, ...] = field(default_factory=tuple)


DEFAULT_THRESHOLD = 0.35
# How much likelier the matters a fired safety rule names are made (a prior: given a fire is
# described, 火灾 is likelier than the words alone say). The model still wins where it is
# sure of another matter (over LEAN_FACTOR times as likely): a smoking power strip stays a
# product complaint. 3 was better than 10 on the blind sets (10 moved as many right as wrong).
LEAN_FACTOR = 3.0


def threshold_for(model: DispatchModel | None, configured: float | None) -> float:
    """The configured threshold, else the model's calibrated one."""
    if configured is not None:
        return configured
    if model is not None and model.threshold is not None:
        return model.threshold
    return DEFAULT_THRESHOLD


def decide(
    model: DispatchModel | None,
    safety: SafetyNet,
    text: str,
    *,
    urgent_already: bool,
    threshold: float,
    urgent_matter_threshold: float = 0.5,
    excluded: frozenset[str] = frozenset(),
) -> DispatchDecision:
    rule = safety.check(text)
    # A rule that fired names the matters its danger usually is: the model leans to them.
    lean = safety.matters_of(rule)
    prediction = model.predict(text, excluded, lean) if model is not None and text.strip() else None
    urgent_by_model = bool(
        prediction
        and prediction.urgent_probability >= urgent_matter_threshold
        and not safety.told_as_over(text)
    )
    urgent = urgent_already or rule is not None or urgent_by_model
    if rule is None and urgent_by_model and prediction is not None:
        rule = "model:urgent_matters"
    uncertain = prediction is None or prediction.confidence < threshold
    return DispatchDecision(
        prediction=prediction,
        urgent=urgent,
        urgent_rule=rule,
        to_queue=uncertain and not urgent and prediction is not None,
        review=uncertain and urgent and prediction is not None,
        alternatives=prediction.alternatives if prediction else (),
    )


def history_example(
    model: DispatchModel | None, text: str, matter: str | None, department: str, weight: float = 1.0
) -> Example:
    """A request the centre dispatched as a training example: its matter if a person named
    one, else the matter of the department that kept it this text most resembles, else
    the department itself (a department with no matter in the catalogue)."""
    if matter is not None and model is not None and matter in model.matters:
        return Example(text, matter, weight)
    best = model.best_matter_in(text, department) if model is not None else None
    return Example(text, best or f"{DEPARTMENT_LABEL}{department}", weight)
