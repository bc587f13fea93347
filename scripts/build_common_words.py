"""Writes shared/data/common_words.txt: the words of jieba's dictionary that begin with a
common surname, have 2–3 characters, are used often and are not names (高烧, 车间, 项目,
安排). The masking reads it to tell 孩子高烧 from 孩子王子轩 without loading jieba in every
service. Run again after upgrading jieba: `.venv/bin/python -m scripts.build_common_words`."""

from __future__ import annotations

from pathlib import Path

import jieba

from shared.masking import COMMON_SURNAMES

MIN_FREQUENCY = 10
OUT = Path(__file__).resolve().parents[1] / "shared" / "data" / "common_words.txt"


def main() -> None:
    dictionary = Path(jieba.__file__).with_name("dict.txt")
    words = []
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        word, frequency, tag = line.split()
        if (
            2 <= len(word) <= 3
            and word[0] in COMMON_SURNAMES
            and int(frequency) >= MIN_FREQUENCY
            and not tag.startswith("nr")
        ):
            words.append(word)
    header = f"# built by scripts/build_common_words.py from jieba {jieba.__version__}'s dictionary\n"
    OUT.write_text(header + "\n".join(sorted(set(words))) + "\n", encoding="utf-8")
    print(f"{len(words)} words → {OUT}")


if __name__ == "__main__":
    main()
