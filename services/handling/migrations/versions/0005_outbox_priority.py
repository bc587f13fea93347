"""outbox priority (urgent requests' first events go first)

Revision ID: handling_outbox_priority
Revises: c7bdf46d3c94
"""

from collections.abc import Sequence

from shared.migration_ops import add_outbox_priority, drop_outbox_priority

revision: str = "handling_outbox_priority"
down_revision: str | None = "c7bdf46d3c94"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_priority()


def downgrade() -> None:
    drop_outbox_priority()
