"""an index for the accountability list's pages (newest flag first)

Revision ID: km_0010_flags_newest
Revises: km_0009_matter_counts
"""

from collections.abc import Sequence

from alembic import op

revision: str = "km_0010_flags_newest"
down_revision: str | None = "km_0009_matter_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_flags_newest", "flags", ["flagged_at", "department", "period"])


def downgrade() -> None:
    op.drop_index("ix_flags_newest", table_name="flags")
