"""Every department the organisation is seeded with has a name people read, in Chinese and
in English: a notification never shows a code such as "public_security"."""

from __future__ import annotations

from services.routing.seed import DEPARTMENTS
from shared.texts import DEPARTMENT_NAMES, department_name


def test_every_seeded_department_has_a_name_in_both_languages() -> None:
    for department in DEPARTMENTS:
        code = str(department["code"])
        assert code in DEPARTMENT_NAMES, code
        assert department_name(code, "zh") != code and DEPARTMENT_NAMES[code]["en"].strip()
        seeded = str(department["name"]).replace(" ", "")
        assert seeded.startswith(department_name(code, "zh").replace(" ", "")), (code, seeded)
