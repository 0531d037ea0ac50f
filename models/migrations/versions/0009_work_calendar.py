"""the working-day calendar: holidays and make-up working days (调休) entered by administrators for a
year the calendar library does not cover (or as a correction), and the years so confirmed

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendar_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('entered_by_id', sa.Integer(), nullable=False),
        sa.Column('entered_at', models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f('ck_calendar_days_kind_known')),
        sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'],
                                name=op.f('fk_calendar_days_entered_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_days')),
        sa.UniqueConstraint('day', name=op.f('uq_calendar_days_day')),
    )
    op.create_table(
        'calendar_years',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('confirmed_by_id', sa.Integer(), nullable=False),
        sa.Column('confirmed_at', models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("source IN ('library', 'admin')", name=op.f('ck_calendar_years_source_known')),
        sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'],
                                name=op.f('fk_calendar_years_confirmed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_years')),
        sa.UniqueConstraint('year', name=op.f('uq_calendar_years_year')),
    )


def downgrade() -> None:
    op.drop_table('calendar_years')
    op.drop_table('calendar_days')
