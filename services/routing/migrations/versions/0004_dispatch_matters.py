"""dispatch catalogue (matters and their versions), dispatch models, training labels, the
dispatcher's queue; the matter and the decider on routes and assignments

Revision ID: 0004_dispatch_matters
Revises: routing_outbox_priority
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_dispatch_matters"
down_revision: str | None = "0004_scale_routing_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    for table in ("routes", "assignments"):
        op.add_column(table, sa.Column("matter", sa.String(100), nullable=True))
        op.add_column(table, sa.Column("decided_by", sa.String(20), nullable=True))
    op.create_table(
        "matters",
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000), server_default="", nullable=False),
        sa.Column("lead_department", sa.String(50), nullable=False),
        sa.Column("co_departments", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("urgent", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("keywords", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("examples", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_department"], ["departments.code"], name=op.f("fk_matters_lead_department_departments")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_matters")),
    )
    op.create_table(
        "matter_versions",
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("snapshot", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("code", "version", name=op.f("pk_matter_versions")),
    )
    op.create_table(
        "dispatch_models",
        sa.Column("version", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("trained_at", TZ, nullable=False),
        sa.Column("trained_by", sa.String(100), nullable=False),
        sa.Column("catalogue_matters", sa.Integer(), nullable=False),
        sa.Column("history_labels", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_dispatch_models")),
    )
    op.create_table(
        "dispatch_labels",
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("text", sa.String(6000), nullable=False),
        sa.Column("matter", sa.String(100), nullable=True),
        sa.Column("department", sa.String(50), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_dispatch_labels")),
    )
    op.create_table(
        "dispatch_queue",
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("text", sa.String(6000), nullable=False),
        sa.Column("suggestions", postgresql.JSONB(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("queued_at", TZ, nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("lead_department", sa.String(50), nullable=True),
        sa.Column("co_departments", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("matter", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_dispatch_queue")),
    )
    op.create_index(op.f("ix_dispatch_queue_state"), "dispatch_queue", ["state", "queued_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dispatch_queue_state"), table_name="dispatch_queue")
    for table in ("dispatch_queue", "dispatch_labels", "dispatch_models", "matter_versions", "matters"):
        op.drop_table(table)
    for table in ("assignments", "routes"):
        op.drop_column(table, "decided_by")
        op.drop_column(table, "matter")
