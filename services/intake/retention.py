"""Personal-data retention: requests closed longer ago than the retention period lose their
personal data (the requester, contact data in the text, uploaded materials, message
destinations). The pseudonymous reference stays, so KPIs do not change."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from services.intake import store
from shared.background import run_every
from shared.clock import now
from shared.events.catalogue import RequestPersonalDataPurged
from shared.events.envelope import SYSTEM
from shared.masking import Person, mask_text
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)
PURGED_FIELDS = [
    "requester",
    "contact_masked",
    "title",
    "content",
    "location.address",
    "materials",
    "notifications",
]
PURGE_BATCH = 500


async def purge(runtime: ServiceRuntime, at: datetime | None = None) -> int:
    """Anonymise one batch of expired requests; returns how many."""
    cutoff = (at or now()) - timedelta(days=runtime.settings.personal_data_retention_days)
    async with runtime.uow() as uow:
        rows = await store.claim_expired_requests(uow.session, cutoff, PURGE_BATCH)
        for row in rows:
            person = Person.of(row["requester"])
            location = dict(row["location"] or {})
            location.pop("address", None)
            hashes = [m["sha256"] for m in row["materials"] or [] if m.get("sha256")]
            await store.anonymise_request(
                uow.session,
                row["id"],
                {
                    "requester": None,
                    "contact_masked": None,
                    "title": mask_text(row["title"], person) if row["title"] else None,
                    "content": mask_text(row["content"], person),
                    "topic": mask_text(row["topic"], person) if row["topic"] else None,
                    "area": mask_text(row["area"], person) if row["area"] else None,
                    "location": location or None,
                    "materials": [{"code": m["code"]} for m in row["materials"] or []],
                    "purged_at": now(),
                },
            )
            if hashes:
                await store.delete_materials(uow.session, hashes)
            await store.clear_notification_destinations(uow.session, row["id"])
            uow.emit(
                RequestPersonalDataPurged(fields=PURGED_FIELDS, closed_at=row["closed_at"]),
                request_id=row["id"],
                actor=SYSTEM,
            )
        await uow.commit()
    return len(rows)


async def retention_job(runtime: ServiceRuntime) -> None:
    """Background job of the intake service: purge what is due, every hour."""

    async def purge_due() -> None:
        while await purge(runtime) == PURGE_BATCH:
            pass

    await run_every(3600, purge_due, log=log, failure="personal-data purge failed; retrying")
