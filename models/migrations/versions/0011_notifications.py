"""notifications: one row per recipient with its read time, deliveries by e-mail or webhook with every
attempt recorded, users' e-mail addresses, and an index for the worker's "tasks opened since" window

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('escalation_id', sa.Integer(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('read_at', models.base.UTCDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('assigned', 'due_soon', 'overdue', 'escalated', 'acknowledged', 'answered')",
                           name=op.f('ck_notifications_kind_known')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases')),
        sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'],
                                name=op.f('fk_notifications_escalation_id_escalations')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_notifications_task_id_tasks')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('user_id', 'key', name='uq_notifications_user_key'),
    )
    op.create_index('ix_notifications_user_read', 'notifications', ['user_id', 'read_at', 'id'], unique=False)
    op.create_table(
        'notification_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notification_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('address', sa.String(length=500), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('sent_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f('ck_notification_deliveries_channel_known')),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')",
                           name=op.f('ck_notification_deliveries_status_known')),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                                name=op.f('fk_notification_deliveries_notification_id_notifications')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
    )
    op.create_index('ix_notification_deliveries_due', 'notification_deliveries',
                    ['status', 'next_attempt_at', 'id'], unique=False)
    op.create_index('ix_notification_deliveries_notification', 'notification_deliveries', ['notification_id'],
                    unique=False)
    op.create_table(
        'delivery_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('at', models.base.UTCDateTime(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['delivery_id'], ['notification_deliveries.id'],
                                name=op.f('fk_delivery_attempts_delivery_id_notification_deliveries')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempts')),
    )
    op.create_index('ix_delivery_attempts_delivery', 'delivery_attempts', ['delivery_id', 'id'], unique=False)
    op.create_index('ix_tasks_status_created', 'tasks', ['status', 'created_at', 'id'], unique=False)
    op.add_column('users', sa.Column('email', sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('email')
    op.drop_index('ix_tasks_status_created', table_name='tasks')
    op.drop_index('ix_delivery_attempts_delivery', table_name='delivery_attempts')
    op.drop_table('delivery_attempts')
    op.drop_index('ix_notification_deliveries_notification', table_name='notification_deliveries')
    op.drop_index('ix_notification_deliveries_due', table_name='notification_deliveries')
    op.drop_table('notification_deliveries')
    op.drop_index('ix_notifications_user_read', table_name='notifications')
    op.drop_table('notifications')
