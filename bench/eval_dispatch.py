"""`make eval-dispatch`: content-based dispatch measured on bench/eval/dispatch.jsonl, a
labelled set of requests written the way citizens write (never used for training).

1. The model trained on the shipped catalogue only: top-1 / top-3 department accuracy,
   matter accuracy, accuracy of the confident ones, the share sent to the dispatcher's
   queue, urgent recall and precision (safety net + model), a confusion table and the CPU
   time of one classification.
2. Simulated learning: half of the set (fixed seed) goes through as history — the
   department that finally kept each request is its label, as routing learns it — the
   model is retrained, and the other half is measured before and after.

The figures are printed and merged into bench/results.json under "dispatch"."""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.routing.domain.dispatch import (  # noqa: E402
    DispatchModel,
    Example,
    SafetyNet,
    decide,
    history_example,
    shipped_matters,
    threshold_for,
)
from shared.settings import get_settings  # noqa: E402

EVAL = ROOT / "bench" / "eval" / "dispatch.jsonl"
FRESH = ROOT / "bench" / "eval" / "dispatch_fresh.jsonl"
# Written by someone who never saw the code, the catalogue or the other sets. a, b and d
# then showed what the safety net and the catalogue missed and were used to broaden them (by
# kind of phrasing; a and b are also among the urgency model's examples): their figures are
# flattering. c (urgency-heavy), e and f were kept out of every change until 3 December
# 2026, when their urgency misses and false alarms were read to broaden the safety net (by
# kind: a time word, a sentence's own exceptions): their urgency figures flatter since, their
# department figures are still held out.
BLIND = {
    "blind_a (used for changes)": ROOT / "bench" / "eval" / "dispatch_blind_a.jsonl",
    "blind_b (used for changes)": ROOT / "bench" / "eval" / "dispatch_blind_b.jsonl",
    "blind_d (used for changes)": ROOT / "bench" / "eval" / "dispatch_blind_d.jsonl",
    "blind_c (urgency used)": ROOT / "bench" / "eval" / "dispatch_blind_c.jsonl",
    # Agents' work-order notes and phone-typed messages, 5 a matter each (800): written as
    # catalogue examples and kept out instead. Urgency is the matter's own (approximate).
    "blind_e (urgency used)": ROOT / "bench" / "eval" / "dispatch_blind_e.jsonl",
    # 320 requests, 4 a matter, by a writer who saw only the matters' names and descriptions
    # (2 December 2026): elderly callers' stories, angry and typed-on-the-phone messages with
    # homophones, dialect, mixed topics; urgent only where people are in danger now.
    "blind_f (urgency used)": ROOT / "bench" / "eval" / "dispatch_blind_f.jsonl",
    # 320 requests, 64 urgent, by a writer who saw only the matters' codes, names and lead
    # departments (3 December 2026); the kinds of near-miss it was asked for included two the
    # safety net had just learnt (a past leak's aftermath, a low flame). Its department
    # figures are held out; its two urgent misses at first reading were then fixed.
    "blind_g (used for changes)": ROOT / "bench" / "eval" / "dispatch_blind_g.jsonl",
    # 360 requests, 69 urgent, by a writer who saw only the matters' codes, names, one-line
    # descriptions and lead departments, nothing of the code or the other sets (3 December
    # 2026, session 10): very short and long rambling ones, agents' summaries, dialect and
    # typos, symptoms instead of keywords, wrong departments named, past dangers and
    # hypothetical worries. Measured first before any change it could inform.
    "blind_h (used for changes)": ROOT / "bench" / "eval" / "dispatch_blind_h.jsonl",
    # 300 requests, 62 urgent, by another writer who saw only the matters' codes, names,
    # descriptions and lead departments (3 December 2026, after every change of session 10):
    # WeChat shorthand, migrant workers' and shop owners' blunt phrasing, agents' notes of
    # elderly callers with two issues, parents, neighbours; ~30 scary-sounding near-misses.
    # Held out: measured, never used to change anything.
    "blind_i (held out)": ROOT / "bench" / "eval" / "dispatch_blind_i.jsonl",
}
RESULTS = ROOT / "bench" / "results.json"


def load(path: Path = EVAL) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def measure(model: DispatchModel, safety: SafetyNet, items: list[dict[str, Any]]) -> dict[str, Any]:
    settings = get_settings()
    threshold = threshold_for(model, settings.dispatch_confidence_threshold)
    top1 = top3 = matter_ok = confident = confident_ok = queued = 0
    tp = fp = fn = 0
    confusion: Counter[tuple[str, str]] = Counter()
    cpu = 0.0
    for item in items:
        started = time.process_time()
        d = decide(
            model,
            safety,
            item["text"],
            urgent_already=False,
            threshold=threshold,
            urgent_matter_threshold=settings.dispatch_urgent_matter_threshold,
        )
        cpu += time.process_time() - started
        assert d.prediction is not None
        p = d.prediction
        ok = p.department == item["department"]
        top1 += ok
        top3 += item["department"] in [a.department for a in p.alternatives]
        matter_ok += p.matter == item["matter"]
        if p.confidence >= threshold:
            confident += 1
            confident_ok += ok
        queued += d.to_queue
        if not ok:
            confusion[(item["department"], p.department)] += 1
        if d.urgent and item["urgent"]:
            tp += 1
        elif d.urgent:
            fp += 1
        elif item["urgent"]:
            fn += 1
    n = len(items)
    return {
        "requests": n,
        "threshold": threshold,
        "top1_department_accuracy": round(top1 / n, 4),
        "top3_department_accuracy": round(top3 / n, 4),
        "matter_accuracy": round(matter_ok / n, 4),
        "confident_share": round(confident / n, 4),
        "confident_top1_accuracy": round(confident_ok / confident, 4) if confident else None,
        "queued_share": round(queued / n, 4),
        "urgent_recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "urgent_precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "urgent_in_set": tp + fn,
        "cpu_ms_per_classification": round(cpu / n * 1000, 3),
        "misroutes": [{"expected": e, "predicted": p, "count": c} for (e, p), c in confusion.most_common()],
    }


def simulated_learning(safety: SafetyNet, items: list[dict[str, Any]], seed: int = 17) -> dict[str, Any]:
    shuffled = items[:]
    random.Random(seed).shuffle(shuffled)
    half = len(shuffled) // 2
    history_items, rest = shuffled[:half], shuffled[half:]
    matters = shipped_matters()
    base = DispatchModel.train(matters)
    # As routing learns: the department that kept the request, turned into its best matter.
    history: list[Example] = [history_example(base, i["text"], None, i["department"]) for i in history_items]
    learned = DispatchModel.train(matters, history)
    return {
        "history_requests": half,
        "measured_on": len(rest),
        "before": {k: v for k, v in measure(base, safety, rest).items() if k != "misroutes"},
        "after": {k: v for k, v in measure(learned, safety, rest).items() if k != "misroutes"},
    }


def print_report(r: dict[str, Any]) -> None:
    def line(name: str, m: dict[str, Any]) -> None:
        print(
            f"{name:<26} n={m['requests']:<4} top1 {m['top1_department_accuracy']:.1%}  "
            f"top3 {m['top3_department_accuracy']:.1%}  matter {m['matter_accuracy']:.1%}  "
            f"confident {m['confident_share']:.1%} → {m['confident_top1_accuracy'] or 0:.1%}  "
            f"queued {m['queued_share']:.1%}  urgent recall {m['urgent_recall'] or 0:.1%} "
            f"precision {m['urgent_precision'] or 0:.1%}  cpu {m['cpu_ms_per_classification']} ms"
        )

    line("catalogue only", r["catalogue_only"])
    s = r["simulated_learning"]
    line("half as history: before", s["before"])
    line("half as history: after", s["after"])
    print("\nconfusion (expected → predicted: count), catalogue only:")
    for m in r["catalogue_only"]["misroutes"]:
        print(f"  {m['expected']:>16} → {m['predicted']:<16} {m['count']}")


def main() -> None:
    safety = SafetyNet.default()
    items = load()
    started = time.process_time()
    model = DispatchModel.train(shipped_matters())
    train_cpu = time.process_time() - started
    result = {
        "eval_set": str(EVAL.relative_to(ROOT)),
        "train_cpu_seconds": round(train_cpu, 2),
        "catalogue_only": measure(model, safety, items),
        "simulated_learning": simulated_learning(safety, items),
    }
    print_report(result)
    # A second set, written after the model and the catalogue were done and never used to
    # change either: how the dispatch does on phrasings nobody tuned it to.
    fresh = measure(model, safety, [{"matter": None, "category": None, **i} for i in load(FRESH)])
    result["fresh_set"] = {"eval_set": str(FRESH.relative_to(ROOT)), **fresh}
    print(
        f"\nfresh set n={fresh['requests']}  top1 {fresh['top1_department_accuracy']:.1%}"
        f"  top3 {fresh['top3_department_accuracy']:.1%}  queued {fresh['queued_share']:.1%}"
        f"  urgent recall {fresh['urgent_recall']:.1%} precision {fresh['urgent_precision']:.1%}"
    )
    blind: dict[str, Any] = {}
    result["blind_sets"] = blind
    for name, path in BLIND.items():
        m = measure(model, safety, load(path))
        blind[name] = {"eval_set": str(path.relative_to(ROOT)), **m}
        print(
            f"{name:<27} n={m['requests']:<4} top1 {m['top1_department_accuracy']:.1%}"
            f"  top3 {m['top3_department_accuracy']:.1%}  matter {m['matter_accuracy']:.1%}"
            f"  queued {m['queued_share']:.1%}  urgent recall {m['urgent_recall']:.1%}"
            f" precision {m['urgent_precision']:.1%}"
        )
    # Learning from history on the held-out set too: half of it as dispatched history.
    held_out = simulated_learning(safety, load(BLIND["blind_i (held out)"]))
    result["simulated_learning_blind_i"] = held_out
    for when in ("before", "after"):
        m = held_out[when]
        print(
            f"blind_i half as history: {when:<6} n={m['requests']:<4}"
            f" top1 {m['top1_department_accuracy']:.1%}"
            f"  top3 {m['top3_department_accuracy']:.1%}  matter {m['matter_accuracy']:.1%}"
        )
    existing = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    existing["dispatch"] = result
    RESULTS.write_text(json.dumps(existing, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten to {RESULTS} (key: dispatch)")


if __name__ == "__main__":
    main()
