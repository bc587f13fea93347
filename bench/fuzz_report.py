"""`make fuzz`: the schema-driven fuzzer's counts (tests/e2e/test_fuzz.py, one JSON line per
service in the report it wrote) merged into bench/results.json under "fuzz"."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"


def summarise(lines: list[str]) -> dict[str, Any]:
    per_service = {row["service"]: row for row in (json.loads(line) for line in lines if line.strip())}
    total = {
        key: sum(row[key] for row in per_service.values())
        for key in ("operations", "calls", "answered_5xx", "not_as_documented")
    }
    return {"total": total, "services": per_service}


def main(report: str) -> None:
    summary = summarise(Path(report).read_text(encoding="utf-8").splitlines())
    existing = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    existing["fuzz"] = summary
    RESULTS.write_text(json.dumps(existing, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    t = summary["total"]
    print(
        f"fuzz: {t['operations']} operations, {t['calls']} calls, {t['answered_5xx']} answered 5xx, "
        f"{t['not_as_documented']} not as documented"
    )


if __name__ == "__main__":
    main(sys.argv[1])
