"""Rate-limit windows shared by every Lotse process on the database.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_hits",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("at", sa.Float(), nullable=False))
    op.create_index(op.f("ix_rate_hits_at"), "rate_hits", ["at"])
    op.create_index(op.f("ix_rate_hits_key"), "rate_hits", ["key"])


def downgrade() -> None:
    op.drop_table("rate_hits")
