"""desk commands bookings pauses jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 05:47:15.343115
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('command_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('practitioner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=128), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_command_log_practitioner_id_practitioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_log'))
    )
    with op.batch_alter_table('command_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_command_log_practitioner_id'), ['practitioner_id'], unique=False)

    op.create_table('pauses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('practitioner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_pauses_practitioner_id_practitioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pauses'))
    )
    with op.batch_alter_table('pauses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pauses_practitioner_id'), ['practitioner_id'], unique=False)

    op.create_table('practitioner_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('practitioner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_practitioner_accounts_practitioner_id_practitioners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practitioner_accounts')),
    sa.UniqueConstraint('channel', 'address', name=op.f('uq_practitioner_accounts_channel'))
    )
    with op.batch_alter_table('practitioner_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practitioner_accounts_practitioner_id'), ['practitioner_id'], unique=False)

    op.create_table('bookings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('practitioner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_bookings_client_id_clients')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_bookings_practitioner_id_practitioners')),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_bookings_request_id_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_request', ['request_id'], unique=False)
        batch_op.create_index('uq_bookings_active_slot', ['practitioner_id', 'starts_at'], unique=True, sqlite_where=sa.text("state = 'booked'"), postgresql_where=sa.text("state = 'booked'"))

    op.create_table('scheduled_jobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('practitioner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_scheduled_jobs_client_id_clients')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_scheduled_jobs_practitioner_id_practitioners')),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_scheduled_jobs_request_id_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_jobs')),
    sa.UniqueConstraint('key', name=op.f('uq_scheduled_jobs_key'))
    )
    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_scheduled_jobs_due', ['state', 'due_at'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('flag_reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_clients_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_clients_username'), ['username'], unique=False)

    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notified_position', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('notified_position')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_username'))
        batch_op.drop_index(batch_op.f('ix_clients_phone'))
        batch_op.drop_column('flag_reason')
        batch_op.drop_column('flagged_at')
        batch_op.drop_column('phone')
        batch_op.drop_column('username')

    with op.batch_alter_table('scheduled_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_jobs_due')

    op.drop_table('scheduled_jobs')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('uq_bookings_active_slot', sqlite_where=sa.text("state = 'booked'"), postgresql_where=sa.text("state = 'booked'"))
        batch_op.drop_index('ix_bookings_request')

    op.drop_table('bookings')
    with op.batch_alter_table('practitioner_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practitioner_accounts_practitioner_id'))

    op.drop_table('practitioner_accounts')
    with op.batch_alter_table('pauses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pauses_practitioner_id'))

    op.drop_table('pauses')
    with op.batch_alter_table('command_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_command_log_practitioner_id'))

    op.drop_table('command_log')
