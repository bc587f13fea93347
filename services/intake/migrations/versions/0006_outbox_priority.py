"""outbox priority (urgent requests' first events go first)

Revision ID: intake_outbox_priority
Revises: 541c8768290b
"""

from collections.abc import Sequence

from shared.migration_ops import add_outbox_priority, drop_outbox_priority

revision: str = "intake_outbox_priority"
down_revision: str | None = "541c8768290b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_priority()


def downgrade() -> None:
    drop_outbox_priority()
