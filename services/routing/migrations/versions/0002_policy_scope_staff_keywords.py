"""SLA policy scope and warning fraction, staff directory, request text for keyword rules

Revision ID: 0002_policy_scope_staff
Revises: 56b104aaec3f
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_policy_scope_staff"
down_revision: str | None = "56b104aaec3f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("sla_policies", "category", new_column_name="scope", type_=sa.String(120))
    op.add_column(
        "sla_policies", sa.Column("warning_fraction", sa.Float(), server_default="0.8", nullable=False)
    )
    op.add_column("routes", sa.Column("text", sa.String(6000), nullable=True))
    op.create_table(
        "staff",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department", sa.String(50), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.ForeignKeyConstraint(
            ["department"], ["departments.code"], name=op.f("fk_staff_department_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
    )


def downgrade() -> None:
    op.drop_table("staff")
    op.drop_column("routes", "text")
    op.drop_column("sla_policies", "warning_fraction")
    op.alter_column("sla_policies", "scope", new_column_name="category", type_=sa.String(20))
