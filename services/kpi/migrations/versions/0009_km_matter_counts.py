"""counts per matter (事项) x department x measure x day, for the KPI figures by matter

Revision ID: km_0009_matter_counts
Revises: 0008_hot_matter
"""

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "km_0009_matter_counts"
down_revision: str | None = "0008_hot_matter"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "matter_counts",
        sa.Column("matter", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=50), nullable=False),
        sa.Column("measure", sa.String(length=50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("matter", "department", "measure", "day", name=op.f("pk_matter_counts")),
    )
    op.create_index(
        "ix_matter_counts_day",
        "matter_counts",
        ["department", "day", "matter", "measure"],
        postgresql_include=["n"],
    )
    _backfill()


def _backfill() -> None:
    """Count the fact rows already folded under a matter (the write path's own code), a
    part at a time in key order."""
    from services.kpi import store

    bind = op.get_bind()
    facts = sa.Table("facts", sa.MetaData(), autoload_with=bind)
    total: Counter[tuple[str, str, str, object]] = Counter()
    after = ""
    while True:
        part = (
            bind.execute(
                sa.select(facts)
                .where(facts.c.request_id > after, facts.c.matter.is_not(None))
                .order_by(facts.c.request_id)
                .limit(5000)
            )
            .mappings()
            .all()
        )
        if not part:
            break
        total.update(store.count_matters(dict(r) for r in part))
        after = part[-1]["request_id"]
    rows = [
        {"matter": m, "department": d, "measure": measure, "day": day, "n": n}
        for (m, d, measure, day), n in sorted(total.items())
        if n
    ]
    for start in range(0, len(rows), 5000):
        bind.execute(postgresql.insert(store.matter_counts), rows[start : start + 5000])


def downgrade() -> None:
    op.drop_index("ix_matter_counts_day", table_name="matter_counts")
    op.drop_table("matter_counts")
