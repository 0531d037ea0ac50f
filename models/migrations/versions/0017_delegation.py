"""委派: a task delegated by its holder to a colleague (task_delegations, tasks.delegated_to_id)

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'task_delegations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('from_user_id', sa.Integer(), nullable=False),
        sa.Column('to_user_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('resolved_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('opinion', sa.Text(), nullable=True),
        sa.Column('recalled_at', models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_task_delegations_from_user_id_users')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_delegations_task_id_tasks')),
        sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_task_delegations_to_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_task_delegations')),
    )
    op.create_index(op.f('ix_task_delegations_task_id'), 'task_delegations', ['task_id'])
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('delegated_to_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_tasks_delegated_to_id_users'), 'users', ['delegated_to_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.drop_constraint(op.f('fk_tasks_delegated_to_id_users'), type_='foreignkey')
        batch.drop_column('delegated_to_id')
    op.drop_index(op.f('ix_task_delegations_task_id'), table_name='task_delegations')
    op.drop_table('task_delegations')
