"""抄送: tasks copied to people who read them (task_copies), and the notification kind "copied"

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_KINDS = "'assigned', 'due_soon', 'overdue', 'escalated', 'acknowledged', 'answered'"


def upgrade() -> None:
    op.create_table(
        'task_copies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('copied_by_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('read_at', models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_task_copies_case_id_cases')),
        sa.ForeignKeyConstraint(['copied_by_id'], ['users.id'], name=op.f('fk_task_copies_copied_by_id_users')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_copies_task_id_tasks')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_task_copies_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_task_copies')),
        sa.UniqueConstraint('task_id', 'user_id', name='uq_task_copies_task_user'),
    )
    op.create_index('ix_task_copies_user_read', 'task_copies', ['user_id', 'read_at', 'id'])
    op.create_index(op.f('ix_task_copies_case_id'), 'task_copies', ['case_id'])
    with op.batch_alter_table('notifications') as batch:
        batch.drop_constraint(op.f('ck_notifications_kind_known'), type_='check')
        batch.create_check_constraint(op.f('ck_notifications_kind_known'), f"kind IN ({_KINDS}, 'copied')")


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'copied'")
    with op.batch_alter_table('notifications') as batch:
        batch.drop_constraint(op.f('ck_notifications_kind_known'), type_='check')
        batch.create_check_constraint(op.f('ck_notifications_kind_known'), f"kind IN ({_KINDS})")
    op.drop_index(op.f('ix_task_copies_case_id'), table_name='task_copies')
    op.drop_index('ix_task_copies_user_read', table_name='task_copies')
    op.drop_table('task_copies')
