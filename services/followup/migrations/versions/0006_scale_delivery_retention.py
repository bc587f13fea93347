"""outbox and inbox indexes for pruning delivered rows by age

Revision ID: 0006_scale_followup_retention
Revises: followup_outbox_priority
"""

from collections.abc import Sequence

from shared.migration_ops import add_delivery_retention_indexes, drop_delivery_retention_indexes

revision: str = "0006_scale_followup_retention"
down_revision: str | None = "0006_person_reply_owed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_delivery_retention_indexes()


def downgrade() -> None:
    drop_delivery_retention_indexes()
