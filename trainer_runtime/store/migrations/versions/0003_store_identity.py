"""store identity and job listing indexes

``store_meta`` holds the store's id (written by ``store.identity`` on first start, mirrored in
the data dir's ``store.json``). The job list reads jobs in creation order, all or by state:
``(state, created_at)`` replaces the index on ``state`` alone, and ``created_at`` gets its own.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_state")
        batch_op.create_index("ix_jobs_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_jobs_state_created_at", ["state", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_state_created_at")
        batch_op.drop_index("ix_jobs_created_at")
        batch_op.create_index("ix_jobs_state", ["state"], unique=False)
    op.drop_table("store_meta")
