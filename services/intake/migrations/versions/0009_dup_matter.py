"""the matter (事项) routing dispatched a request under, for likely-duplicate suggestions

Revision ID: 0009_dup_matter
Revises: 0007_pii_reads
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_dup_matter"
down_revision: str | None = "0007_pii_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("requests", sa.Column("matter", sa.String(100)))
    op.create_index("ix_requests_matter_received", "requests", ["matter", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_requests_matter_received", table_name="requests")
    op.drop_column("requests", "matter")
