"""the background worker: each automatic escalation (a policy's rung on an overdue task) exists once,
however many workers run the same pass at the same moment

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ux_escalations_automatic_task_level', 'escalations', ['task_id', 'level'], unique=True,
                    sqlite_where=sa.text('automatic = 1'), postgresql_where=sa.text('automatic'))


def downgrade() -> None:
    op.drop_index('ux_escalations_automatic_task_level', table_name='escalations')
