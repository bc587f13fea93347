"""The broker's place in the fast tests (tests/fast): an in-memory event bus.

The services' own outbox relays publish into it (it implements the one producer call the
relay makes, `send(topic, value=, key=, headers=)`), and `settle()` hands every message to
the inbox processors subscribed to its topic — the services' real consumers' handlers, in
their real units of work on the real database — until nothing new is published. Nothing
else is stood in for: the outbox rows, the inbox's once-only record and the handlers are the
ones the platform runs; only the broker between them is a list in memory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.db import outbox_table
from shared.inbox import InboxProcessor
from shared.outbox import OutboxRelay
from shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.value)
        return payload


class DeadLettered(AssertionError):
    """A handler kept failing on a message: the fast test fails with its error."""


class MemoryBus:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._relays: list[OutboxRelay] = []
        self._subscribers: dict[str, list[InboxProcessor]] = {}
        self._delivered = 0

    # --- the producer side (what OutboxRelay.publish_pending calls) -------------------------
    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> asyncio.Future[None]:
        self.messages.append(Message(topic, key, value, tuple(headers)))
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sent.set_result(None)
        return sent

    # --- wiring --------------------------------------------------------------------------
    def attach(self, runtime: ServiceRuntime, *, consume: bool = True) -> None:
        """Publish what `runtime` commits; with `consume`, feed its consumer's handlers the
        events of its lifecycle topic (the main consumer group; fast lanes are the same
        handlers on fewer events)."""
        s = runtime.settings
        self._relays.append(
            OutboxRelay(
                service=runtime.name,
                sessions=runtime.sessions,
                outbox=outbox_table(runtime.metadata),
                producer=self,  # stands in for the AIOKafkaProducer: `send` is all the relay calls
                bootstrap="memory",
                topics=[s.lifecycle_topic, s.notifications_topic, s.dlq_topic],
                partitions=1,
            )
        )
        if consume and runtime.handlers:
            self._subscribers.setdefault(s.lifecycle_topic, []).append(runtime.processor())

    # --- delivery ------------------------------------------------------------------------
    async def settle(self, max_rounds: int = 100) -> None:
        """Publish every committed event and deliver it, again and again, until no handler
        raises anything new. A message a handler dead-letters fails the test."""
        for _ in range(max_rounds):
            for relay in self._relays:
                while await relay.publish_pending():
                    pass
            if self._delivered == len(self.messages):
                return
            while self._delivered < len(self.messages):
                message = self.messages[self._delivered]
                self._delivered += 1
                for processor in self._subscribers.get(message.topic, []):
                    outcome, error, _ = await processor.process(message.value)
                    if outcome == "dead_letter":
                        raise DeadLettered(f"{message.payload.get('type')}: {error}")
        raise AssertionError(f"events still flowing after {max_rounds} rounds")

    def on(self, topic: str, request_id: str | None = None) -> list[dict[str, Any]]:
        """The payloads published on `topic` (for one request), in order."""
        return [
            m.payload
            for m in self.messages
            if m.topic == topic and (request_id is None or m.payload.get("request_id") == request_id)
        ]
