"""Masking recall and false positives on the generated corpus (the figures in changes/pii.md).

    .venv/bin/python -m tests.support.masking_figures [examples per kind, default 3000]

Recall: of the generated phone numbers, ID numbers and e-mail addresses written in each
form inside a colloquial sentence, and the person's own name in each written form, the share
whose full value no longer appears in the masked text. False positives: of ordinary
sentences (dates, times, amounts, house, order and parcel numbers, plates, postcodes), the
share changed at all, and of random digit strings that are not personal numbers, the share
masked.
"""

from __future__ import annotations

import random
import re
import sys
from collections import Counter, defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings

from shared.masking import Person, mask_text, normalise
from tests.support import pii_corpus as corpus


def digits_of(text: str) -> str:
    return re.sub(r"\D", "", normalise(text))


def _collect(strategy: Any, n: int) -> list[Any]:
    samples: list[Any] = []

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(sample: Any) -> None:
        samples.append(sample)

    run()
    return samples


def recall(n: int) -> dict[str, tuple[int, int]]:
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for number, form, text in _collect(corpus.phone_samples(), n):
        hits[form][1] += 1
        hits[form][0] += number not in digits_of(mask_text(text))
    for number, form, text in _collect(corpus.id_samples(), n):
        hits[form][1] += 1
        hits[form][0] += number.upper() not in digits_of(mask_text(text)).upper() + (
            "X" if "X" in number else ""
        )
    for address, form, text in _collect(corpus.email_samples(), n):
        hits[form][1] += 1
        hits[form][0] += address.lower() not in normalise(mask_text(text)).lower().replace("(at)", "@")
    for stored, written, form, text in _collect(corpus.name_samples(), n):
        hits[form][1] += 1
        masked = re.sub(r"\s", "", normalise(mask_text(text, Person(names=(stored,)))))
        hits[form][0] += re.sub(r"\s", "", written) not in masked
    return {k: (v[0], v[1]) for k, v in sorted(hits.items())}


def false_positives(n: int) -> dict[str, tuple[int, int]]:
    rng = random.Random(2026)
    out: dict[str, tuple[int, int]] = {}
    changed = sum(mask_text(t) != t for t in corpus.BENIGN)
    out["ordinary sentences changed"] = (changed, len(corpus.BENIGN))
    # Random digit strings of each length that are no personal number by shape.
    counts: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for _ in range(n):
        length = rng.choice([6, 8, 10, 12, 14, 16, 18, 20])
        first = rng.choice("23456789")  # not a mobile (1…), not a landline (0…)
        number = first + "".join(rng.choice("0123456789") for _ in range(length - 1))
        key = f"random {length}-digit numbers masked"
        totals[key] += 1
        counts[key] += mask_text(f"订单号{number}，请核实") != f"订单号{number}，请核实"
    for key in sorted(totals, key=lambda k: int(k.split()[1].split("-")[0])):
        out[key] = (counts[key], totals[key])
    dates = 0
    for _ in range(n):
        y, m, d = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
        hh, mm = rng.randint(0, 23), rng.randint(0, 59)
        text = rng.choice(
            [
                f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}",
                f"{y}年{m}月{d}日{hh}点",
                f"{y}.{m}.{d}",
                f"{m}/{d}/{y}",
            ]
        )
        dates += mask_text(f"时间是{text}左右") != f"时间是{text}左右"
    out["dates and times masked"] = (dates, n)
    amounts = 0
    for _ in range(n):
        value = rng.choice([f"{rng.randint(1, 99999):,}元", f"¥{rng.randint(1, 9999999) / 100:.2f}"])
        amounts += mask_text(f"共计{value}。") != f"共计{value}。"
    out["amounts masked"] = (amounts, n)
    # A door (building, entrance, flat) is one household's: masked on purpose, counted apart.
    doors = 0
    for _ in range(n):
        door = f"{rng.randint(1, 999)}号楼{rng.randint(1, 30)}单元{rng.randint(101, 3302)}室"
        doors += str(door[-5:-1]) not in mask_text(f"住在{door}。")
    out["doors (building, unit, flat) masked — wanted"] = (doors, n)
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    print(f"Recall (examples per kind: {n}; hypothesis, derandomized)")
    for form, (hit, total) in recall(n).items():
        print(f"  {form:40s} {hit:5d}/{total:<5d} {100 * hit / total:6.2f} %")
    print("False positives")
    for what, (hit, total) in false_positives(n).items():
        print(f"  {what:40s} {hit:5d}/{total:<5d} {100 * hit / total:6.2f} %")


if __name__ == "__main__":
    main()
