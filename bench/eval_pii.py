"""`make eval-pii`: how much personal data written into free text survives the masking, on
`bench/eval/pii_blind.jsonl` (written by someone who never saw the masking code or its tests:
each request with the exact strings that identify or reach a person, and the requester's own
form fields where given), and how often text with no personal data is changed. Measured blind
first (95.0 %: 246 of 259; 0 of 44 clean texts changed); what it found missing was then
added by kind (numbers split by commas, 艾特/点 and (at)(dot) e-mails, QQ in Chinese numerals,
WeChat ids written "WeChat ID:", names introduced as 户名/她叫/联系我女儿, Latin names), so
its figure now flatters.

A string survives when, after masking, its letters and digits (separators and spaces
dropped, full-width and Chinese numerals read as digits) still appear in a row in the text.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.masking import Person, mask_text, normalise_number  # noqa: E402

EVAL = ROOT / "bench" / "eval" / "pii_blind.jsonl"
# A second blind set (2 December 2026): 200 requests by a writer who saw neither the code nor
# the first set, with third parties' names, plates, doors, documents and accounts. Measured
# blind first (72.9 %: 167 of 229); what it found missing was then added by kind, so it
# flatters too. Its writer counts plates and doors as personal, the first set's did not; the
# masking follows the second (docs/personal-data.md), so three of the first set's "clean"
# texts (plates) are changed.
SECOND = ROOT / "bench" / "eval" / "pii_blind_2.jsonl"
RESULTS = ROOT / "bench" / "results.json"
_KEEP = re.compile(r"[0-9A-Za-z\u4e00-\u9fff@]")


def _compact(text: str) -> str:
    return "".join(_KEEP.findall(normalise_number(text).lower()))


def measure(items: list[dict[str, Any]]) -> dict[str, Any]:
    found = survived = 0
    benign = changed = 0
    leaks: list[dict[str, str]] = []
    for item in items:
        masked = mask_text(item["text"], Person.of(item.get("person")))
        if not item["pii"]:
            benign += 1
            if masked != item["text"]:
                changed += 1
                leaks.append({"benign_changed": item["text"], "masked": masked})
            continue
        compact = _compact(masked)
        for pii in item["pii"]:
            found += 1
            if _compact(pii) and _compact(pii) in compact:
                survived += 1
                leaks.append({"survived": pii, "masked": masked})
    return {
        "requests": len(items),
        "personal_strings": found,
        "masked": found - survived,
        "recall": round((found - survived) / found, 4) if found else None,
        "benign_requests": benign,
        "benign_changed": changed,
        "failures": leaks,
    }


def main() -> None:
    existing = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    for key, path in (("pii_masking", EVAL), ("pii_masking_second_set", SECOND)):
        items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        result = measure(items)
        print(
            f"{path.name}: personal strings {result['personal_strings']}: masked {result['masked']} "
            f"(recall {result['recall']:.1%}); texts without personal data changed: "
            f"{result['benign_changed']} of {result['benign_requests']}"
        )
        for failure in result["failures"]:
            print("  ", json.dumps(failure, ensure_ascii=False))
        existing[key] = {k: v for k, v in result.items() if k != "failures"}
    RESULTS.write_text(json.dumps(existing, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
