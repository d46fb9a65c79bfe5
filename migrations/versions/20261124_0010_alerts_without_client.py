"""alerts without client

An alert about the practice as a whole (the morning digest) names no client.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column("client_id", existing_type=ID, nullable=True)


def downgrade() -> None:
    # Alerts about no client cannot be kept under NOT NULL; they were copies of pushes she got anyway.
    op.execute(sa.text("DELETE FROM alerts WHERE client_id IS NULL"))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column("client_id", existing_type=ID, nullable=False)
