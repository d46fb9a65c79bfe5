"""practitioner catalogue, dashboard session role

Each practitioner's own catalogue.toml text (None: the deployment's file), and a role on dashboard
sessions: the platform admin's session names no practitioner (before, it named #1).

Admin sessions made before this revision are indistinguishable from #1's rows: they become
practitioner rows the admin login no longer finds (their token hashes are in the admin's own
domain, so /desk never found them either). The admin logs in once more; they expire within 7 days.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ROLE_OWNER = "(role = 'practitioner' AND practitioner_id IS NOT NULL) OR (role = 'admin' AND practitioner_id IS NULL)"


def upgrade() -> None:
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("catalogue", sa.Text(), nullable=True))
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), server_default="practitioner", nullable=False))
        batch_op.alter_column("practitioner_id", existing_type=ID, nullable=True)
        batch_op.create_check_constraint(batch_op.f("ck_dashboard_sessions_role_owner"), ROLE_OWNER)


def downgrade() -> None:
    # An admin session has no practitioner to name under NOT NULL: the admin logs in again.
    op.execute(sa.text("DELETE FROM dashboard_sessions WHERE role = 'admin'"))
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_dashboard_sessions_role_owner"), type_="check")
        batch_op.alter_column("practitioner_id", existing_type=ID, nullable=False)
        batch_op.drop_column("role")
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        batch_op.drop_column("catalogue")
