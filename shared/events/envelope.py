"""The event envelope of DESIGN §3: every event on every topic is one of these."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ActorKind = Literal["staff", "requester", "system", "channel"]


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ActorKind
    id: str = Field(min_length=1, max_length=200)


SYSTEM = Actor(kind="system", id="system")


class Envelope(BaseModel):
    """Envelope with the payload still untyped; `shared.events.catalogue.decode` types it."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    type: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    request_id: str = Field(min_length=1, max_length=100)
    occurred_at: AwareDatetime
    producer: str = Field(min_length=1, max_length=50)
    causation_id: uuid.UUID | None = None
    correlation_id: str = Field(min_length=1, max_length=200)
    actor: Actor
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


def new_envelope(
    *,
    type: str,
    version: int,
    request_id: str,
    producer: str,
    actor: Actor,
    data: dict[str, Any],
    occurred_at: datetime,
    causation_id: uuid.UUID | None = None,
    correlation_id: str | None = None,
) -> Envelope:
    event_id = uuid.uuid4()
    return Envelope(
        id=event_id,
        type=type,
        version=version,
        request_id=request_id,
        occurred_at=occurred_at,
        producer=producer,
        causation_id=causation_id,
        correlation_id=correlation_id or str(event_id),
        actor=actor,
        data=data,
    )
