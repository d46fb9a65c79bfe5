"""telegram business

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('business_connections',
    sa.Column('id', ID, nullable=False),
    sa.Column('practitioner_id', ID, nullable=False),
    sa.Column('connection_id', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('user_chat_id', sa.BigInteger(), nullable=False),
    sa.Column('can_reply', sa.Boolean(), nullable=False),
    sa.Column('rights', sa.JSON(), nullable=True),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('opening_hours', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_business_connections_practitioner_id_practitioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_connections')),
    sa.UniqueConstraint('connection_id', name=op.f('uq_business_connections_connection_id'))
    )
    with op.batch_alter_table('business_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_business_connections_practitioner_id'), ['practitioner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_business_connections_user_id'), ['user_id'], unique=False)

    op.create_table('business_chats',
    sa.Column('id', ID, nullable=False),
    sa.Column('practitioner_id', ID, nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('connection_id', sa.String(length=128), nullable=False),
    sa.Column('last_client_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_business_chats_practitioner_id_practitioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_chats')),
    sa.UniqueConstraint('practitioner_id', 'address', name=op.f('uq_business_chats_practitioner_id'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_connection_id', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('business_connection_id')
    op.drop_table('business_chats')
    with op.batch_alter_table('business_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_business_connections_user_id'))
        batch_op.drop_index(batch_op.f('ix_business_connections_practitioner_id'))
    op.drop_table('business_connections')
