"""Development API keys for the channel adapters (stored hashed; printed by `make run`)."""

from __future__ import annotations

from typing import Any

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
    for entry in CATALOG:  # a business type already there (any version) is left as it is
        await store.add_first_catalog_version(
            session, {"version": 1, "category": "business", "active": True, **entry}
        )
    for channel in CHANNELS:
        await store.ensure_channel_key(
            session, key_hash=hash_api_key(dev_key(channel)), channel=channel, label="development"
        )
    await seed_articles(session, kb_seed.articles())
    await session.commit()
    return {channel: dev_key(channel) for channel in CHANNELS}
