"""倒排工期: the deadline a city or province supervisor sets on a case whose category has no policy
deadline (categories other than 1, 2 and 5, or category 1 once the court's step is behind it)

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_deadline', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('schedule_deadline')
