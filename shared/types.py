"""The string, number and time types of the API layer: what is out of range is refused at
the edge with a 422 naming the field, never passed on for the database or the datetime
arithmetic to fail with a 500.

- `Instant`: an aware datetime whose UTC value lies in MIN_YEAR..MAX_YEAR (a request was
  not submitted in year 1, and 9999-12-31T23:00-08:00 is not in year 9999 in UTC).
- `Int32`, `Int64`: what an INTEGER / BIGINT column holds.
- `check_year`: the same bounds for labels (KPI periods) and dates parsed by hand.
- `Strict`: the base of every request body: unknown fields refused, strings trimmed.
NUL characters anywhere in a request are refused before any route by shared.guard.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

MIN_YEAR = 1970
MAX_YEAR = 2200


def _bounded_instant(value: datetime) -> datetime:
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PydanticCustomError(
            "datetime_range",
            "the instant must lie between the years {min} and {max}",
            {"min": MIN_YEAR, "max": MAX_YEAR},
        )
    return value


def _bounded_date(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise PydanticCustomError(
            "date_range",
            "the date must lie between the years {min} and {max}",
            {"min": MIN_YEAR, "max": MAX_YEAR},
        )
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_bounded_instant)]
Day = Annotated[date, AfterValidator(_bounded_date)]
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
PositiveInt32 = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Strict(BaseModel):
    """A request body: unknown fields are refused; strings are trimmed before their length
    is checked."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def year_in_range(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def instant_in_range(value: datetime) -> bool:
    try:
        _bounded_instant(value)
    except PydanticCustomError:
        return False
    return True
