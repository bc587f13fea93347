"""Intake's own check of a channel adapter's API key: the key table, with each answer kept a
few seconds so a busy adapter does not cost a database round trip per request.

Only known keys are kept (a new key works at once); revoking a key through this process
forgets everything it kept, and another intake replica stops honouring it within the TTL.
"""

from __future__ import annotations

import time

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake import store
from shared.auth import Principal, hash_api_key


class ChannelKeys:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_seconds: float) -> None:
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._known: dict[str, tuple[float, Principal]] = {}

    async def __call__(self, request: Request, key: str) -> Principal | None:
        digest = hash_api_key(key)
        clock = time.monotonic()
        kept = self._known.get(digest)
        if kept is not None and kept[0] > clock:
            return kept[1]
        async with self._sessions() as session:
            channel = await store.channel_for_key(session, digest)
        if channel is None:
            self._known.pop(digest, None)
            return None
        principal = Principal(kind="channel", id=channel, role="channel")
        if self._ttl > 0:
            self._known[digest] = (clock + self._ttl, principal)
        return principal

    def forget(self) -> None:
        self._known.clear()
