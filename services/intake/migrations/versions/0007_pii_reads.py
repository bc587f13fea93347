"""personal-data reads say what was read (the requester's data or the request's full text)

Revision ID: 0007_pii_reads
Revises: intake_outbox_priority
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_pii_reads"
down_revision: str | None = "0008_scale_intake_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "personal_data_reads",
        sa.Column("what", sa.String(20), nullable=False, server_default="requester"),
    )
    op.create_index("ix_personal_data_reads_at", "personal_data_reads", ["at"])
    op.create_index("ix_personal_data_reads_reader_id", "personal_data_reads", ["reader_id"])


def downgrade() -> None:
    op.drop_index("ix_personal_data_reads_reader_id", "personal_data_reads")
    op.drop_index("ix_personal_data_reads_at", "personal_data_reads")
    op.drop_column("personal_data_reads", "what")
