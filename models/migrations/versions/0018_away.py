"""委托: an officer's away periods, with the colleague who handles their work meanwhile

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'away_periods',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('delegate_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('applied_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('cancelled_at', models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_away_periods_created_by_id_users')),
        sa.ForeignKeyConstraint(['delegate_id'], ['users.id'], name=op.f('fk_away_periods_delegate_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_away_periods_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_away_periods')),
    )
    op.create_index('ix_away_periods_user_dates', 'away_periods', ['user_id', 'starts_on', 'ends_on'])
    op.create_index('ix_away_periods_delegate', 'away_periods', ['delegate_id', 'starts_on'])


def downgrade() -> None:
    op.drop_index('ix_away_periods_delegate', table_name='away_periods')
    op.drop_index('ix_away_periods_user_dates', table_name='away_periods')
    op.drop_table('away_periods')
