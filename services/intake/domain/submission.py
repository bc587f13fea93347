"""The request as submitted (DESIGN §9): every rule a submission must meet, in pure code."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.clock import now
from shared.events.catalogue import Category, Channel, Urgency
from shared.masking import id_check_digit, mask_email, normalise_number
from shared.types import Instant, Strict

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
ALLOWED_CONTROL = {"\n", "\r", "\t"}
CLOCK_SKEW = timedelta(minutes=5)


# Invisible characters that would let "火\u200b灾" slip past the urgent-word rules.
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def _no_control_chars(value: str) -> str:
    """Refuse control characters; normalise (NFC) and drop zero-width characters, so what
    is stored, classified and shown is what a person reads. Emoji and mixed scripts stay."""
    for ch in value:
        if unicodedata.category(ch) == "Cc" and ch not in ALLOWED_CONTROL:
            raise PydanticCustomError("control_characters", "control characters are not allowed")
    return unicodedata.normalize("NFC", value).translate(ZERO_WIDTH)


def _phone(value: str) -> str:
    # １３９ ００００ １１１１, ١٣٩…, 一三九… and 139-0000-1111 are all the same number.
    compact = normalise_number(value)
    if not (MOBILE.match(compact) or LANDLINE.match(compact) or E164.match(compact)):
        raise PydanticCustomError(
            "phone_format", "phone must be a mainland mobile, a landline with area code, or E.164"
        )
    if compact.startswith("0") and "-" in value:
        # A landline written with its area code set apart keeps it so: 010-12345678.
        area = 3 if compact[:3] == "010" or compact[:2] == "02" else 4
        return f"{compact[:area]}-{compact[area:]}"
    return compact


def _id_number(value: str) -> str:
    compact = normalise_number(value)
    if not re.fullmatch(r"\d{17}[\dX]", compact):
        raise PydanticCustomError(
            "id_number_format", "id_number must be 17 digits and a check digit (0-9 or X)"
        )
    if id_check_digit(compact[:17]) != compact[17]:
        raise PydanticCustomError(
            "id_number_check_digit", "id_number's check digit does not match its digits"
        )
    return compact


def normalise_phone(value: str) -> str:
    """A phone number as stored (spaces removed), or PydanticCustomError `phone_format`."""
    return _phone(value)


def _email(value: str) -> str:
    value = unicodedata.normalize("NFKC", value)
    if not EMAIL.match(value):
        raise PydanticCustomError("email_format", "email is not a valid address")
    return value.lower()


# Free text: trimmed, length-limited, and no control characters (tabs and newlines are fine).
NO_CONTROL = AfterValidator(_no_control_chars)


class Location(Strict):
    """Where the problem is: coordinates, an address as people write it, or both."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: Annotated[str, StringConstraints(max_length=500), NO_CONTROL] | None = None

    @model_validator(mode="after")
    def _point_or_address(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise PydanticCustomError("lat_and_lon", "give lat and lon together")
        if self.lat is None and not self.address:
            raise PydanticCustomError("point_or_address", "give lat and lon, an address, or both")
        return self


class Material(Strict):
    code: Annotated[str, StringConstraints(min_length=1, max_length=100), NO_CONTROL]
    name: Annotated[str, StringConstraints(max_length=200), NO_CONTROL] | None = None
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    size: int | None = Field(default=None, ge=0, le=100 * 1024 * 1024)
    media_type: Annotated[str, StringConstraints(max_length=100), NO_CONTROL] | None = None


class Requester(Strict):
    name: Annotated[str, StringConstraints(max_length=100), NO_CONTROL] | None = None
    phone: Annotated[str, Field(max_length=40), AfterValidator(_phone)] | None = None
    email: Annotated[str, Field(max_length=254), AfterValidator(_email)] | None = None
    address: Annotated[str, StringConstraints(max_length=500), NO_CONTROL] | None = None
    id_number: Annotated[str, Field(max_length=40), AfterValidator(_id_number)] | None = None
    # The channel's own way back to the person (a WeChat openid, an app user id, …).
    channel_address: Annotated[str, StringConstraints(min_length=1, max_length=200), NO_CONTROL] | None = None

    def reachable(self) -> bool:
        return bool(self.phone or self.email or self.channel_address)


class Submission(Strict):
    channel: Channel
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200), NO_CONTROL] | None = None
    content: Annotated[str, StringConstraints(min_length=1, max_length=5000), NO_CONTROL]
    title: Annotated[str, StringConstraints(max_length=200), NO_CONTROL] | None = None
    category: Category | None = None
    urgency: Urgency | None = None
    topic: Annotated[str, StringConstraints(min_length=1, max_length=100), NO_CONTROL] | None = None
    area: Annotated[str, StringConstraints(min_length=1, max_length=100), NO_CONTROL] | None = None
    location: Location | None = None
    business_type: Annotated[str, StringConstraints(min_length=1, max_length=100), NO_CONTROL] | None = None
    materials: list[Material] = Field(default_factory=list, max_length=50)
    requester: Requester | None = None
    anonymous: bool = False
    submitted_at: Instant | None = None

    @model_validator(mode="after")
    def _reachable_unless_anonymous(self) -> Submission:
        if not self.anonymous and (self.requester is None or not self.requester.reachable()):
            raise PydanticCustomError(
                "contact_required",
                "a phone, an email or a channel address is required unless the request is anonymous",
                {"field": "requester", "rule": "contact_required"},
            )
        return self

    @field_validator("submitted_at")
    @classmethod
    def _not_in_future(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        """Timestamps may not lie in the future (a little clock skew is tolerated)."""
        current = (info.context or {}).get("now") or now()
        if value is not None and value > current + CLOCK_SKEW:
            raise PydanticCustomError("not_in_future", "submitted_at lies in the future")
        return value


def mask_phone(phone: str) -> str:
    if len(phone) <= 4:
        return "*" * len(phone)
    keep_head = 3 if len(phone) >= 11 else 2
    return phone[:keep_head] + "*" * (len(phone) - keep_head - 4) + phone[-4:]


def contact_masked(requester: Requester | None) -> str | None:
    if requester is None:
        return None
    if requester.phone:
        return mask_phone(requester.phone)
    if requester.email:
        return mask_email(requester.email)
    if requester.channel_address:
        return requester.channel_address[:2] + "***"
    return None


_ID_NUMBER_IN_TEXT = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_LANDLINE_IN_TEXT = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Contact data people write into free text (id number first: it contains digit runs).
CONTACT_PATTERNS = (_ID_NUMBER_IN_TEXT, _MOBILE_IN_TEXT, _LANDLINE_IN_TEXT, _EMAIL_IN_TEXT)


def requester_identity(requester: Requester | None) -> str | None:
    """What identifies the person across requests (for the pseudonymous reference)."""
    if requester is None:
        return None
    for value in (requester.id_number, requester.phone, requester.email, requester.channel_address):
        if value:
            return value.lower()
    return None
