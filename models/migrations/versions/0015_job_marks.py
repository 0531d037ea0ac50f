"""the worker remembers how far its task notifications got, so after a long outage it catches up

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_marks',
                    sa.Column('name', sa.String(length=64), nullable=False),
                    sa.Column('done_through', models.base.UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('name'))


def downgrade() -> None:
    op.drop_table('job_marks')
