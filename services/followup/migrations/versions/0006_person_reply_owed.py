"""the reply recorded at resolution (what the person is told) and a return visit owed
after an unsatisfied rating

Revision ID: 0006_person_reply_owed
Revises: followup_outbox_priority
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_person_reply_owed"
down_revision: str | None = "followup_outbox_priority"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("followups", sa.Column("reply", sa.Text()))
    op.add_column(
        "followups", sa.Column("revisit_owed", sa.Boolean(), nullable=False, server_default="false")
    )


def downgrade() -> None:
    op.drop_column("followups", "revisit_owed")
    op.drop_column("followups", "reply")
