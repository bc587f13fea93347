"""Types for the answers' models (a route's `response_model`), so that declaring a model
does not change what a route answered before it had one.

FastAPI encodes an answer without a model with `jsonable_encoder` (a datetime as
`isoformat()`: `+00:00`); through a model, pydantic writes UTC as `Z`. `Moment` keeps the
`isoformat()` form, and `Free` (a free-form object) is encoded as before, datetimes inside
it included."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi.encoders import jsonable_encoder
from pydantic import PlainSerializer, WithJsonSchema


def _iso(value: datetime) -> str:
    return value.isoformat()


Moment = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Free = Annotated[
    dict[str, Any],
    PlainSerializer(jsonable_encoder, return_type=Any, when_used="json"),
    WithJsonSchema({"type": "object", "additionalProperties": True}),
]
