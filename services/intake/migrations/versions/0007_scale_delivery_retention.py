"""outbox and inbox indexes for pruning delivered rows by age

Revision ID: 0007_scale_intake_retention
Revises: intake_outbox_priority
"""

from collections.abc import Sequence

from shared.migration_ops import add_delivery_retention_indexes, drop_delivery_retention_indexes

revision: str = "0007_scale_intake_retention"
down_revision: str | None = "0007_console_requester_lookup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_delivery_retention_indexes()


def downgrade() -> None:
    drop_delivery_retention_indexes()
