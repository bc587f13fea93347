"""Development API keys for the channel adapters (stored hashed; printed by `make run`)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import store
from shared.auth import hash_api_key
from shared.events.catalogue import Channel

CHANNELS: tuple[Channel, ...] = (
    "hotline",
    "web",
    "app",
    "wechat",
    "weibo",
    "email",
    "window",
    "letter",
    "open311",
)


def dev_key(channel: str) -> str:
    return f"dev-{channel}-key"


async def seed(session: AsyncSession) -> dict[str, str]:
    for channel in CHANNELS:
        await session.execute(
            pg_insert(store.channel_keys)
            .values(
                key_hash=hash_api_key(dev_key(channel)), channel=channel, label="development", active=True
            )
            .on_conflict_do_nothing()
        )
    await session.commit()
    return {channel: dev_key(channel) for channel in CHANNELS}
