"""延期申请: a task's officer asks for a later due date with a reason; the level above approves or
refuses it with a note; the requesting agency marks the decision read

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

import models

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'extension_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_agency_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('current_due_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('requested_due_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('extra_workdays', sa.Integer(), nullable=False),
        sa.Column('decider_region_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.Column('withdrawn_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('decision_read_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('decision_read_by_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.CheckConstraint("status IN ('pending', 'approved', 'refused', 'withdrawn')",
                           name=op.f('ck_extension_requests_status_known')),
        sa.CheckConstraint("requested_due_at > current_due_at", name=op.f('ck_extension_requests_later_date')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_extension_requests_case_id_cases')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_extension_requests_task_id_tasks')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                                name=op.f('fk_extension_requests_requested_by_id_users')),
        sa.ForeignKeyConstraint(['requested_by_agency_id'], ['agencies.id'],
                                name=op.f('fk_extension_requests_requested_by_agency_id_agencies')),
        sa.ForeignKeyConstraint(['decider_region_id'], ['regions.id'],
                                name=op.f('fk_extension_requests_decider_region_id_regions')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                                name=op.f('fk_extension_requests_decided_by_id_users')),
        sa.ForeignKeyConstraint(['decision_read_by_id'], ['users.id'],
                                name=op.f('fk_extension_requests_decision_read_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_extension_requests')),
    )
    op.create_index('ux_extension_requests_one_pending', 'extension_requests', ['task_id'], unique=True,
                    sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_extension_requests_task', 'extension_requests', ['task_id', 'id'], unique=False)
    op.create_index('ix_extension_requests_decider_status', 'extension_requests',
                    ['decider_region_id', 'status', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_extension_requests_decider_status', table_name='extension_requests')
    op.drop_index('ix_extension_requests_task', table_name='extension_requests')
    op.drop_index('ux_extension_requests_one_pending', table_name='extension_requests')
    op.drop_table('extension_requests')
