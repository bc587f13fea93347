from shared.events.catalogue import (
    CATALOGUE,
    EVENT_CLASSES,
    EventData,
    InvalidEvent,
    UnknownEventType,
    decode,
    event_model,
)
from shared.events.envelope import SYSTEM, Actor, Envelope, new_envelope

__all__ = [
    "CATALOGUE",
    "EVENT_CLASSES",
    "SYSTEM",
    "Actor",
    "Envelope",
    "EventData",
    "InvalidEvent",
    "UnknownEventType",
    "decode",
    "event_model",
    "new_envelope",
]
