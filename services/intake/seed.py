"""Development API keys for the channel adapters (stored hashed; printed by `make run`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import kb_seed, store
from services.intake.knowledge import seed_articles
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


CATALOG: list[dict[str, Any]] = [
    {
        "code": "residence_permit",
        "name": "居住证办理 (residence permit)",
        "deadline_class": "business",
        "materials": [
            {
                "code": "id_card",
                "name": "身份证",
                "mandatory": True,
                "media_types": ["image/jpeg", "application/pdf"],
                "max_size": 5_000_000,
            },
            {"code": "lease", "name": "租赁合同或房产证明", "mandatory": True},
            {"code": "photo", "name": "近期免冠照片", "mandatory": True, "media_types": ["image/jpeg"]},
        ],
    },
    {
        "code": "business_license",
        "name": "个体工商户营业执照 (sole-trader licence)",
        "deadline_class": "business",
        "materials": [
            {"code": "id_card", "name": "经营者身份证", "mandatory": True},
            {"code": "premises", "name": "经营场所证明", "mandatory": True},
        ],
    },
]


async def seed(session: AsyncSession) -> dict[str, str]:
    for entry in CATALOG:
        exists = await session.scalar(
            select(store.catalog.c.code).where(store.catalog.c.code == entry["code"])
        )
        if exists is None:
            await session.execute(
                insert(store.catalog).values(version=1, category="business", active=True, **entry)
            )
    for channel in CHANNELS:
        await session.execute(
            pg_insert(store.channel_keys)
            .values(
                key_hash=hash_api_key(dev_key(channel)),
                key_id=hash_api_key(dev_key(channel))[:16],
                channel=channel,
                label="development",
                active=True,
            )
            .on_conflict_do_nothing()
        )
    await seed_articles(session, kb_seed.articles())
    await session.commit()
    return {channel: dev_key(channel) for channel in CHANNELS}
